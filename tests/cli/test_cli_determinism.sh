#!/bin/bash
# test_cli_determinism.sh - search output is byte-identical across runs and thread counts
# (npsw/search.h: "Results do not depend on the number of threads"), and a library built twice
# from the same input has the same content checksum. With SOURCE_DATE_EPOCH set, even the run
# record's time is fixed, so whole outputs compare with cmp.
#
# Data: ../shared/data (SWGDRUG 3.4 DEA subset searched with the MassBank EI dev queries) when
# present, else the bundled spectra_db/data library and example queries.
#
# Usage: bash test_cli_determinism.sh NPSWATCH_BINARY SCRATCH_DIR
set -u
BIN=${1:?usage: test_cli_determinism.sh NPSWATCH_BINARY SCRATCH_DIR}
S=${2:?usage: test_cli_determinism.sh NPSWATCH_BINARY SCRATCH_DIR}
case "$BIN" in /*) ;; */*) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "FAIL: $BIN is not an executable"; exit 1; }
rm -rf "$S" && mkdir -p "$S" || { echo "FAIL: cannot create scratch dir $S"; exit 1; }
S=$(cd "$S" && pwd)

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
show() { echo "---- $1:" >&2; sed 's/^/    /' "$1" | head -40 >&2; }

export SOURCE_DATE_EPOCH=1700000000
unset OMP_NUM_THREADS

SHARED=${NPSW_SHARED_DATA:-}
SRC=${NPSW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
if [ -n "$SHARED" ] && [ -f "$SHARED/swgdrug/swgdrug_v3.4_dea_subset.msp" ] &&
    [ -f "$SHARED/massbank_ei/massbank_ei_dev_queries.msp" ]; then
    LIBSRC=$SHARED/swgdrug/swgdrug_v3.4_dea_subset.msp
    # the first 80 of the 457 queries keep this test fast under the sanitizers (one search of
    # all 457 takes seconds there); 80 x 985 pairs still exercise every code path
    ALLQ=$SHARED/massbank_ei/massbank_ei_dev_queries.msp
    QUERIES=$S/queries80.msp
    mkdir -p "$S" && awk 'BEGIN { RS = ""; ORS = "\n\n" } NR <= 80' "$ALLQ" >"$QUERIES"
    NLIB=985
    NQ=80
elif [ -f "$SRC/spectra_db/data/swgdrug_3.4_dea.msp" ] &&
    [ -f "$SRC/spectra_db/data/examples/example_queries.msp" ]; then
    echo "note: ../shared/data not present; using the bundled library and example queries"
    LIBSRC=$SRC/spectra_db/data/swgdrug_3.4_dea.msp
    QUERIES=$SRC/spectra_db/data/examples/example_queries.msp
    NLIB=975
    NQ=6
else
    echo "skipped: neither ../shared/data nor the bundled spectra_db/data files are present"
    exit 77
fi
echo "library: $LIBSRC"
echo "queries: $QUERIES"
cd "$S" || exit 1

"$BIN" build --name determinism -o lib.h5 "$LIBSRC" >b1.out 2>b1.err || { fail "build failed"; show b1.err; exit 1; }
"$BIN" build --name determinism -o lib2.h5 "$LIBSRC" >b2.out 2>b2.err || fail "second build failed"
"$BIN" info lib.h5 >i1.out 2>&1 || fail "info lib.h5 failed"
"$BIN" info lib2.h5 >i2.out 2>&1 || fail "info lib2.h5 failed"
grep -q "^spectra: $NLIB$" i1.out || { fail "library should hold $NLIB spectra"; show i1.out; }
s1=$(sed -n 's/^content sha256: //p' i1.out)
s2=$(sed -n 's/^content sha256: //p' i2.out)
[ -n "$s1" ] && [ "$s1" = "$s2" ] || fail "two builds of the same input: content sha256 '$s1' vs '$s2'"
c1=$(sed -n 's/^created: //p' i1.out)
[ "$c1" = "2023-11-14T22:13:20Z" ] || fail "created time '$c1', expected 2023-11-14T22:13:20Z from SOURCE_DATE_EPOCH=1700000000"

search() { # out-file args...
    local out=$1
    shift
    "$BIN" search -l lib.h5 -k 10 "$@" "$QUERIES" >"$out" 2>"$out.err" || { fail "search $* failed"; show "$out.err"; }
}
search run1.tsv
search run2.tsv
search t1.tsv --threads 1
search t2.tsv --threads 2
for f in run2.tsv t1.tsv t2.tsv; do
    cmp -s run1.tsv "$f" || { fail "run1.tsv and $f differ"; diff run1.tsv "$f" | head -10 >&2; }
done
grep -q "^# utc_time	2023-11-14T22:13:20Z$" run1.tsv || fail "TSV utc_time does not follow SOURCE_DATE_EPOCH"
nq=$(awk -F'\t' '!/^#/ && $1 != "query_index" { q[$1] = 1 } END { print length(q) }' run1.tsv)
[ "$nq" = "$NQ" ] || fail "TSV covers $nq queries, expected $NQ"
rows=$(grep -vc '^#' run1.tsv)
[ "$rows" -gt "$NQ" ] || fail "TSV has only $rows lines for $NQ queries"

# another score and another format too
search e1.tsv --threads 1 --score entropy
search e2.tsv --threads 2 --score entropy
cmp -s e1.tsv e2.tsv || fail "--score entropy: --threads 1 and 2 differ"
search j1.json --threads 1 --format json
search j2.json --threads 2 --format json
cmp -s j1.json j2.json || fail "--format json: --threads 1 and 2 differ"

# the library built a second time gives the same hits (paths aside: compare from the header on)
"$BIN" search -l lib2.h5 -k 10 --threads 2 "$QUERIES" >lib2.tsv 2>lib2.err || fail "search lib2.h5 failed"
diff <(grep -v '^# library_file' run1.tsv) <(grep -v '^# library_file' lib2.tsv) >/dev/null ||
    fail "searching the rebuilt library gives different results"

if [ $fails -ne 0 ]; then
    echo "FAILED: $fails check(s) in test_cli_determinism.sh" >&2
    exit 1
fi
echo "test_cli_determinism.sh: all checks passed"
exit 0
