#!/bin/bash
# test_cli_diff.sh - npswatch diff (docs/cli.md "npswatch diff"): counts, named entries and values
# in text, TSV and JSON; a library against itself; --exit-code; lineage relations made by the real
# append paths (build --from, curate accept); different cleaning; key pairing by accession,
# InChIKey + name and name with repeated keys in order; values longer than 4095 bytes; moved
# entries; bad inputs; atomic -o.
#
# Data: records 1-6 of the bundled library (spectra_db/data/swgdrug_3.4_dea.msp). old.msp holds
# records 1-5; new.msp is derived from them below with SYNTHETIC edits: record 2 removed, record 3's
# formula and comments changed, record 4's peaks changed (five lowest peaks dropped, m/z 200's
# intensity halved), record 6 added. Expected values are worked out from those edits; the cosine of the
# changed peaks is recomputed here in python3 from the MSP text, and the MF is compared with what
# `npswatch search` (the search kernel) gives for the same pair. The advisory's consensus
# spectrum is SYNTHETIC (hand-made peaks).
#
# Usage: bash test_cli_diff.sh NPSWATCH_BINARY SCRATCH_DIR
set -u
BIN=${1:?usage: test_cli_diff.sh NPSWATCH_BINARY SCRATCH_DIR}
S=${2:?usage: test_cli_diff.sh NPSWATCH_BINARY SCRATCH_DIR}
case "$BIN" in /*) ;; */*) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "FAIL: $BIN is not an executable"; exit 1; }
SRC=${NPSW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
LIBMSP=$SRC/spectra_db/data/swgdrug_3.4_dea.msp
[ -f "$LIBMSP" ] || { echo "FAIL: bundled data missing ($LIBMSP)"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is needed"; exit 1; }
rm -rf "$S" && mkdir -p "$S" || { echo "FAIL: cannot create scratch dir $S"; exit 1; }
cd "$S" || exit 1
export SOURCE_DATE_EPOCH=1767225600

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
show() { echo "---- $1:" >&2; sed 's/^/    /' "$1" | head -60 >&2; }
expect_exit() {
    local want=$1 label=$2
    shift 2
    "$@" >"$label.out" 2>"$label.err"
    local rc=$?
    [ "$rc" = "$want" ] || { fail "$label: exit $rc, expected $want"; show "$label.err"; show "$label.out"; }
}
expect_msg() { grep -qF -- "$2" "$1.err" || { fail "$1: no message containing '$2'"; show "$1.err"; }; }
expect_out() { grep -qxF -- "$2" "$1.out" || { fail "$1: output lacks the line '$2'"; show "$1.out"; }; }
expect_has() { grep -qF -- "$2" "$1.out" || { fail "$1: output lacks '$2'"; show "$1.out"; }; }
build() { "$BIN" build "$@" >build.out 2>build.err || { fail "build $*"; show build.err; exit 1; }; }

# ---- the two versions --------------------------------------------------------------------
awk 'BEGIN {RS = ""; ORS = "\n\n"} NR <= 6 {print > ("rec" NR ".msp")}' "$LIBMSP"
cat rec1.msp rec2.msp rec3.msp rec4.msp rec5.msp >old.msp
LONG=$(printf 'SYNTHETIC long comment %.0s0123456789' $(seq 1 10))
python3 - rec3.msp rec4.msp "$LONG" <<'EOF' || { fail "cannot derive the changed records"; exit 1; }
import sys
r3 = open(sys.argv[1]).read()
assert "Formula: C11H14N2O\n" in r3 and "Comments: DEA SWL / Sigma lot M7384\n" in r3
r3 = r3.replace("Formula: C11H14N2O\n", "Formula: C11H15N2O\n")
r3 = r3.replace("Comments: DEA SWL / Sigma lot M7384\n", "Comments: " + sys.argv[3] + "\n")
open("rec3_new.msp", "w").write(r3)
lines = open(sys.argv[2]).read().rstrip("\n").split("\n")
k = next(i for i, l in enumerate(lines) if l.startswith("Num Peaks:")) + 1
head, peaks = lines[:k], [l.split() for l in lines[k:]]
assert len(peaks) == 92 and ["199", "999"] in peaks and ["200", "819"] in peaks
peaks = peaks[5:]                               # the five lowest m/z peaks dropped
j = peaks.index(["200", "819"])                 # the base peak (199) is kept
peaks[j][1] = "409"                             # m/z 200 halved
head[-1] = "Num Peaks: %d" % len(peaks)
open("rec4_new.msp", "w").write("\n".join(head + [" ".join(p) for p in peaks]) + "\n\n")
EOF
cat rec1.msp rec3_new.msp rec4_new.msp rec5.msp rec6.msp >new.msp
build -o old.h5 --name "DEA five" --lib-version 1 old.msp
build -o new.h5 --name "DEA five" --lib-version 2 new.msp
OLD_SHA=$(sed -n 's/^content sha256: //p' <("$BIN" info old.h5))
NEW_SHA=$(sed -n 's/^content sha256: //p' <("$BIN" info new.h5))
[ ${#OLD_SHA} = 64 ] && [ ${#NEW_SHA} = 64 ] && [ "$OLD_SHA" != "$NEW_SHA" ] || fail "sha256s '$OLD_SHA' '$NEW_SHA'"

# the changed peaks' cosine from the MSP text: cleaning keeps these records as they are (integer
# m/z, base peak 999, integer intensities), weights sqrt(I * m/z) (docs/algorithms.md)
COS=$(python3 - rec4.msp rec4_new.msp <<'EOF'
import math, sys
def peaks(p):
    ls = open(p).read().strip().split("\n")
    k = next(i for i, l in enumerate(ls) if l.startswith("Num Peaks:")) + 1
    return {int(a): int(b) for a, b in (l.split() for l in ls[k:])}
a, b = peaks(sys.argv[1]), peaks(sys.argv[2])
w = lambda s, m: math.sqrt(s[m] * m)
dot = sum(w(a, m) * w(b, m) for m in a if m in b)
print("%.6f" % (dot / math.sqrt(sum(w(a, m) ** 2 for m in a) * sum(w(b, m) ** 2 for m in b))))
EOF
)
# the MF of old record 4 against new entry 3 as the search computes it
"$BIN" search -l new.h5 -k 5 rec4.msp >s4.tsv 2>s4.err || { fail "search rec4.msp"; show s4.err; }
MF=$(awk -F'\t' '/^#/ {next} $1 == "query_index" {for (i = 1; i <= NF; i++) c[$i] = i; next}
    $c["hit_index"] == 3 {print $c["mf"]}' s4.tsv)
[ -n "$MF" ] && [ "$MF" -ge 500 ] && [ "$MF" -lt 999 ] || { fail "search MF of the changed peaks: '$MF'"; show s4.tsv; }

# ---- text ------------------------------------------------------------------------------------
expect_exit 0 text "$BIN" diff old.h5 new.h5
expect_out text "OLD  old.h5"
expect_out text "NEW  new.h5"
expect_out text "     content sha256 $OLD_SHA"
expect_out text "     5 spectra, $(sed -n 's/^peaks: \([0-9]*\).*/\1/p' <("$BIN" info old.h5)) peaks"
expect_out text "relation: unrelated: neither lineage records the other library or a common ancestor"
expect_has text "cleaning: same (mode=nominal bin_boundary=0.649"
expect_out text "entries: OLD 5, NEW 5, paired 4"
expect_out text "unchanged: 2"
expect_out text "changed: 2 (formula 1, comments 1, peaks 1)"
expect_out text "removed: 1"
expect_out text "added: 1"
expect_out text "moved: 0"
expect_out text "differences: yes"
expect_out text "Removed: only in OLD (1)"
expect_out text "  old 2  accession SWGDRUG-3.4-534  \"2,5-Dimethoxyphenylnitrostyrene\""
expect_out text "Added: only in NEW (1)"
expect_out text "  new 5  accession SWGDRUG-3.4-548  \"1-Methyl-3-Phenylpiperazine\""
expect_out text "Changed (2)"
expect_out text "  old 3 -> new 2  accession SWGDRUG-3.4-538  \"6-Methoxytryptamine\""
expect_out text "      formula: C11H14N2O -> C11H15N2O"
# comments cut at 60 characters (--width)
expect_out text "      comments: DEA SWL / Sigma lot M7384 -> ${LONG:0:60}..."
expect_out text "  old 4 -> new 3  accession SWGDRUG-3.4-543  \"Harmalol\""
PEAKLINE=$(grep '^      peaks: ' text.out)
case "$PEAKLINE" in
"      peaks: 92 -> 87 peaks, MF $MF, cosine "*) ;;
*) fail "peaks line '$PEAKLINE', expected 92 -> 87 peaks, MF $MF" ;;
esac
python3 -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(abs(a - b) > 1.5e-4)' \
    "${PEAKLINE##*cosine }" "$COS" || fail "cosine in '$PEAKLINE', recomputed $COS"
[ "$(grep -c '^  old \|^  new ' text.out)" = 4 ] || { fail "text: not exactly 4 entries listed"; show text.out; }
expect_exit 0 text_wide "$BIN" diff --width 0 old.h5 new.h5
expect_out text_wide "      comments: DEA SWL / Sigma lot M7384 -> $LONG"
expect_exit 0 summary "$BIN" diff --summary old.h5 new.h5
expect_out summary "changed: 2 (formula 1, comments 1, peaks 1)"
grep -q '^Changed\|^  old ' summary.out && fail "--summary lists entries"
# deterministic: same inputs, same bytes
"$BIN" diff old.h5 new.h5 >text2.out 2>/dev/null
cmp -s text.out text2.out || fail "two runs differ"

# ---- tsv -------------------------------------------------------------------------------------
expect_exit 0 tsv "$BIN" diff --format tsv old.h5 new.h5
expect_out tsv "# old_sha256	$OLD_SHA"
expect_out tsv "# new_sha256	$NEW_SHA"
expect_out tsv "# relation	unrelated"
expect_out tsv "# cleaning_same	yes"
expect_out tsv "# unchanged	2"
expect_out tsv "# changed	2"
expect_out tsv "# removed	1"
expect_out tsv "# added	1"
expect_out tsv "# differences	yes"
expect_out tsv "change	key_kind	key	occurrence	old_index	new_index	name	field	old_value	new_value	mf	cosine	note"
grep -v '^#' tsv.out | tail -n +2 >rows.tsv
cat >rows_want.tsv <<EOF
removed	accession	SWGDRUG-3.4-534	1	2		2,5-Dimethoxyphenylnitrostyrene						
added	accession	SWGDRUG-3.4-548	1		5	1-Methyl-3-Phenylpiperazine						
changed	accession	SWGDRUG-3.4-538	1	3	2	6-Methoxytryptamine	formula	C11H14N2O	C11H15N2O			
changed	accession	SWGDRUG-3.4-538	1	3	2	6-Methoxytryptamine	comments	DEA SWL / Sigma lot M7384	$LONG			
EOF
head -4 rows.tsv >rows4.tsv
cmp -s rows4.tsv rows_want.tsv || { fail "tsv rows differ from the expected ones"; diff rows_want.tsv rows4.tsv >&2; }
ROW5=$(sed -n 5p rows.tsv)
case "$ROW5" in
"changed	accession	SWGDRUG-3.4-543	1	4	3	Harmalol	peaks	92	87	$MF	"*) ;;
*) fail "tsv peaks row '$ROW5'" ;;
esac
[ "$(wc -l <rows.tsv)" = 5 ] || { fail "tsv: $(wc -l <rows.tsv) rows, expected 5"; show tsv.out; }
awk -F'\t' '!/^#/ && NF != 13 {exit 1}' tsv.out || fail "tsv: a row without 13 fields"

# ---- json ------------------------------------------------------------------------------------
expect_exit 0 json "$BIN" diff --format json old.h5 new.h5
python3 - json.out "$OLD_SHA" "$NEW_SHA" "$MF" "$COS" "$LONG" <<'EOF' || fail "json content"
import json, sys
d = json.load(open(sys.argv[1]))
old_sha, new_sha, mf, cos, long = sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
L = d["libraries"]
assert (L["old"]["content_sha256"], L["new"]["content_sha256"]) == (old_sha, new_sha), L
assert (L["old"]["version"], L["new"]["version"], L["old"]["spectra"], L["new"]["spectra"]) == ("1", "2", 5, 5), L
assert d["relation"]["kind"] == "unrelated" and d["cleaning_same"] is True and d["differences"] is True, d
c = d["counts"]
want = {"old_spectra": 5, "new_spectra": 5, "paired": 4, "unchanged": 2, "changed": 2, "removed": 1,
        "added": 1, "moved": 0, "changed_fields": {"formula": 1, "comments": 1, "peaks": 1}}
assert all(c[k] == v for k, v in want.items()), c
assert [(x["key"], x["old_index"], x["name"]) for x in d["removed"]] == [("SWGDRUG-3.4-534", 2, "2,5-Dimethoxyphenylnitrostyrene")], d["removed"]
assert [(x["key"], x["new_index"], x["name"]) for x in d["added"]] == [("SWGDRUG-3.4-548", 5, "1-Methyl-3-Phenylpiperazine")], d["added"]
assert "reason" not in d["added"][0]
ch = d["changed"]
assert [(x["key"], x["old_index"], x["new_index"]) for x in ch] == [("SWGDRUG-3.4-538", 3, 2), ("SWGDRUG-3.4-543", 4, 3)], ch
assert ch[0]["fields"] == [{"field": "formula", "old": "C11H14N2O", "new": "C11H15N2O"},
                           {"field": "comments", "old": "DEA SWL / Sigma lot M7384", "new": long}], ch[0]
assert ch[0]["peaks"] is None and ch[1]["fields"] == [], ch
p = ch[1]["peaks"]
assert (p["old_peaks"], p["new_peaks"], p["mf"]) == (92, 87, mf) and abs(p["cosine"] - cos) < 1e-6, p
EOF
expect_exit 0 json_sum "$BIN" diff --format json --summary old.h5 new.h5
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert "changed" not in d and d["counts"]["changed"] == 2' json_sum.out ||
    fail "json --summary"

# ---- exit codes ------------------------------------------------------------------------------
expect_exit 3 excode "$BIN" diff --exit-code old.h5 new.h5
expect_exit 0 self "$BIN" diff old.h5 old.h5
expect_out self "relation: same content (equal content SHA-256)"
expect_out self "unchanged: 5"
expect_out self "changed: 0"
expect_out self "differences: no (same content)"
expect_exit 0 self_code "$BIN" diff --exit-code --format json old.h5 old.h5
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); c = d["counts"]
assert d["differences"] is False and (c["unchanged"], c["changed"], c["added"], c["removed"]) == (5, 0, 0, 0)
assert d["removed"] == d["added"] == d["changed"] == []' self_code.out || fail "self diff json"
# the same spectra built again (another name and version): same content, no difference
build -o old_again.h5 --name "Other name" --lib-version 9 old.msp
expect_exit 0 again "$BIN" diff --exit-code old.h5 old_again.h5

# ---- moved entries: records 1 and 2 swapped -------------------------------------------------
cat rec2.msp rec1.msp rec3.msp rec4.msp rec5.msp >swapped.msp
build -o swapped.h5 swapped.msp
expect_exit 3 moved "$BIN" diff --exit-code old.h5 swapped.h5
expect_out moved "moved: 1"
expect_out moved "unchanged: 5"
expect_out moved "differences: yes"

# ---- peaks that differ in one intensity only (same peak count) ---------------------------------
sed 's/^91 675$/91 674/' rec1.msp >rec1_int.msp
cmp -s rec1.msp rec1_int.msp && fail "rec1.msp has no peak '91 675' to change"
cat rec1_int.msp rec2.msp rec3.msp rec4.msp rec5.msp >int.msp
build -o int.h5 int.msp
expect_exit 0 int "$BIN" diff old.h5 int.h5
expect_out int "changed: 1 (peaks 1)"
grep -q '^      peaks: 211 -> 211 peaks, MF 999, cosine 1.0000$' int.out || { fail "one intensity changed"; show int.out; }

# ---- lineage: build --from (npsw_lib_append) and curate accept -------------------------------
expect_exit 0 from "$BIN" build --from old.h5 --add rec6.msp -o child.h5
expect_exit 3 d_child_code "$BIN" diff --exit-code old.h5 child.h5
expect_exit 0 d_child "$BIN" diff old.h5 child.h5
expect_out d_child "relation: NEW descends from OLD (NEW's lineage): OLD is NEW's parent"
expect_out d_child "added: 1"
expect_out d_child "removed: 0"
expect_out d_child "changed: 0"
expect_out d_child "  new 6  accession SWGDRUG-3.4-548  \"1-Methyl-3-Phenylpiperazine\""
expect_has d_child "      lineage: added from rec6.msp (sha256 "
grep -q '^warning:' d_child.out && fail "a consistent lineage is reported inconsistent"
expect_exit 0 d_rev "$BIN" diff child.h5 old.h5
expect_out d_rev "relation: OLD descends from NEW (OLD's lineage, 1 version back): the arguments look swapped"
# a grandchild and a sibling
cat >extra.msp <<'EOF'
Name: SYNTHETIC diff test entry
DB#: SYNTH-DIFF-1
Num Peaks: 3
41 100
58 999
91 300

EOF
expect_exit 0 from2 "$BIN" build --from child.h5 --add extra.msp -o grandchild.h5
expect_exit 0 d_grand "$BIN" diff --format json old.h5 grandchild.h5
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); r = d["relation"]
assert r["kind"] == "new_descends_from_old" and r["generations"] == 2 and r["lineage_consistent"] is True, r
assert "1 -> 1.1 -> 1.1.1" in r["text"], r
assert [x["new_index"] for x in d["added"]] == [6, 7] and d["counts"]["added"] == 2, d["counts"]
assert "reason" not in d["added"][0] and "extra.msp" in d["added"][1]["reason"], d["added"]' d_grand.out ||
    { fail "grandchild relation"; show d_grand.out; }
expect_exit 0 from3 "$BIN" build --from old.h5 --add extra.msp -o sibling.h5
expect_exit 0 d_sib "$BIN" diff sibling.h5 grandchild.h5
expect_out d_sib "relation: neither descends from the other; both descend from version 1 (content sha256 $OLD_SHA)"
expect_exit 0 d_unrel "$BIN" diff new.h5 child.h5
expect_out d_unrel "relation: unrelated: neither lineage records the other library or a common ancestor"

if python3 -c 'import sqlite3' 2>/dev/null; then
    "$BIN" ledger init led.db >/dev/null 2>&1 || fail "ledger init"
    python3 - led.db <<'EOF' || fail "cannot insert a signal and an advisory"
import sqlite3, struct, sys
c = sqlite3.connect(sys.argv[1])
peaks = [(44.0, 999.0), (72.0, 410.0), (100.0, 250.0), (128.0, 80.0)]  # SYNTHETIC consensus
blob = struct.pack("<4d", *[m for m, _ in peaks]) + struct.pack("<4f", *[i for _, i in peaks])
c.execute("INSERT INTO signals (id, created_utc, updated_utc, status, n_labs, n_submissions, countries, first_seen_utc, last_seen_utc, score, predicted_class, consensus_peaks) VALUES (1, '2026-11-20T00:00:00Z', '2026-11-20T00:00:00Z', 'advised', 3, 7, 'DE,FR,NL', '2026-11-01T00:00:00Z', '2026-11-19T00:00:00Z', 0.9, 'other', ?)", (blob,))
c.execute("INSERT INTO advisories (id, advisory_key, version, signal_id, state, created_utc) VALUES (1, 'NPSW-2026-0001', 1, 1, 'draft', '2026-11-21T00:00:00Z')")
c.commit()
EOF
    expect_exit 0 accept "$BIN" curate --ledger led.db accept NPSW-2026-0001 --name "SYNTHETIC advised" \
        --class other -l old.h5 -o adv.h5
    expect_exit 0 d_adv "$BIN" diff old.h5 adv.h5
    expect_out d_adv "relation: NEW descends from OLD (NEW's lineage): OLD is NEW's parent; NEW made by advisory NPSW-2026-0001"
    expect_out d_adv "added: 1"
    expect_out d_adv "  new 6  accession NPSW-2026-0001  \"SYNTHETIC advised\""
    expect_out d_adv "      lineage: accepted npswatch advisory NPSW-2026-0001 (version 1): consensus of 7 submissions from 3 laboratories"
    expect_exit 0 t_adv "$BIN" diff --format tsv old.h5 adv.h5
    expect_out t_adv "# lineage_consistent	yes"
    expect_out t_adv "added	accession	NPSW-2026-0001	1		6	SYNTHETIC advised						accepted npswatch advisory NPSW-2026-0001 (version 1): consensus of 7 submissions from 3 laboratories"
else
    echo "note: python3 has no sqlite3 module: the curate accept case is not run" >&2
fi

# ---- cleaning differences ---------------------------------------------------------------------
# integer m/z bin to the same nominal m/z with either boundary: the peaks are equal, the
# cleaning (part of the content) is not
build -o old_b05.h5 --bin-boundary 0.5 old.msp
expect_exit 3 clean "$BIN" diff --exit-code old.h5 old_b05.h5
expect_out clean "cleaning: DIFFERENT: peak lists and search results of the two libraries are not comparable"
expect_out clean "  bin_boundary: 0.649 -> 0.500"
expect_out clean "unchanged: 5"
expect_out clean "differences: yes"
expect_exit 0 clean_json "$BIN" diff --format json old.h5 old_b05.h5
python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
assert d["cleaning_same"] is False and d["cleaning_differences"] == [{"parameter": "bin_boundary", "old": "0.649", "new": "0.500"}], d' clean_json.out ||
    fail "cleaning differences in json"
expect_exit 0 clean_tsv "$BIN" diff --format tsv old.h5 old_b05.h5
expect_out clean_tsv "# cleaning_same	no"
expect_out clean_tsv "# cleaning_difference	bin_boundary	0.649	0.500"

# ---- keys: InChIKey + name, name, repeated names, values over 4095 bytes ---------------------
# records without accessions: A and B both named "SYNTHETIC twin" (no InChIKey), C keeps its
# InChIKey. A's comment is 5000 characters; in NEW it differs at character 4501 only.
python3 - rec1.msp rec4.msp rec4_new.msp rec5.msp <<'EOF' || { fail "cannot write the key test files"; exit 1; }
import sys
def body(p, name, comment=None, inchikey=True):
    out = []
    for l in open(p).read().strip().split("\n"):
        if l.startswith(("DB#:", "Synon:", "Comments:")) or (not inchikey and l.startswith("InChIKey:")):
            continue
        if l.startswith("Name:"):
            l = "Name: " + name
            if comment is not None:
                l += "\nComments: " + comment
        out.append(l)
    return "\n".join(out) + "\n\n"
a_old, a_new = "a" * 5000, "a" * 4500 + "b" + "a" * 499
open("keys_old.msp", "w").write(body(sys.argv[1], "SYNTHETIC twin", a_old, False) + body(sys.argv[2], "SYNTHETIC twin", None, False) + body(sys.argv[4], "Anastrozole"))
open("keys_new.msp", "w").write(body(sys.argv[1], "SYNTHETIC twin", a_new, False) + body(sys.argv[3], "SYNTHETIC twin", None, False) + body(sys.argv[4], "Anastrozole"))
EOF
build -o keys_old.h5 keys_old.msp
build -o keys_new.h5 keys_new.msp
expect_exit 0 keys "$BIN" diff --format json keys_old.h5 keys_new.h5
python3 - keys.out <<'EOF' || { fail "key pairing"; show keys.out; }
import json, sys
d = json.load(open(sys.argv[1]))
c = d["counts"]
assert (c["paired"], c["unchanged"], c["changed"], c["added"], c["removed"]) == (3, 1, 2, 0, 0), c
assert (c["repeated_keys_old"], c["repeated_keys_new"]) == (1, 1), c
ch = d["changed"]
assert [(x["key_kind"], x["key"], x["occurrence"], x["old_index"]) for x in ch] == [("name", "SYNTHETIC twin", 1, 1), ("name", "SYNTHETIC twin", 2, 2)], ch
f = ch[0]["fields"]
assert len(f) == 1 and f[0]["field"] == "comments" and len(f[0]["old"]) == 5000 and f[0]["new"][4500] == "b", [(x["field"], len(x["old"])) for x in f]
assert ch[1]["fields"] == [] and ch[1]["peaks"]["old_peaks"] == 92 and ch[1]["peaks"]["new_peaks"] == 87, ch[1]
EOF
expect_exit 0 keys_tsv "$BIN" diff --format tsv keys_old.h5 keys_new.h5
expect_out keys_tsv "# repeated_keys_old	1"
grep -q "^changed	name	SYNTHETIC twin	2	2	2	SYNTHETIC twin	peaks	92	87	" keys_tsv.out || { fail "tsv: second twin"; show keys_tsv.out; }
expect_exit 0 keys_text "$BIN" diff keys_old.h5 keys_new.h5
expect_out keys_text "  old 2 -> new 2  name \"SYNTHETIC twin\"  (entry 2 with this key)"
grep -q '^      comments: a\{60\}\.\.\. -> a\{60\}\.\.\.  (first difference at character 4501)$' keys_text.out ||
    { fail "text: where two long comments differ"; show keys_text.out; }
expect_out keys_text "repeated keys: OLD 1, NEW 1 entries repeat an earlier key (paired in order of occurrence)"
# the InChIKey + name key: the same InChIKey under another name is another entry
sed 's/^Name: Anastrozole$/Name: Arimidex/' keys_new.msp >keys_renamed.msp
build -o keys_renamed.h5 keys_renamed.msp
expect_exit 0 keys_ik "$BIN" diff --format tsv keys_old.h5 keys_renamed.h5
grep -q "^removed	inchikey+name	YBBLVLTVTVSKRW-UHFFFAOYSA-N Anastrozole	1	3		Anastrozole	" keys_ik.out &&
    grep -q "^added	inchikey+name	YBBLVLTVTVSKRW-UHFFFAOYSA-N Arimidex	1		3	Arimidex	" keys_ik.out ||
    { fail "inchikey+name keys"; show keys_ik.out; }

# ---- bad input --------------------------------------------------------------------------------
expect_exit 1 missing "$BIN" diff old.h5 nosuch.h5
expect_msg missing "nosuch.h5"
expect_exit 1 missing1 "$BIN" diff nosuch_old.h5 new.h5
expect_msg missing1 "nosuch_old.h5"
expect_exit 1 notlib "$BIN" diff old.h5 old.msp
expect_msg notlib "old.msp: not an HDF5 file"
mkdir -p adir
expect_exit 1 dir "$BIN" diff adir new.h5
expect_msg dir "adir"
: >empty.h5
expect_exit 1 empty "$BIN" diff old.h5 empty.h5
expect_msg empty "empty.h5"
head -c 3000 old.h5 >truncated.h5
"$BIN" diff old.h5 truncated.h5 >trunc.out 2>trunc.err
rc=$?
{ [ $rc = 1 ] || [ $rc = 2 ]; } && grep -q truncated.h5 trunc.err || { fail "truncated library: exit $rc"; show trunc.err; }
expect_exit 1 one_arg "$BIN" diff old.h5
expect_msg one_arg "expected two library files"
expect_exit 1 three_args "$BIN" diff old.h5 new.h5 new.h5
expect_exit 1 badfmt "$BIN" diff --format xml old.h5 new.h5
expect_msg badfmt "--format: expected text, tsv or json, got 'xml'"
expect_exit 1 badwidth "$BIN" diff --width -3 old.h5 new.h5
expect_exit 0 help "$BIN" diff --help
expect_has help "Usage: npswatch diff"

# ---- -o: atomic -------------------------------------------------------------------------------
expect_exit 0 o_json "$BIN" diff --format json -o out.json old.h5 new.h5
[ -s o_json.out ] && fail "-o: something on standard output"
cmp -s out.json json.out || fail "-o out.json differs from the standard output"
ls out.json.tmp.* >/dev/null 2>&1 && fail "-o left a temporary file"
echo keep >kept.txt
expect_exit 1 o_fail "$BIN" diff -o kept.txt old.h5 nosuch.h5
[ "$(cat kept.txt)" = keep ] || fail "a failed diff changed the -o file"
expect_exit 1 o_nodir "$BIN" diff -o nodir/out.txt old.h5 new.h5
expect_msg o_nodir "nodir/out.txt"
expect_exit 3 o_code "$BIN" diff --exit-code -o out.txt old.h5 new.h5
cmp -s out.txt text.out || fail "-o out.txt with --exit-code differs from the text output"

if [ $fails -gt 0 ]; then
    echo "FAILED: $fails check(s)" >&2
    exit 1
fi
echo "ok: npswatch diff"
