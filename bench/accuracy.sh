#!/usr/bin/env bash
# Identity-search accuracy on real data: MassBank EI queries vs the SWGDRUG 3.4 library
# (../shared/data), top-1 and top-5 recall by InChIKey first block for each score, and the queries
# whose compound is not in the top 5 of the default score (with --misses).
#   bash bench/accuracy.sh [--misses]
set -euo pipefail
cd "$(dirname "$0")/.."
data=${NPSW_SHARED_DATA:-../shared/data}
lib_msp=$data/swgdrug/swgdrug_v3.4.msp
queries=$data/massbank_ei/massbank_ei_dev_queries.msp
pairs=$data/pairs/cross_source_dev.tsv
[ -f "$lib_msp" ] || { echo "accuracy.sh: $lib_msp not found (needs ../shared/data)" >&2; exit 77; }
cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build-bench -j"$(nproc)" --target npswatch >/dev/null
npsw=build-bench/tools/npswatch
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
$npsw build -o "$out/lib.h5" --name "SWGDRUG 3.4" --lib-version 3.4 "$lib_msp" 2>/dev/null
echo "| score | options | top-1 | top-5 |"
echo "|---|---|---|---|"
run() { # name options...
  local name=$1; shift
  $npsw search -l "$out/lib.h5" -k 5 "$@" "$queries" -o "$out/hits.tsv" 2>/dev/null
  python3 bench/recall.py "$out/hits.tsv" "$pairs" "$queries" |
    awk -v n="$name" -v o="$*" '{printf "| %s | %s | %s | %s |\n", n, o, $4, $6}'
}
run wmf --score wmf
run mf --score mf
run mf --score mf --mz-range common
run mf --score mf --weights 1994
run rmf --score rmf
run cosine --score cosine
run entropy --score entropy
if [ "${1:-}" = "--misses" ]; then
  $npsw search -l "$out/lib.h5" -k 5 "$queries" -o "$out/hits.tsv" 2>/dev/null
  python3 bench/recall.py "$out/hits.tsv" "$pairs" "$queries" --misses
fi
