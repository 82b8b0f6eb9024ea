#!/bin/bash
# test_cli_signals.sh - emerging signals and advisories from the command line (docs/signals.md,
# docs/advisory.md, docs/cli.md): npswatch signals and npswatch advise on a ledger.
#
# Data: the bundled SWGDRUG 3.4 DEA file (spectra_db/data/swgdrug_3.4_dea.msp) and the withheld
# examples/emerging.msp. The library is built WITHOUT the three fluorofentanyls; three
# laboratories in two countries each submit a small batch holding one fluorofentanyl and two
# substances the library holds. These submissions are CONSTRUCTED for the test: the records are
# real DEA spectra, the laboratories and batches are made up. Expected: one signal (3 labs,
# countries DE and FR, class fentanyl), none with --min-labs 4; an advisory whose advisory.json
# validates against docs/advisory.schema.json (a small validator below, python3 only) and whose
# PNGs decode; no laboratory name in any output; bad input exits 1 with a message.
#
# Usage: bash test_cli_signals.sh NPSWATCH_BINARY SCRATCH_DIR
set -u
BIN=${1:?usage: test_cli_signals.sh NPSWATCH_BINARY SCRATCH_DIR}
S=${2:?usage: test_cli_signals.sh NPSWATCH_BINARY SCRATCH_DIR}
case "$BIN" in /*) ;; */*) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "FAIL: $BIN is not an executable"; exit 1; }
SRC=${NPSW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
LIBMSP=$SRC/spectra_db/data/swgdrug_3.4_dea.msp
QMSP=$SRC/spectra_db/data/examples/example_queries.msp
SCHEMA=$SRC/docs/advisory.schema.json
[ -f "$LIBMSP" ] && [ -f "$SCHEMA" ] || { echo "FAIL: bundled data or schema missing"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is needed"; exit 1; }
rm -rf "$S" && mkdir -p "$S" || { echo "FAIL: cannot create scratch dir $S"; exit 1; }
cd "$S" || exit 1
unset SOURCE_DATE_EPOCH

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
show() { echo "---- $1:" >&2; sed 's/^/    /' "$1" | head -30 >&2; }
expect_exit() {
    local want=$1 label=$2
    shift 2
    "$@" >"$label.out" 2>"$label.err"
    local rc=$?
    [ "$rc" = "$want" ] || { fail "$label: exit $rc, expected $want"; show "$label.err"; }
}
expect_msg() { grep -qF -- "$2" "$1.err" || { fail "$1: no message containing '$2'"; show "$1.err"; }; }
sql() { python3 -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$1" "$2"; }
# data rows of a TSV output (not '#' lines, not the header)
rows() { grep -v '^#' "$1" | tail -n +2; }
col() { # col FILE NAME: that column of the first data row
    python3 - "$1" "$2" <<'EOF'
import sys
lines = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if not l.startswith("#")]
print(lines[1][lines[0].index(sys.argv[2])] if len(lines) > 1 else "")
EOF
}

# ---- the library without the fluorofentanyls, and the batches --------------------------------
python3 - "$LIBMSP" "$QMSP" "$SRC/spectra_db/data/examples/emerging.msp" <<'EOF' || { echo "FAIL: cannot split the bundled file"; exit 1; }
import sys
recs = [r.strip("\n") for f in (sys.argv[1], sys.argv[3])
        for r in open(f).read().split("\n\n") if r.strip()]
name = lambda r: r.split("\n", 1)[0][len("Name: "):]
ff = {name(r): r for r in recs if "luorofentanyl" in name(r)}
assert sorted(ff) == ["meta-Fluorofentanyl", "o-Fluorofentanyl", "p-Fluorofentanyl"], sorted(ff)
open("lib.msp", "w").write("\n\n".join(r for r in recs if name(r) not in ff) + "\n")
by = {name(r): r for r in recs}
atrazine = [r.strip("\n") for r in open(sys.argv[2]).read().split("\n\n") if "Atrazine" in r.split("\n", 1)[0]]
batches = {"alpha_batch.msp": ["Cathinone", "p-Fluorofentanyl", "Methylone"],
           "beta_batch.msp": ["Mephedrone", "meta-Fluorofentanyl", "JWH-018"],
           "gamma_batch.msp": ["Cocaine", "o-Fluorofentanyl", "Methamphetamine"]}
for f, names in batches.items():
    recs_out = [by[n] for n in names]
    if f == "alpha_batch.msp": recs_out += atrazine  # an unknown seen by one laboratory only
    open(f, "w").write("\n\n".join(recs_out) + "\n")
EOF
"$BIN" build -o lib.h5 --name "DEA without fluorofentanyls" --lib-version t1 lib.msp >build.out 2>build.err ||
    { fail "cannot build the library"; show build.err; exit 1; }

# ---- missing ledger, before anything exists ----------------------------------------------------
expect_exit 1 sig_noledger "$BIN" signals --ledger nosuch.db
expect_msg sig_noledger "no such ledger"
expect_exit 1 adv_noledger "$BIN" advise --ledger nosuch.db --signal 1 -o adv_x
expect_msg adv_noledger "no such ledger"
[ -e nosuch.db ] && fail "signals/advise created a ledger"
[ -e adv_x ] && fail "advise wrote a directory for a missing ledger"

# ---- ledger, three laboratories in two countries, one batch each ------------------------------
"$BIN" ledger init led.db 2>/dev/null || { fail "ledger init"; exit 1; }
LABS=("Alpha Forensic Institute" "Beta Toxicology Service" "Gamma Police Laboratory")
CCS=(DE FR DE)
FILES=(alpha_batch.msp beta_batch.msp gamma_batch.msp)
for i in 0 1 2; do
    "$BIN" lab add led.db --name "${LABS[$i]}" --country "${CCS[$i]}" >lab$i.out 2>lab$i.err ||
        { fail "lab add ${LABS[$i]}"; show lab$i.err; }
    tok[$i]=$(sed -n 's/^token: //p' lab$i.out)
    "$BIN" submit --ledger led.db --lab "${LABS[$i]}" --token "${tok[$i]}" -l lib.h5 "${FILES[$i]}" \
        >sub$i.out 2>sub$i.err || { fail "submit ${FILES[$i]}"; show sub$i.err; }
done
# the fluorofentanyls are analogues of a library fentanyl (not in_library): the candidates
[ "$(sql led.db "SELECT count(*) FROM results r JOIN spectra s ON r.spectrum_id = s.id WHERE s.name LIKE '%luorofentanyl' AND r.verdict IN ('analogue', 'unknown')")" = 3 ] ||
    fail "the fluorofentanyls are not all analogue/unknown"

# ---- signals ----------------------------------------------------------------------------------
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
export SOURCE_DATE_EPOCH=1767225600
expect_exit 0 sig "$BIN" signals --ledger led.db --now "$NOW"
expect_msg sig "1 signal reported"
[ "$(rows sig.out | wc -l)" = 1 ] || { fail "signals: expected one signal"; show sig.out; }
[ "$(col sig.out n_labs)" = 3 ] || fail "signals: n_labs $(col sig.out n_labs), expected 3"
[ "$(col sig.out n_countries)" = 2 ] || fail "signals: n_countries $(col sig.out n_countries)"
[ "$(col sig.out countries)" = "DE,FR" ] || fail "signals: countries $(col sig.out countries)"
[ "$(col sig.out n_submissions)" = 3 ] || fail "signals: n_submissions $(col sig.out n_submissions)"
[ "$(col sig.out predicted_class)" = fentanyl ] || fail "signals: class $(col sig.out predicted_class)"
[ "$(col sig.out precursor)" = no ] || fail "signals: precursor $(col sig.out precursor)"
[ "$(col sig.out trend)" = new ] || fail "signals: trend $(col sig.out trend)"
[ "$(col sig.out status)" = open ] || fail "signals: status $(col sig.out status)"
case "$(col sig.out nearest_analogues)" in "Fentanyl (3, +18.0)"*) ;; *) fail "signals: nearest $(col sig.out nearest_analogues)" ;; esac
case "$(col sig.out substituents)" in *"+F-for-H"*) ;; *) fail "signals: substituents $(col sig.out substituents)" ;; esac
SID=$(col sig.out signal_id)
[ "$SID" = "$(sql led.db 'SELECT id FROM signals')" ] || fail "signal id $SID is not the stored one"
grep -q "^# note	library search results, not identifications$" sig.out || fail "signals: no note"
# the stored signal: members, consensus blob, audit entry
[ "$(sql led.db 'SELECT count(*) FROM signal_members')" = 3 ] || fail "expected 3 signal members"
[ "$(sql led.db "SELECT count(*) FROM audit_log WHERE action = 'signals.update'")" = 1 ] || fail "no signals.update audit entry"
# JSON Lines; the same run again is byte-identical (same --now, same SOURCE_DATE_EPOCH) and keeps the id
expect_exit 0 sigj "$BIN" signals --ledger led.db --now "$NOW" --format json
expect_exit 0 sigj2 "$BIN" signals --ledger led.db --now "$NOW" --format json -o sigj2.jsonl
cmp -s sigj.out sigj2.jsonl || fail "signals --format json differs between two runs"
python3 - sigj.out "$SID" <<'EOF' || fail "signals JSON"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert [r["record"] for r in recs] == ["run", "signal"], recs
run, s = recs
assert run["note"] == "library search results, not identifications" and run["min_labs"] == 2
assert s["signal_id"] == int(sys.argv[2]) and s["n_labs"] == 3 and s["countries"] == ["DE", "FR"]
assert s["predicted_class"] == "fentanyl" and s["precursor"] is False and s["n_spectra"] == 3
assert s["nearest_analogues"][0]["name"] == "Fentanyl" and s["substituents"][0]["label"] == "+F-for-H"
peaks = s["consensus_peaks"]
assert peaks and max(p[1] for p in peaks) == 999 and peaks == sorted(peaks)
assert all(1 <= p[1] <= 999 and p[1] == int(p[1]) for p in peaks)
# no per-laboratory or per-submission field anywhere
def keys(o):
    if isinstance(o, dict):
        for k, v in o.items():
            yield k
            yield from keys(v)
    elif isinstance(o, list):
        for v in o: yield from keys(v)
bad = {"lab", "lab_id", "labs", "lab_name", "submission", "submission_id", "spectrum_id", "file_name", "members"}
assert not bad & set(keys(recs)), bad & set(keys(recs))
EOF
# the privacy threshold
expect_exit 0 sig4 "$BIN" signals --ledger led.db --now "$NOW" --min-labs 4
[ "$(rows sig4.out | wc -l)" = 0 ] || { fail "signals --min-labs 4 reported a signal"; show sig4.out; }
expect_msg sig4 "0 signals reported"
expect_exit 0 sig3 "$BIN" signals --ledger led.db --now "$NOW" --min-labs 3
[ "$(rows sig3.out | wc -l)" = 1 ] || fail "signals --min-labs 3: expected the signal"
expect_exit 1 sig1 "$BIN" signals --ledger led.db --min-labs 1
expect_msg sig1 "--min-labs"
# --since filters what is reported, not the clustering
expect_exit 0 since_future "$BIN" signals --ledger led.db --now "$NOW" --since 2999-01-01
[ "$(rows since_future.out | wc -l)" = 0 ] || fail "signals --since 2999-01-01 reported a signal"
expect_exit 0 since_past "$BIN" signals --ledger led.db --now "$NOW" --since 2000-01-01T00:00:00Z
[ "$(rows since_past.out | wc -l)" = 1 ] || fail "signals --since 2000-01-01: expected the signal"
[ "$(sql led.db 'SELECT count(*) FROM signals')" = 1 ] || fail "repeated runs made new signals"
# usage errors
expect_exit 1 sig_fmt "$BIN" signals --ledger led.db --format xml
expect_msg sig_fmt "--format"
expect_exit 1 sig_since "$BIN" signals --ledger led.db --since yesterday
expect_msg sig_since "--since"
expect_exit 1 sig_noarg "$BIN" signals
expect_msg sig_noarg "--ledger DB is required"
expect_exit 1 sig_notledger "$BIN" signals --ledger lib.msp
expect_msg sig_notledger "not an npswatch ledger"

# ---- advise ----------------------------------------------------------------------------------
expect_exit 0 adv "$BIN" advise --ledger led.db --signal "$SID" --now "$NOW" -o adv1
YEAR=$(date -u -d @1767225600 +%Y)
KEY=$(printf 'NPSW-ADV-%s-%04d' "$YEAR" "$SID")
grep -qx "advisory_key: $KEY" adv.out || { fail "advise: key"; show adv.out; }
grep -qx "version: 1" adv.out || fail "advise: version"
for f in advisory.json advisory.md mirror.png timeline.png; do
    [ -s "adv1/$f" ] || fail "advise: adv1/$f missing"
done
ls -d adv1.tmp-* >/dev/null 2>&1 && fail "advise left a temporary directory"
[ "$(sql led.db 'SELECT status FROM signals')" = advised ] || fail "the signal is not 'advised'"
[ "$(sql led.db "SELECT advisory_key || ' ' || version || ' ' || state || ' ' || dir_path FROM advisories")" = "$KEY 1 draft adv1" ] ||
    fail "advisories row: $(sql led.db "SELECT advisory_key || ' ' || version || ' ' || state FROM advisories")"
[ "$(sql led.db "SELECT count(*) FROM audit_log WHERE action = 'advisory.create' AND object = 'advisory:1'")" = 1 ] ||
    fail "no advisory.create audit entry"
python3 - led.db adv1/advisory.json <<'EOF' || fail "the stored advisory_json is not advisory.json"
import sqlite3, sys
assert sqlite3.connect(sys.argv[1]).execute("SELECT advisory_json FROM advisories").fetchone()[0] == open(sys.argv[2]).read()
EOF
expect_exit 0 verify "$BIN" audit verify led.db

# advisory.json against docs/advisory.schema.json: a small validator for the keywords the
# schema uses (an unknown keyword is an error, so nothing is silently skipped)
cat >validate.py <<'EOF'
import json, re, sys

ANNOT = {"$schema", "$id", "title", "description", "$defs"}
def check(inst, sch, root, path, errs):
    for k in sch:
        if k not in ANNOT | {"$ref", "type", "const", "enum", "properties", "required",
                             "additionalProperties", "items", "minItems", "maxItems", "uniqueItems",
                             "pattern", "minLength", "minimum", "maximum", "exclusiveMinimum"}:
            errs.append("%s: unsupported schema keyword %s" % (path, k))
    if "$ref" in sch:
        node = root
        for part in sch["$ref"].lstrip("#/").split("/"): node = node[part]
        check(inst, node, root, path, errs)
    if "type" in sch:
        types = sch["type"] if isinstance(sch["type"], list) else [sch["type"]]
        def is_type(t):
            return {"null": inst is None, "boolean": isinstance(inst, bool),
                    "object": isinstance(inst, dict), "array": isinstance(inst, list),
                    "string": isinstance(inst, str),
                    "integer": isinstance(inst, int) and not isinstance(inst, bool)
                               or isinstance(inst, float) and inst.is_integer(),
                    "number": isinstance(inst, (int, float)) and not isinstance(inst, bool)}[t]
        if not any(is_type(t) for t in types):
            errs.append("%s: %r is not %s" % (path, inst, types)); return
    if "const" in sch and inst != sch["const"]: errs.append("%s: %r != const %r" % (path, inst, sch["const"]))
    if "enum" in sch and inst not in sch["enum"]: errs.append("%s: %r not in %r" % (path, inst, sch["enum"]))
    if isinstance(inst, dict):
        props = sch.get("properties", {})
        for k in sch.get("required", []):
            if k not in inst: errs.append("%s: required %s missing" % (path, k))
        for k, v in inst.items():
            if k in props: check(v, props[k], root, path + "." + k, errs)
            elif sch.get("additionalProperties", True) is False: errs.append("%s: unexpected %s" % (path, k))
    if isinstance(inst, list):
        if "items" in sch:
            for i, v in enumerate(inst): check(v, sch["items"], root, "%s[%d]" % (path, i), errs)
        if len(inst) < sch.get("minItems", 0): errs.append("%s: fewer than %d items" % (path, sch["minItems"]))
        if "maxItems" in sch and len(inst) > sch["maxItems"]: errs.append("%s: more than %d items" % (path, sch["maxItems"]))
        if sch.get("uniqueItems") and len(set(map(json.dumps, inst))) != len(inst): errs.append("%s: items not unique" % path)
    if isinstance(inst, str):
        if "pattern" in sch and not re.search(sch["pattern"], inst): errs.append("%s: %r !~ %s" % (path, inst, sch["pattern"]))
        if len(inst) < sch.get("minLength", 0): errs.append("%s: shorter than %d" % (path, sch["minLength"]))
    if isinstance(inst, (int, float)) and not isinstance(inst, bool):
        if "minimum" in sch and inst < sch["minimum"]: errs.append("%s: %r < %r" % (path, inst, sch["minimum"]))
        if "maximum" in sch and inst > sch["maximum"]: errs.append("%s: %r > %r" % (path, inst, sch["maximum"]))
        if "exclusiveMinimum" in sch and inst <= sch["exclusiveMinimum"]: errs.append("%s: %r <= %r" % (path, inst, sch["exclusiveMinimum"]))

def validate(inst, schema):
    errs = []
    check(inst, schema, schema, "$", errs)
    return errs

if __name__ == "__main__":
    schema = json.load(open(sys.argv[1]))
    errs = validate(json.load(open(sys.argv[2])), schema)
    for e in errs: print(e)
    sys.exit(1 if errs else 0)
EOF
python3 validate.py "$SCHEMA" adv1/advisory.json >validate.out || { fail "advisory.json does not validate"; show validate.out; }
# the validator is not vacuous: broken copies are rejected
python3 - "$SCHEMA" adv1/advisory.json <<'EOF' || fail "the validator accepts broken advisories"
import copy, json, sys
sys.path.insert(0, ".")
from validate import validate
schema, good = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
def broken(f):
    a = copy.deepcopy(good); f(a); return a
cases = [lambda a: a["signal"].pop("n_labs"), lambda a: a["signal"].update(lab_id=3),
         lambda a: a.update(schema="npswatch-advisory/2"), lambda a: a["signal"].update(n_labs=1),
         lambda a: a["signal"]["countries"].append("de"), lambda a: a["advisory"].update(state="final"),
         lambda a: a["consensus_spectrum"]["peaks"].append([50]), lambda a: a.update(disclaimer="")]
for i, c in enumerate(cases):
    assert validate(broken(c), schema), "broken case %d accepted" % i
EOF
# field checks beyond the schema
python3 - adv1/advisory.json "$KEY" "$SID" "$(sql led.db 'SELECT content_sha256 FROM library_versions')" <<'EOF' || fail "advisory.json fields"
import json, sys
a = json.load(open(sys.argv[1]))
key, sid, sha = sys.argv[2], int(sys.argv[3]), sys.argv[4]
assert a["advisory"]["key"] == key and a["advisory"]["version"] == 1 and a["advisory"]["state"] == "draft"
assert a["advisory"]["supersedes"] is None and a["advisory"]["issued_utc"] == "2026-01-01T00:00:00Z"
s = a["signal"]
assert s["id"] == sid and s["n_labs"] == 3 and s["countries"] == ["DE", "FR"] and s["n_countries"] == 2
assert s["n_submissions"] == 3 and s["n_spectra"] == 3 and s["trend"]["label"] == "new" and s["min_labs"] == 2
sub = a["substance"]
assert sub["predicted_class"] == "fentanyl" and sub["precursor"] is False and sub["class_statement"] == "fentanyl"
assert sub["nearest_known"][0]["name"] == "Fentanyl" and abs(sub["nearest_known"][0]["median_delta_mass"] - 18) < 0.5
assert sub["substituent_hypotheses"][0]["label"] == "+F-for-H"
cs = a["consensus_spectrum"]
assert cs["n_peaks"] == len(cs["peaks"]) and cs["n_members"] == 3
top = cs["top_peaks"]
assert top[0][1] == 999 and [p[1] for p in top] == sorted((p[1] for p in top), reverse=True)
assert all(p in cs["peaks"] for p in top)
lib = a["library"]
assert lib["sha256"] == sha and lib["name"] == "DEA without fluorofentanyls" and lib["version"] == "t1"
ref = a["library_comparison"]["reference"]
assert ref["name"] == "Fentanyl" and ref["basis"].startswith("the most frequent analogue") and ref["delta_mass"] is not None
assert a["library_comparison"]["identity_hits"][0]["rank"] == 1
assert a["figures"] == {"mirror": "mirror.png", "timeline": "timeline.png"}
assert a["disclaimer"] == "library search results, not identifications"
EOF
# advisory.md for people
for want in "# $KEY (version 1, draft)" "Library search results, not identifications" "DE,FR" \
            "**Predicted class:** fentanyl" "Fentanyl (3 spectra" "+F-for-H" "![Mirror plot](mirror.png)" \
            "![Detections over time](timeline.png)" "$(sql led.db 'SELECT content_sha256 FROM library_versions')"; do
    grep -qF -- "$want" adv1/advisory.md || fail "advisory.md lacks '$want'"
done
# the figures: valid PNGs (signature, chunk CRCs, IHDR, IDAT inflating to the image size), with
# data drawn (query/library colours in the mirror plot, bars in the timeline)
check_png() { # FILE WIDTH HEIGHT COLOUR...
    python3 - "$@" <<'EOF'
import struct, sys, zlib
path, w0, h0 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
colours = [tuple(int(x) for x in c.split(",")) for c in sys.argv[4:]]
d = open(path, "rb").read()
assert d[:8] == b"\x89PNG\r\n\x1a\n", "signature"
i, chunks = 8, []
while i < len(d):
    n, = struct.unpack(">I", d[i:i + 4]); t, body = d[i + 4:i + 8], d[i + 8:i + 8 + n]
    assert zlib.crc32(t + body) & 0xffffffff == struct.unpack(">I", d[i + 8 + n:i + 12 + n])[0], "CRC %r" % t
    chunks.append((t, body)); i += 12 + n
assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
w, h, depth, ctype, _, _, inter = struct.unpack(">IIBBBBB", chunks[0][1])
assert (w, h, depth, ctype, inter) == (w0, h0, 8, 2, 0), (w, h, depth, ctype, inter)
raw = zlib.decompress(b"".join(b for t, b in chunks if t == b"IDAT"))
stride = 3 * w
assert len(raw) == h * (stride + 1)
seen, prev, p = set(), bytearray(stride), 0
for y in range(h):
    f = raw[p]; line = bytearray(raw[p + 1:p + 1 + stride]); p += stride + 1
    if f == 1:
        for x in range(3, stride): line[x] = (line[x] + line[x - 3]) & 255
    elif f == 2: line = bytearray((a + b) & 255 for a, b in zip(line, prev))
    elif f == 3:
        for x in range(stride): line[x] = (line[x] + ((line[x - 3] if x >= 3 else 0) + prev[x]) // 2) & 255
    elif f == 4:
        for x in range(stride):
            a = line[x - 3] if x >= 3 else 0; b = prev[x]; c = prev[x - 3] if x >= 3 else 0
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    for x in range(0, stride, 3): seen.add(bytes(line[x:x + 3]))
    prev = line
for c in colours: assert bytes(c) in seen, "colour %r not drawn" % (c,)
assert len(seen) > 10, "a blank image"
EOF
}
# full colours for the peaks the scores matched, pale tints (35 % on white) for the others: an
# analogue's shifted fragments are unmatched, so both tints are there
check_png adv1/mirror.png 2100 1350 31,119,180 214,39,40 177,208,229 241,180,180 ||
    fail "mirror.png is not a valid mirror plot with matched (full) and unmatched (pale) peaks"
check_png adv1/timeline.png 2100 1050 31,119,180 || fail "timeline.png is not a valid timeline"

# ---- privacy: no laboratory name, token or file name in any output ----------------------------
for f in sig.out sig.err sigj.out sig3.out since_past.out adv.out adv.err adv1/*; do
    for i in 0 1 2; do
        grep -aqF -- "${LABS[$i]}" "$f" && fail "$f names laboratory '${LABS[$i]}'"
        grep -aqF -- "${tok[$i]#npsw_}" "$f" && fail "$f holds a laboratory token"
        grep -aqF -- "${FILES[$i]}" "$f" && fail "$f names a submitted file"
    done
    grep -aqiE 'lab_id|"lab"|submission_id|spectrum_id' "$f" && fail "$f holds a per-laboratory field"
done
# the stored signal rows hold counts and countries only, too
[ "$(sql led.db "SELECT count(*) FROM signals WHERE details_json LIKE '%Alpha%' OR details_json LIKE '%Beta%' OR details_json LIKE '%Gamma%' OR details_json LIKE '%lab_id%'")" = 0 ] ||
    fail "signals.details_json names a laboratory"

# ---- advise: bad input -------------------------------------------------------------------------
expect_exit 1 adv_exists "$BIN" advise --ledger led.db --signal "$SID" -o adv1
expect_msg adv_exists "already exists"
python3 -c 'import sqlite3, sys; sys.exit(sqlite3.connect("led.db").execute("SELECT advisory_json FROM advisories WHERE version = 1").fetchone()[0] != open("adv1/advisory.json").read())' ||
    fail "adv1 changed after a refused advise"
expect_exit 1 adv_unknown "$BIN" advise --ledger led.db --signal 999 -o adv_unknown_dir
expect_msg adv_unknown "no signal 999"
[ -e adv_unknown_dir ] && fail "advise wrote a directory for an unknown signal"
expect_exit 1 adv_minlabs "$BIN" advise --ledger led.db --signal "$SID" --min-labs 4 -o adv_min
expect_msg adv_minlabs "fewer than 4 laboratories"
[ -e adv_min ] && fail "advise wrote an advisory below the privacy threshold"
expect_exit 1 adv_nolib "$BIN" advise --ledger led.db --signal "$SID" -l nosuch.h5 -o adv_nolib
[ -e adv_nolib ] && fail "advise wrote a directory without a library"
expect_exit 1 adv_usage "$BIN" advise --ledger led.db -o adv_usage
expect_msg adv_usage "required"
expect_exit 1 adv_badid "$BIN" advise --ledger led.db --signal x -o adv_badid
mkdir notes && echo keep >notes/keep.txt
expect_exit 1 adv_force_other "$BIN" advise --ledger led.db --signal "$SID" -o notes --force
expect_msg adv_force_other "not an advisory directory"
[ "$(cat notes/keep.txt)" = keep ] || fail "advise --force touched a directory that is not an advisory"
[ "$(sql led.db 'SELECT count(*) FROM advisories')" = 1 ] || fail "failed advise runs stored advisories"
# --force replaces an earlier advisory directory with a new version (the old one stays in the ledger)
expect_exit 0 adv_force "$BIN" advise --ledger led.db --signal "$SID" --now "$NOW" -o adv1 --force
grep -qx "version: 2" adv_force.out || fail "advise --force: expected version 2"
python3 - adv1/advisory.json "$KEY" <<'EOF' || fail "version 2 does not supersede version 1"
import json, sys
a = json.load(open(sys.argv[1]))["advisory"]
assert a["version"] == 2 and a["supersedes"] == sys.argv[2] + " v1", a
EOF
[ "$(sql led.db 'SELECT count(*) FROM advisories')" = 2 ] || fail "expected two advisory versions"
# -l with the library file given explicitly
expect_exit 0 adv_lib "$BIN" advise --ledger led.db --signal "$SID" --now "$NOW" -l lib.h5 -o adv3
python3 validate.py "$SCHEMA" adv3/advisory.json >/dev/null || fail "adv3/advisory.json does not validate"
# the recorded library file moved away: advise asks for -l
mv lib.h5 lib_moved.h5
expect_exit 1 adv_moved "$BIN" advise --ledger led.db --signal "$SID" -o adv_moved
expect_msg adv_moved "-l LIB.h5"
mv lib_moved.h5 lib.h5
expect_exit 0 verify2 "$BIN" audit verify led.db

if [ "$fails" -gt 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "ok"
