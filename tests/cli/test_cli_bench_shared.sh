#!/bin/bash
# test_cli_bench_shared.sh - 'npswatch bench' on the cross-source pairs of ../shared/data
# (MassBank EI queries x SWGDRUG 3.4): the recall@1 and @5 it reports for wmf and mf equal those
# of bench/recall.py (an independent script) on 'npswatch search' hit tables; the same hit table
# given as an external table scores the same. Skipped (exit 77) when ../shared/data is absent.
#
# Usage: bash test_cli_bench_shared.sh NPSWATCH_BINARY SCRATCH_DIR
set -u
BIN=${1:?usage: test_cli_bench_shared.sh NPSWATCH_BINARY SCRATCH_DIR}
S=${2:?usage: test_cli_bench_shared.sh NPSWATCH_BINARY SCRATCH_DIR}
case "$BIN" in /*) ;; */*) BIN=$PWD/$BIN ;; esac
SRC=${NPSW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
D=${NPSW_SHARED_DATA:-$SRC/../shared/data}
case "$D" in /*) ;; *) D=$PWD/$D ;; esac
LIB=$D/swgdrug/swgdrug_v3.4.msp Q=$D/massbank_ei/massbank_ei_dev_queries.msp P=$D/pairs/cross_source_dev.tsv
for f in "$LIB" "$Q" "$P"; do
    [ -f "$f" ] || { echo "SKIP: $f not found (needs ../shared/data)"; exit 77; }
done
command -v python3 >/dev/null || { echo "FAIL: python3 is needed"; exit 1; }
rm -rf "$S" && mkdir -p "$S" && cd "$S" || { echo "FAIL: scratch dir $S"; exit 1; }
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
timeout 120 "$BIN" build -o lib.h5 "$LIB" 2>/dev/null || fail "build"
for s in wmf mf; do
    timeout 120 "$BIN" search -l lib.h5 -k 5 --score $s -o hits_$s.tsv "$Q" 2>/dev/null || fail "search $s"
done
cat > pairs.conf <<CONF
methods = wmf mf
k = 1 5
threads = 1
analysis = no
[dataset pairs]
library = lib.h5
queries = $Q
truth = $P
external = wmf-table hits_wmf.tsv
CONF
timeout 300 "$BIN" bench pairs.conf -o out 2>bench.err || { fail "bench"; cat bench.err >&2; }
for s in wmf mf; do
    read -r r1 r5 < <(python3 "$SRC/bench/recall.py" hits_$s.tsv "$P" "$Q" | awk '{print $4, $6}')
    for m in $s $( [ $s = wmf ] && echo wmf-table ); do
        g1=$(awk -F'\t' -v m=$m '$1=="pairs" && $2==m && $3=="recall" && $4=="k=1" {print $5}' out/results.tsv)
        g5=$(awk -F'\t' -v m=$m '$1=="pairs" && $2==m && $3=="recall" && $4=="k=5" {print $5}' out/results.tsv)
        python3 -c "import sys; sys.exit(0 if abs($g1-$r1)<6e-4 and abs($g5-$r5)<6e-4 else 1)" \
            || fail "$m: bench recall@1/@5 $g1/$g5, recall.py $r1/$r5"
    done
done
[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok"
