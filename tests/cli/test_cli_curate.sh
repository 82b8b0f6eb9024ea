#!/bin/bash
# test_cli_curate.sh - library versions with lineage and the curator loop from the command line
# (docs/cli.md "npswatch curate", docs/format.md "/lineage"): build --from/--add (indices kept,
# accession clashes refused), curate accept/reject, info showing the lineage, search of the
# consensus spectrum against the new version, failures leaving the ledger unchanged.
#
# Data: the bundled library (spectra_db/data/swgdrug_3.4_dea.msp) and the bundled example
# spectra (spectra_db/data/examples/example_queries.msp). The signals and advisories are inserted
# with python3's sqlite3 directly (the signals and advise commands are separate parts): signal 1's
# consensus spectrum is the peaks of the example "Atrazine" record (MassBank MSBNK-MSSJ-MSJ01072,
# not in the DEA library), encoded as docs/ledger.md says (n little-endian float64 m/z, then n
# float32 intensities); signal 3's is SYNTHETIC (hand-made peaks). What the ledger holds is
# checked with python3 on the raw file; the audit chain is recomputed from docs/ledger.md.
#
# Usage: bash test_cli_curate.sh NPSWATCH_BINARY SCRATCH_DIR
set -u
BIN=${1:?usage: test_cli_curate.sh NPSWATCH_BINARY SCRATCH_DIR}
S=${2:?usage: test_cli_curate.sh NPSWATCH_BINARY SCRATCH_DIR}
case "$BIN" in /*) ;; */*) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "FAIL: $BIN is not an executable"; exit 1; }
SRC=${NPSW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
LIBMSP=$SRC/spectra_db/data/swgdrug_3.4_dea.msp
QMSP=$SRC/spectra_db/data/examples/example_queries.msp
[ -f "$LIBMSP" ] && [ -f "$QMSP" ] || { echo "FAIL: bundled data missing ($LIBMSP, $QMSP)"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is needed"; exit 1; }
python3 -c 'import sqlite3' 2>/dev/null || { echo "FAIL: python3 has no sqlite3 module"; exit 1; }
rm -rf "$S" && mkdir -p "$S" || { echo "FAIL: cannot create scratch dir $S"; exit 1; }
cd "$S" || exit 1
S=$(pwd -P)
export SOURCE_DATE_EPOCH=1767225600

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
show() { echo "---- $1:" >&2; sed 's/^/    /' "$1" | head -40 >&2; }
expect_exit() {
    local want=$1 label=$2
    shift 2
    "$@" >"$label.out" 2>"$label.err"
    local rc=$?
    [ "$rc" = "$want" ] || { fail "$label: exit $rc, expected $want"; show "$label.err"; }
}
expect_msg() { grep -qF -- "$2" "$1.err" || { fail "$1: no message containing '$2'"; show "$1.err"; }; }
expect_out() { grep -qF -- "$2" "$1.out" || { fail "$1: output lacks '$2'"; show "$1.out"; }; }
sql() { python3 -c 'import sqlite3, sys; r = sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone(); print("" if r is None or r[0] is None else r[0])' "$1" "$2"; }
# everything a review may change, one line
snapshot() {
    python3 -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for q in ("SELECT id, state, reviewer, note, reviewed_utc FROM advisories ORDER BY id",
          "SELECT id, status, updated_utc FROM signals ORDER BY id",
          "SELECT * FROM library_versions ORDER BY id",
          "SELECT seq, hash FROM audit_log ORDER BY seq"):
    print(c.execute(q).fetchall())' "$1"
}
# hit of rank R of query Q in a search TSV: "hit_index hit_accession mf"
hit() {
    awk -F'\t' -v q="$2" -v r="$3" '/^#/ {next} $1 == "query_index" {for (i = 1; i <= NF; i++) c[$i] = i; next}
        $c["query_index"] == q && $c["rank"] == r {print $c["hit_index"], $c["hit_accession"], $c["mf"]}' "$1"
}

"$BIN" build -o dea.h5 --name "SWGDRUG 3.4 DEA" --lib-version 3.4 "$LIBMSP" >build.out 2>build.err ||
    { fail "cannot build the bundled library"; show build.err; exit 1; }
DEA_SHA=$(sed -n 's/^content sha256: //p' <("$BIN" info dea.h5))
N=$(sed -n 's/^spectra: //p' <("$BIN" info dea.h5))
[ ${#DEA_SHA} = 64 ] && [ "$N" -gt 100 ] || { fail "info dea.h5: sha '$DEA_SHA', $N spectra"; exit 1; }
"$BIN" --version | grep -q "library file format 1.3" || fail "--version does not say format 1.3"

# ---- build --from / --add ----------------------------------------------------------------
expect_exit 0 from "$BIN" build --from dea.h5 --add "$QMSP" -o plus.h5
expect_exit 0 from_info "$BIN" info --verify plus.h5
expect_out from_info "spectra: $((N + 6))"
expect_out from_info "version: 3.4.1"
expect_out from_info "name: SWGDRUG 3.4 DEA"
expect_out from_info "format: 1.3"
expect_out from_info "lineage: parent \"SWGDRUG 3.4 DEA\" version 3.4, content sha256 $DEA_SHA"
expect_out from_info "lineage advisory: none"
expect_out from_info "lineage added: 6 entries"
expect_out from_info "  entry $((N + 6)): accession MSBNK-MSSJ-MSJ01072, name \"Atrazine\": added from example_queries.msp"
expect_out from_info "  1. version 3.4  sha256 $DEA_SHA  (root)"
expect_out from_info "verify: ok"
# old indices stay valid: the first 25 DEA records find themselves at the same index
awk 'BEGIN {RS = ""; ORS = "\n\n"} NR <= 25' "$LIBMSP" >first25.msp
"$BIN" search -l dea.h5 -k 1 first25.msp >s_dea.tsv 2>/dev/null && "$BIN" search -l plus.h5 -k 1 first25.msp >s_plus.tsv 2>/dev/null ||
    fail "search of the first DEA records failed"
for q in $(seq 1 25); do
    a=$(hit s_dea.tsv "$q" 1) b=$(hit s_plus.tsv "$q" 1)
    [ -n "$a" ] && [ "$a" = "$b" ] || fail "query $q: rank 1 in dea.h5 '$a', in plus.h5 '$b'"
    [ "${a%% *}" = "$q" ] || fail "DEA record $q does not find itself at index $q: '$a'"
done
# an accession already in the library is refused, nothing written
expect_exit 1 from_clash "$BIN" build --from plus.h5 --add "$QMSP" -o clash.h5
expect_msg from_clash "is already in the library"
[ -e clash.h5 ] && fail "build --from wrote clash.h5 despite the accession clash"
expect_exit 1 add_nofrom "$BIN" build --add "$QMSP" -o x.h5
expect_msg add_nofrom "--add needs --from"
expect_exit 1 from_noadd "$BIN" build --from dea.h5 -o x.h5
expect_exit 1 from_clean "$BIN" build --from dea.h5 --accurate --add "$QMSP" -o x.h5
expect_msg from_clean "cleaning options cannot be given"
expect_exit 1 from_self "$BIN" build --from plus.h5 --add "$QMSP" -o plus.h5
expect_exit 1 from_missing "$BIN" build --from nosuch.h5 --add "$QMSP" -o x.h5
[ -e x.h5 ] && fail "a failed build --from wrote x.h5"

# ---- a ledger with signals and draft advisories (direct SQL) ------------------------------
"$BIN" ledger init led.db >/dev/null 2>&1 || { fail "ledger init"; exit 1; }
awk 'BEGIN {RS = ""; ORS = "\n\n"} /^Name: Atrazine/' "$QMSP" >atrazine.msp
[ "$(grep -c '^Name:' atrazine.msp)" = 1 ] || fail "atrazine.msp should hold one record"
python3 - led.db atrazine.msp <<'EOF' || fail "cannot insert signals and advisories"
import sqlite3, struct, sys
c = sqlite3.connect(sys.argv[1])
def blob(peaks):
    return struct.pack("<%dd" % len(peaks), *[m for m, _ in peaks]) + struct.pack("<%df" % len(peaks), *[i for _, i in peaks])
lines = open(sys.argv[2]).read().splitlines()
start = next(i for i, l in enumerate(lines) if l.startswith("Num Peaks:")) + 1
atrazine = [(float(l.split()[0]), float(l.split()[1])) for l in lines[start:] if l.strip()]
assert len(atrazine) == 111, len(atrazine)
synthetic = [(44.0, 999.0), (72.0, 410.0), (100.0, 250.0), (128.0, 80.0)]  # SYNTHETIC peaks
sig = "INSERT INTO signals (id, created_utc, updated_utc, status, n_labs, n_submissions, countries, first_seen_utc, last_seen_utc, score, predicted_class, consensus_peaks) VALUES (?, '2026-11-20T00:00:00Z', '2026-11-20T00:00:00Z', 'advised', ?, ?, 'DE,FR,NL', '2026-11-01T00:00:00Z', '2026-11-19T00:00:00Z', 0.9, ?, ?)"
c.execute(sig, (1, 3, 7, "other", blob(atrazine)))
c.execute(sig, (2, 2, 2, "cathinone", blob(synthetic)))
c.execute(sig, (3, 2, 4, "phenethylamine", blob(synthetic)))
adv = "INSERT INTO advisories (id, advisory_key, version, signal_id, state, created_utc) VALUES (?, ?, 1, ?, 'draft', '2026-11-21T00:00:00Z')"
for row in ((1, "NPSW-2026-0001", 1), (2, "NPSW-2026-0002", 2), (3, "NPSW-2026-0003", 3)):
    c.execute(adv, row)
c.commit()
EOF

# ---- usage errors ------------------------------------------------------------------------------
expect_exit 1 cu_noname "$BIN" curate --ledger led.db accept NPSW-2026-0001 -l dea.h5 -o new.h5
expect_msg cu_noname "--name"
expect_exit 1 cu_noout "$BIN" curate --ledger led.db accept NPSW-2026-0001 --name X -l dea.h5
expect_msg cu_noout "-o NEW.h5"
expect_exit 1 cu_noledger "$BIN" curate accept NPSW-2026-0001 --name X -o new.h5
expect_exit 1 cu_action "$BIN" curate --ledger led.db approve NPSW-2026-0001
expect_msg cu_action "expected accept or reject"
expect_exit 1 cu_unknown "$BIN" curate --ledger led.db accept NPSW-2099-0001 --name X -l dea.h5 -o new.h5
expect_msg cu_unknown "no advisory with key 'NPSW-2099-0001'"
expect_exit 1 cu_missingdb "$BIN" curate --ledger nosuch.db reject 1
[ -e nosuch.db ] && fail "curate created a ledger"
expect_exit 1 cu_noparent "$BIN" curate --ledger led.db accept 1 --name X -o new.h5
expect_msg cu_noparent "-l LIB.h5"
[ -e new.h5 ] && fail "a refused accept wrote new.h5"

# ---- failures leave the ledger as it was ----------------------------------------------------
snapshot led.db >before.txt
expect_exit 1 cu_unwritable "$BIN" curate --ledger led.db accept 1 --name X -l dea.h5 -o nodir/new.h5
expect_exit 1 cu_exists "$BIN" curate --ledger led.db accept 1 --name X -l dea.h5 -o plus.h5
expect_msg cu_exists "exists already"
[ -e nodir ] && fail "an unwritable accept created nodir"
snapshot led.db >after.txt
cmp -s before.txt after.txt || { fail "a failed accept changed the ledger"; diff before.txt after.txt | head >&2; }
# the ledger transaction fails after the file was written: the file is removed
python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("CREATE TRIGGER inject BEFORE INSERT ON library_versions WHEN NEW.advisory_id IS NOT NULL BEGIN SELECT RAISE(ABORT, \"injected failure\"); END")
c.commit()' led.db
snapshot led.db >before.txt
expect_exit 1 cu_txfail "$BIN" curate --ledger led.db accept 1 --name X -l dea.h5 -o txfail.h5
expect_msg cu_txfail "injected failure"
[ -e txfail.h5 ] && fail "the new library file was left behind after the ledger transaction failed"
snapshot led.db >after.txt
cmp -s before.txt after.txt || { fail "a failed accept changed the ledger"; diff before.txt after.txt | head >&2; }
python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute("DROP TRIGGER inject"); c.commit()' led.db

# ---- accept --------------------------------------------------------------------------------------
expect_exit 0 accept "$BIN" curate --ledger led.db accept NPSW-2026-0001 --name "Atrazine (NPSW early warning)" \
    --class other --note "matches MassBank" -l dea.h5 -o new.h5
expect_out accept "state: accepted"
expect_out accept "library_version: 3.4.adv1"
expect_out accept "entry_index: $((N + 1))"
expect_out accept "accession: NPSW-2026-0001"
expect_out accept "parent_sha256: $DEA_SHA"
expect_msg accept "accepted"
NEW_SHA=$(sed -n 's/^library_sha256: //p' accept.out)
expect_exit 0 new_info "$BIN" info --verify new.h5
expect_out new_info "content sha256: $NEW_SHA"
expect_out new_info "spectra: $((N + 1))"
expect_out new_info "version: 3.4.adv1"
expect_out new_info "lineage: parent \"SWGDRUG 3.4 DEA\" version 3.4, content sha256 $DEA_SHA"
expect_out new_info "lineage advisory: NPSW-2026-0001 (ledger advisory id 1)"
expect_out new_info "lineage added: 1 entry"
expect_out new_info "  entry $((N + 1)): accession NPSW-2026-0001, name \"Atrazine (NPSW early warning)\": accepted npswatch advisory NPSW-2026-0001 (version 1): consensus of 7 submissions from 3 laboratories"
expect_out new_info "  1. version 3.4  sha256 $DEA_SHA  (root)"
expect_out new_info "  2. version 3.4.adv1  sha256 $NEW_SHA  advisory NPSW-2026-0001  (this library)"
expect_out new_info "verify: ok"
# the consensus spectrum now finds the new entry first, MF 999; not before
"$BIN" search -l new.h5 atrazine.msp >s_new.tsv 2>s_new.err || { fail "search new.h5"; show s_new.err; }
[ "$(hit s_new.tsv 1 1)" = "$((N + 1)) NPSW-2026-0001 999" ] || { fail "rank 1 against new.h5: '$(hit s_new.tsv 1 1)'"; show s_new.tsv; }
"$BIN" search -l dea.h5 atrazine.msp >s_old.tsv 2>/dev/null
r1=$(hit s_old.tsv 1 1)
[ -n "$r1" ] && [ "${r1##* }" -lt 999 ] && [ "${r1%% *}" -le "$N" ] || fail "rank 1 against dea.h5: '$r1'"
grep -q $'\tAtrazine (NPSW early warning)\t' s_new.tsv || fail "the hit list lacks the new entry's name"

python3 - led.db "$S/new.h5" "$NEW_SHA" "$DEA_SHA" "$(id -un)" <<'EOF' || fail "the ledger does not record the acceptance"
import json, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
path, new, parent, user = sys.argv[2:6]
st = c.execute("SELECT state, reviewer, note, reviewed_utc FROM advisories WHERE id = 1").fetchone()
assert st[:3] == ("accepted", "cli:" + user, "matches MassBank") and st[3], st
assert c.execute("SELECT group_concat(state) FROM (SELECT state FROM advisories ORDER BY id)").fetchone()[0] == "accepted,draft,draft"
assert c.execute("SELECT status FROM signals WHERE id = 1").fetchone()[0] == "closed"
assert c.execute("SELECT count(*) FROM signals WHERE status = 'advised'").fetchone()[0] == 2
rows = c.execute("SELECT name, version, content_sha256, parent_sha256, advisory_id, file_path FROM library_versions ORDER BY id").fetchall()
assert rows[0][1:] == ("3.4", parent, None, None, path.replace("new.h5", "dea.h5")), rows
assert rows[1] == ("SWGDRUG 3.4 DEA", "3.4.adv1", new, parent, 1, path), rows
seq, actor, action, obj, details = c.execute("SELECT seq, actor, action, object, details FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
d = json.loads(details)
assert (actor, action, obj) == ("cli:" + user, "advisory.accept", "advisory:1"), (actor, action, obj)
assert d["library_sha256"] == new and d["parent_sha256"] == parent and d["advisory_key"] == "NPSW-2026-0001", d
assert d["accession"] == "NPSW-2026-0001" and d["library_file"] == path and d["signal_id"] == 1, d
EOF
cat >chain.py <<'EOF'
import hashlib, sqlite3, sys
c = sqlite3.connect(sys.argv[1])
prev = "0" * 64
n = 0
for seq, utc, actor, action, obj, details, ph, h in c.execute(
        "SELECT seq, utc, actor, action, object, details, prev_hash, hash FROM audit_log ORDER BY seq"):
    n += 1
    if seq != n or ph != prev:
        print("chain broken at", n); sys.exit(1)
    text = prev.encode() + b"npsw-audit-1"
    for f in (str(seq), utc, actor, action, obj, details):
        b = f.encode()
        text += b"\n" + str(len(b)).encode() + b":" + b
    if hashlib.sha256(text).hexdigest() != h:
        print("hash of entry", seq, "differs"); sys.exit(1)
    prev = h
print(n, prev)
EOF
python3 chain.py led.db >chain.out || { fail "the audit chain does not recompute"; show chain.out; }
expect_exit 0 verify "$BIN" audit verify led.db

# accepting twice, or rejecting an accepted advisory: exit 1 with its state, nothing changes
snapshot led.db >before.txt
expect_exit 1 accept_again "$BIN" curate --ledger led.db accept 1 --name Y -l dea.h5 -o again.h5
expect_msg accept_again "is accepted: only a draft advisory can be accepted or rejected"
expect_exit 1 reject_accepted "$BIN" curate --ledger led.db reject NPSW-2026-0001
expect_msg reject_accepted "is accepted"
[ -e again.h5 ] && fail "accepting twice wrote again.h5"
snapshot led.db >after.txt
cmp -s before.txt after.txt || fail "a refused review changed the ledger"

# ---- reject --------------------------------------------------------------------------------------
expect_exit 0 reject "$BIN" curate --ledger led.db reject NPSW-2026-0002 --note "column bleed" --actor "cli:reviewer2"
expect_out reject "state: rejected"
[ "$(sql led.db "SELECT state || '|' || reviewer || '|' || note FROM advisories WHERE id = 2")" = "rejected|cli:reviewer2|column bleed" ] ||
    fail "reject: advisory row '$(sql led.db "SELECT state || '|' || reviewer || '|' || note FROM advisories WHERE id = 2")'"
[ "$(sql led.db "SELECT action || '|' || actor || '|' || object FROM audit_log ORDER BY seq DESC LIMIT 1")" = "advisory.reject|cli:reviewer2|advisory:2" ] ||
    fail "reject: audit entry"
[ "$(sql led.db "SELECT status FROM signals WHERE id = 2")" = advised ] || fail "reject changed the signal"
expect_exit 1 reject_again "$BIN" curate --ledger led.db reject 2
expect_msg reject_again "is rejected"
expect_exit 1 reject_opts "$BIN" curate --ledger led.db reject 3 -o x.h5
expect_msg reject_opts "belong to accept"

# ---- a second accept goes on the newest recorded version (no -l): the ancestry grows ---------
expect_exit 0 accept2 "$BIN" curate --ledger led.db accept NPSW-2026-0003 --name "Synthetic test substance" -o new2.h5
expect_out accept2 "parent: $S/new.h5"
expect_out accept2 "library_version: 3.4.adv1.adv3"
expect_out accept2 "entry_class: phenethylamine"
NEW2_SHA=$(sed -n 's/^library_sha256: //p' accept2.out)
expect_exit 0 new2_info "$BIN" info --verify new2.h5
expect_out new2_info "spectra: $((N + 2))"
expect_out new2_info "  1. version 3.4  sha256 $DEA_SHA  (root)"
expect_out new2_info "  2. version 3.4.adv1  sha256 $NEW_SHA  advisory NPSW-2026-0001"
expect_out new2_info "  3. version 3.4.adv1.adv3  sha256 $NEW2_SHA  advisory NPSW-2026-0003  (this library)"
"$BIN" search -l new2.h5 atrazine.msp >s_new2.tsv 2>/dev/null
[ "$(hit s_new2.tsv 1 1)" = "$((N + 1)) NPSW-2026-0001 999" ] || fail "rank 1 against new2.h5: '$(hit s_new2.tsv 1 1)'"
python3 chain.py led.db >chain2.out || fail "the audit chain does not recompute after the second accept"
expect_exit 0 verify2 "$BIN" audit verify led.db
grep -q "^audit: ok: 4 entries" verify2.out || { fail "expected 4 audit entries (create, accept, reject, accept)"; show verify2.out; }

if [ $fails -ne 0 ]; then
    echo "FAILED: $fails check(s) in test_cli_curate.sh" >&2
    exit 1
fi
echo "test_cli_curate.sh: all checks passed"
exit 0
