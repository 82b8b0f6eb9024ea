#!/usr/bin/env bash
# Speed of the exact hybrid (analogue) search against its brute force, measured in the same run
# (bench/README.md, "Hybrid search"). Never a pass/fail test: it measures and reports.
#
#   bash bench/hybrid_bench.sh      # 20,000 synthetic spectra x 1,000 queries, then SWGDRUG x MassBank
#
# Environment (all optional):
#   BENCH_LIBRARY=20000 BENCH_QUERIES=1000  synthetic sizes;  BENCH_SEED=42
#   BENCH_BRUTE_QUERIES=50       synthetic queries for the brute-force comparison (0 = all); the
#                                fast search is timed again on the same queries for the ratio
#   BENCH_BRUTE_QUERIES_REAL=0   the same for the real data (0 = all 500)
#   BENCH_THREADS=1,2            thread counts of the fast search; the brute force uses the largest
#   BENCH_REPEAT=3               timed runs of each fast search, the fastest reported
#   BENCH_NO_INSTALL=1           do not install build dependencies
#   NPSW_SHARED_DATA=../shared/data
#   BENCH_BUILD_DIR=build-bench  BENCH_RESULTS_DIR=bench/results
# Output: a Markdown report on stdout, progress on stderr, every number as a TSV in
# bench/results/hybrid_bench_<UTC time>.tsv. Work files go to build-bench/bench-work/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

nlib=${BENCH_LIBRARY:-20000}
nq=${BENCH_QUERIES:-1000}
seed=${BENCH_SEED:-42}
brute_q=${BENCH_BRUTE_QUERIES:-50}
brute_q_real=${BENCH_BRUTE_QUERIES_REAL:-0}
threads=${BENCH_THREADS:-1,2}
repeat=${BENCH_REPEAT:-3}
data=${NPSW_SHARED_DATA:-$root/../shared/data}
build=${BENCH_BUILD_DIR:-$root/build-bench}
results=${BENCH_RESULTS_DIR:-$root/bench/results}
work=$build/bench-work
mkdir -p "$work" "$results"

say() { echo "hybrid_bench: $*" >&2; }

[ "${BENCH_NO_INSTALL:-0}" = 1 ] || bash tools/install-deps.sh
say "building (Release) in build-bench/"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j"$(nproc)" --target npsw_gen_synthetic npsw_hybrid_bench >/dev/null
gen=$build/bench/npsw_gen_synthetic
hyb=$build/bench/npsw_hybrid_bench

# ---- run record ----------------------------------------------------------------------------------
run_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
ncpu=$(nproc)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
git_rev=$(git describe --always --dirty 2>/dev/null || echo unknown)
stamp=$(date -u +%Y%m%dT%H%M%SZ)
tsv=$results/hybrid_bench_$stamp.tsv
{
  echo "# run_utc	$run_utc"
  echo "# git	$git_rev"
  echo "# nproc	$ncpu"
  echo "# cpu_model	$cpu_model"
  echo "# loadavg_start	$load_start"
  printf 'data\twhat\tthreads\tqueries\tseconds\tvalue\tunit\n'
} >"$tsv"
md=$work/hybrid_report.md
: >"$md"

# CPU time used by everything on the machine so far, in jiffies
cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# CPU seconds used by this shell's finished children (bash `times`, second line), into $work/cpu
# (`times` must run in this shell, not in a $(...) subshell)
child_cpu() {
  times >"$work/times"
  tail -1 "$work/times" | awk '{ s = 0; for (i = 1; i <= 2; i++) { split($i, b, "m"); s += b[1] * 60 + b[2] } print s }' >"$work/cpu"
}

# One data set: run npsw_hybrid_bench, keep its lines, write the report section.
bench_data() { # name library queries brute_queries
  local name=$1 lib=$2 q=$3 bq=$4 out=$work/hybrid_$1.tsv b0 b1 t0 t1 c0 c1 rc=0
  say "[$name] fast search (threads $threads, best of $repeat) and brute force ($bq queries, 0 = all)"
  b0=$(cpu_busy)
  child_cpu
  c0=$(cat "$work/cpu")
  t0=$(date +%s%N)
  "$hyb" -l "$lib" --threads "$threads" --brute-queries "$bq" --repeat "$repeat" --label "$name" \
    "$q" >"$out" || rc=$?
  t1=$(date +%s%N)
  b1=$(cpu_busy)
  child_cpu
  c1=$(cat "$work/cpu")
  [ $rc = 0 ] || [ $rc = 3 ] || { say "[$name] npsw_hybrid_bench failed ($rc)"; return 1; }
  cat "$out" >>"$tsv"
  # CPUs that other processes kept busy during the run: (machine busy - ours) / wall
  local other
  other=$(awk -v a="$b0" -v b="$b1" -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" \
    -v hz="$(getconf CLK_TCK)" 'BEGIN { x = ((b - a) / hz - (c1 - c0)) / ((t1 - t0) / 1e9); printf "%.2f", (x < 0 ? 0 : x) }')
  echo "$name	other_cpus	-	-	-	$other	cpus" >>"$tsv"
  val() { awk -F'\t' -v w="$1" -v t="$2" '$2 == w && ($3 == t || t == "") { print $6; exit }' "$out"; }
  fmt() { awk -v x="$1" 'BEGIN { if (x == "") print "-"; else if (x >= 100) printf "%.0f", x; else if (x >= 1) printf "%.1f", x; else printf "%.4f", x }'; }
  local tmax nsub
  tmax=$(awk -F'\t' '$2 == "brute_subset" { print $3 }' "$out")
  nsub=$(awk -F'\t' '$2 == "brute_subset" { print $4 }' "$out")
  {
    echo
    echo "### $name: $(val library_spectra "") library spectra, $(awk -F'\t' '$2 == "fast" { print $4; exit }' "$out") queries"
    echo
    echo "| threads | index build (s) | fast, index built in the call (q/s) | fast, prepared index (q/s) |"
    echo "|---|---|---|---|"
    for t in ${threads//,/ }; do
      echo "| $t | $(awk -v x="$(val index_build "$t")" 'BEGIN { printf "%.3f", x }') | $(fmt "$(val fast "$t")") | $(fmt "$(val fast_prepared "$t")") |"
    done
    echo
    echo "Exactly scored: $(awk -v x="$(val scored_frac "")" 'BEGIN { printf "%.2f %%", 100 * x }') of the (library spectrum, query mass) pairs the brute force scores ($(fmt "$(val scored_per_query "")") of $(fmt "$(val pairs_per_query "")") per query); postings visited per query: $(fmt "$(val postings_per_query "")"); queries searched exhaustively: $(val exhaustive_queries "")."
    echo "Brute force (\`npsw_analogue_candidates_brute\`, $tmax threads, first $nsub queries): $(fmt "$(val brute_subset "")") q/s; the fast search on the same queries: $(fmt "$(val fast_subset_prepared "")") q/s with a prepared index ($(fmt "$(val ratio_fast_brute "")")x), $(fmt "$(val fast_subset "")") q/s building it in the call ($(fmt "$(val ratio_fast_brute_batch "")")x)."
    echo "Identical to the brute force (same hits, order and bits): $( [ "$(val identical_brute "")" = 1 ] && echo yes || echo NO); identical for every thread count: $( [ "$(val identical_threads "")" = 1 ] && echo yes || echo NO). CPUs kept busy by other processes during the run: $other of $ncpu (above ~0.25 the 2-thread figures are not reliable)."
  } >>"$md"
  [ $rc = 0 ] || say "[$name] FAST AND BRUTE-FORCE HITS DIFFER (see stderr above)"
}

say "generating synthetic data ($nlib spectra, $nq queries, seed $seed)"
"$gen" --library "$nlib" --queries "$nq" --seed "$seed" -o "$work/hyb$nlib"
bench_data "synthetic-$nlib" "$work/hyb${nlib}_library.msp" "$work/hyb${nlib}_queries.msp" "$brute_q"
sw_lib=$data/swgdrug/swgdrug_v3.4.msp
sw_q=$data/massbank_ei/massbank_ei_ccby.msp
if [ -f "$sw_lib" ] && [ -f "$sw_q" ]; then
  bench_data swgdrug-3.4 "$sw_lib" "$sw_q" "$brute_q_real"
else
  say "SWGDRUG / MassBank data not found under $data: real-data part skipped"
  { echo; echo "Real data (SWGDRUG 3.4 x MassBank EI): skipped, $data not found."; } >>"$md"
fi

load_end=$(cut -d' ' -f1-3 /proc/loadavg)
echo "# loadavg_end	$load_end" >>"$tsv"
echo "## npswatch hybrid search benchmark, $run_utc"
echo
echo "Machine: $ncpu CPUs (\`nproc\`), $cpu_model; load average $load_start at the start, $load_end at the end."
echo "Build: $git_rev, Release, gcc $(gcc -dumpfullversion 2>/dev/null). Default options: k 5, max_delta 150 Da, 2 molecular-ion candidates per EI query."
cat "$md"
echo
echo "All numbers: ${tsv#"$root"/}"
say "done: $tsv"
