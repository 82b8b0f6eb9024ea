#!/usr/bin/env bash
# Held-out evaluation and calibration of the analogue analysis (docs/analogues.md,
# "Calibration"). Needs ../shared/data (SWGDRUG 3.4, MassBank EI queries and pairs).
#
#   bash bench/analogue_eval.sh             # report (Markdown) on stdout
#   bash bench/analogue_eval.sh --write-c   # also rewrite core/src/calibration.c from the fit
#
# Work files go to build-bench/analogue-eval/; the report is also kept in bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
data=${NPSW_SHARED_DATA:-$root/../shared/data}
for f in swgdrug/swgdrug_v3.4.msp massbank_ei/massbank_ei_dev_queries.msp pairs/cross_source_dev.tsv; do
  [ -f "$data/$f" ] || { echo "analogue_eval: $data/$f not found (set NPSW_SHARED_DATA)" >&2; exit 1; }
done
build=$root/build-bench
work=$build/analogue-eval
mkdir -p "$work" "$root/bench/results"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target npswatch npsw_analogue_eval >/dev/null
"$build/tools/npswatch" build -o "$work/swgdrug.h5" --name "SWGDRUG 3.4" --lib-version 3.4 \
  "$data/swgdrug/swgdrug_v3.4.msp" 2>"$work/build.log"
"$build/bench/npsw_analogue_eval" "$work/swgdrug.h5" "$data/massbank_ei/massbank_ei_dev_queries.msp" \
  "$data/pairs/cross_source_dev.tsv" >"$work/rows.tsv"
args=()
if [ "${1:-}" = "--write-c" ]; then
  args=(--write-c core/src/calibration.c --source \
        "SWGDRUG 3.4 leave-compound-out + MassBank EI pairs, bench/analogue_eval.sh, $(date -u +%F)")
fi
python3 bench/analogue_calibrate.py "$work/rows.tsv" "${args[@]}" | tee "bench/results/analogue_eval_$(date -u +%Y%m%dT%H%M%SZ).md"
