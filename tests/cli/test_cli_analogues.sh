#!/bin/bash
# test_cli_analogues.sh - npswatch analogues on the bundled library and examples: the columns
# the issue asks for, one row per query, TSV and JSON agree, any thread count gives the same
# bytes, bad usage and bad files exit 1 with a message naming them. The science (the right
# analogue, mass difference and substituent on real spectra) is tested in tests/unit/test_analyse.c.
#
# Usage: bash test_cli_analogues.sh NPSWATCH_BINARY SCRATCH_DIR
set -u
BIN=${1:?usage: test_cli_analogues.sh NPSWATCH_BINARY SCRATCH_DIR}
S=${2:?usage: test_cli_analogues.sh NPSWATCH_BINARY SCRATCH_DIR}
case "$BIN" in /*) ;; */*) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "FAIL: $BIN is not an executable"; exit 1; }
SRC=${NPSW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
LIBMSP=$SRC/spectra_db/data/swgdrug_3.4_dea.msp
QMSP=$SRC/spectra_db/data/examples/example_queries.msp
[ -f "$LIBMSP" ] && [ -f "$QMSP" ] || { echo "FAIL: bundled data missing under $SRC"; exit 1; }
rm -rf "$S" && mkdir -p "$S" || { echo "FAIL: cannot create scratch dir $S"; exit 1; }
cd "$S" || exit 1

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
show() { echo "---- $1:" >&2; sed 's/^/    /' "$1" | head -40 >&2; }
export SOURCE_DATE_EPOCH=1700000000

"$BIN" build -o dea.h5 "$LIBMSP" >build.out 2>build.err || { fail "build failed"; show build.err; exit 1; }
nq=$(grep -c '^Name:' "$QMSP")

"$BIN" analogues -l dea.h5 --threads 1 -o a1.tsv "$QMSP" 2>a1.err || { fail "analogues exited $?"; show a1.err; }
"$BIN" analogues -l dea.h5 --threads 2 -o a2.tsv "$QMSP" 2>a2.err || fail "analogues --threads 2 failed"
cmp -s a1.tsv a2.tsv || fail "output differs between 1 and 2 threads"
grep -q '^# note	library search results, not identifications' a1.tsv || fail "run record lacks the note"
grep -q '^# library_sha256	[0-9a-f]\{64\}$' a1.tsv || fail "run record lacks the library SHA-256"
grep -q '^# parameters	.*analogue_max_delta=150Da.*calibration=' a1.tsv || fail "parameters lack the analogue settings"

python3 - a1.tsv "$nq" <<'PY' || fail "TSV content"
import sys, csv
rows = [l for l in open(sys.argv[1]) if not l.startswith('#')]
r = list(csv.DictReader(rows, delimiter='\t'))
need = ("query_index query_name query_inchikey verdict confidence best_hit_name best_hit_inchikey "
        "best_mf analogue_name analogue_inchikey analogue_score delta_mass substituents "
        "predicted_class class_confidence diagnostic_ions").split()
missing = [c for c in need if c not in r[0]]
assert not missing, f"missing columns {missing}"
assert len(r) == int(sys.argv[2]), f"{len(r)} rows for {sys.argv[2]} queries"
for x in r:
    assert x['verdict'] in ('in_library', 'analogue', 'unknown'), x['verdict']
    for c in ('confidence', 'class_confidence', 'p_in_library', 'p_analogue'):
        assert 0 <= float(x[c]) <= 1, (c, x[c])
    assert float(x['p_in_library']) + float(x['p_analogue']) <= 1 + 1e-3
    if x['analogue_name']:
        d = float(x['delta_mass'])
        assert abs(d) >= 2.5, f"analogue with |delta| < 2.5: {d}"
        # every hypothesis explains the difference at nominal mass
        for h in x['substituents'].split(';'):
            if h:
                hd = float(h.rsplit('(', 1)[1].rstrip(')'))
                assert round(hd) == round(d), (h, d)
PY

"$BIN" analogues -l dea.h5 --format json -o a.json "$QMSP" 2>aj.err || fail "--format json failed"
python3 - a.json a1.tsv <<'PY' || fail "JSON content or JSON/TSV disagreement"
import sys, json, csv
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines[0]['record'] == 'run'
an = [l for l in lines if l['record'] == 'analysis']
rows = list(csv.DictReader([l for l in open(sys.argv[2]) if not l.startswith('#')], delimiter='\t'))
assert len(an) == len(rows)
for a, r in zip(an, rows):
    assert a['verdict'] == r['verdict'], (a['verdict'], r['verdict'])
    assert a['predicted_class'] == r['predicted_class']
    assert len(a['identity_hits']) <= 5 and len(a['analogue_candidates']) <= 5
    if r['best_hit_name']:
        assert a['identity_hits'][0]['name'] == r['best_hit_name']
    if r['analogue_name']:
        assert a['analogue']['name'] == r['analogue_name']
        assert abs(a['analogue']['delta_mass'] - float(r['delta_mass'])) < 1e-3
PY

# bad usage and bad files
"$BIN" analogues "$QMSP" >e1.out 2>e1.err; rc=$?
[ $rc -eq 1 ] || fail "missing -l exited $rc (expected 1)"
grep -q -- "-l" e1.err || { fail "missing -l: message does not say so"; show e1.err; }
"$BIN" analogues -l dea.h5 -k 0 "$QMSP" >e2.out 2>e2.err; rc=$?
[ $rc -eq 1 ] || fail "-k 0 exited $rc (expected 1)"
"$BIN" analogues -l dea.h5 no_such_file.msp >e3.out 2>e3.err; rc=$?
[ $rc -eq 1 ] || fail "missing query file exited $rc (expected 1)"
grep -q "no_such_file.msp" e3.err || { fail "missing query file: message does not name it"; show e3.err; }
printf 'Name: broken\nNum Peaks: 2\n50 abc\n' >bad.msp
"$BIN" analogues -l dea.h5 --strict bad.msp >e4.out 2>e4.err; rc=$?
[ $rc -eq 1 ] || fail "bad record with --strict exited $rc (expected 1)"
grep -q "bad.msp:3" e4.err || { fail "bad record: message does not name bad.msp:3"; show e4.err; }
"$BIN" analogues -l no_such_lib.h5 "$QMSP" >e5.out 2>e5.err; rc=$?
[ $rc -ne 0 ] || fail "missing library exited 0"
grep -q "no_such_lib.h5" e5.err || { fail "missing library: message does not name it"; show e5.err; }

[ $fails -eq 0 ] && echo "PASS: test_cli_analogues" && exit 0
echo "FAIL: test_cli_analogues ($fails failures)"
exit 1
