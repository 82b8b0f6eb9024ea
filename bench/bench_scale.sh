#!/usr/bin/env bash
# Synthetic scale series with `npswatch bench`: generate SYNTHETIC libraries and queries
# (bench/gen_synthetic.c) of 10,000 and 100,000 spectra, then run bench/configs/synthetic_scale.conf;
# BENCH_LARGE=1 adds 1,000,000 spectra and runs bench/configs/synthetic_scale_1m.conf
# (long-running: see that file). Output: bench/results/scale_<UTC time>/ (results.tsv,
# results.json, throughput_size.png, ...), or BENCH_OUT.
#   bash bench/bench_scale.sh            BENCH_LARGE=1 bash bench/bench_scale.sh
# Settings: BENCH_SEED (42), BENCH_NO_INSTALL=1 (do not install build dependencies),
# BENCH_BUILD_DIR (build-bench), BENCH_OUT.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${BENCH_NO_INSTALL:-0}" = 1 ] || bash tools/install-deps.sh
b=${BENCH_BUILD_DIR:-build-bench}
cmake -S . -B "$b" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$b" -j2 --target npswatch npsw_gen_synthetic >/dev/null
work=$b/bench-work/scale
mkdir -p "$work"
sizes="10000:1000 100000:500"
conf=bench/configs/synthetic_scale.conf
if [ "${BENCH_LARGE:-0}" = 1 ]; then
  sizes="$sizes 1000000:100"
  conf=bench/configs/synthetic_scale_1m.conf
fi
for sq in $sizes; do
  n=${sq%%:*} q=${sq##*:}
  if [ ! -s "$work/syn_${n}_truth.tsv" ]; then
    echo "bench_scale: generating $n synthetic spectra and $q queries" >&2
    "$b/bench/npsw_gen_synthetic" --library "$n" --queries "$q" --seed "${BENCH_SEED:-42}" \
      -o "$work/syn_$n"
  fi
done
out=${BENCH_OUT:-bench/results/scale_$(date -u +%Y%m%dT%H%M%SZ)}
start=$(date +%s)
NPSW_BENCH_WORK=$PWD/$work "$b/tools/npswatch" bench "$conf" -o "$out"
echo "bench_scale: $(( $(date +%s) - start )) s; results in $out" >&2
