#!/usr/bin/env bash
# Speed of the exact identity search, as ratios against baselines measured in the same run
# (bench/README.md). Never a pass/fail test: it measures and reports.
#
#   bash bench/search_bench.sh            # 20,000 synthetic spectra x 1,000 queries, then SWGDRUG
#   BENCH_LARGE=1 bash bench/search_bench.sh   # also 100,000 synthetic spectra
#
# Environment (all optional):
#   BENCH_LIBRARY=20000 BENCH_QUERIES=1000  synthetic sizes;  BENCH_SEED=42
#   BENCH_LARGE=1                also a 100,000-spectrum synthetic library (BENCH_LARGE_SIZE)
#   BENCH_BRUTE_QUERIES=100      synthetic queries for the brute-force comparison (0 = all); the
#                                indexed search is timed on the same queries for the ratio
#   BENCH_BRUTE_QUERIES_REAL=0   the same for the real data (0 = all 457)
#   BENCH_SCORES="wmf mf rmf cosine entropy"
#   BENCH_THREADS="1 2"          thread counts of the indexed search; brute force uses the last
#   BENCH_NO_INSTALL=1           do not apt-get anything (dense BLAS / RSS are then maybe skipped)
#   NPSW_SHARED_DATA=../shared/data
#   BENCH_GIT_REV                label for the build when not run from a git work tree
# Output: a Markdown report on stdout, progress on stderr, and every number as a TSV in
# bench/results/search_bench_<UTC time>.tsv. Work files go to build-bench/bench-work/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

nlib=${BENCH_LIBRARY:-20000}
nq=${BENCH_QUERIES:-1000}
seed=${BENCH_SEED:-42}
large=${BENCH_LARGE:-0}
large_size=${BENCH_LARGE_SIZE:-100000}
brute_q=${BENCH_BRUTE_QUERIES:-100}
read -r -a scores <<<"${BENCH_SCORES:-wmf mf rmf cosine entropy}"
read -r -a threads <<<"${BENCH_THREADS:-1 2}"
tmax=${threads[${#threads[@]}-1]}
data=${NPSW_SHARED_DATA:-$root/../shared/data}
build=$root/build-bench
work=$build/bench-work
mkdir -p "$work" "$root/bench/results"

say() { echo "search_bench: $*" >&2; }

# ---- dependencies ------------------------------------------------------------------------------
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
apt_try() { # install Debian packages if possible; never fatal
  [ "${BENCH_NO_INSTALL:-0}" = 1 ] && return 1
  command -v apt-get >/dev/null || return 1
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
      --no-install-recommends "$@"; } >/dev/null 2>&1
}
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
[ "${BENCH_NO_INSTALL:-0}" = 1 ] || bash tools/install-deps.sh
[ -x /usr/bin/time ] || apt_try time || true
have_pkg libopenblas-dev || apt_try libopenblas-dev || true
gnutime=0
[ -x /usr/bin/time ] && gnutime=1

# ---- build ---------------------------------------------------------------------------------------
say "building (Release) in build-bench/"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
targets=(npswatch npsw_gen_synthetic npsw_search_stats)
dense=0
if grep -q '^NPSW_OPENBLAS_FOUND:INTERNAL=1' "$build/CMakeCache.txt"; then
  targets+=(npsw_dense_blas)
  dense=1
fi
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >/dev/null
npsw=$build/tools/npswatch
gen=$build/bench/npsw_gen_synthetic
stats=$build/bench/npsw_search_stats
blas=$build/bench/npsw_dense_blas

# ---- machine and run record ----------------------------------------------------------------------
run_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
ncpu=$(nproc)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
git_rev=${BENCH_GIT_REV:-$(git describe --always --dirty 2>/dev/null || echo unknown)}
git_dirty=$(git status --porcelain -- core spectra_db tools 2>/dev/null | awk '{print $2}' | tr '\n' ' ')
stamp=$(date -u +%Y%m%dT%H%M%SZ)
tsv=$root/bench/results/search_bench_$stamp.tsv
{
  echo "# run_utc	$run_utc"
  echo "# git	$git_rev"
  [ -n "$git_dirty" ] && echo "# uncommitted_product_files	$git_dirty"
  echo "# nproc	$ncpu"
  echo "# cpu_model	$cpu_model"
  echo "# loadavg_start	$load_start"
  echo "# npswatch	$($npsw --version 2>&1 | head -1)"
  printf 'data\tscore\twhat\tthreads\tqueries\tseconds\tvalue\tunit\tother_cpus\n'
} >"$tsv"
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$tsv"; }

# ---- helpers -------------------------------------------------------------------------------------
now_ns() { date +%s%N; }
secs_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else printf "-" }'; }
fmt() { awk -v x="$1" 'BEGIN { if (x == "-" || x == "") print "-"; else if (x >= 100) printf "%.0f", x; else printf "%.1f", x }'; }
# CPU time used by everything on the machine so far, in jiffies (user nice system irq softirq steal)
cpu_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# CPUs that other processes kept busy during our last run: (all busy - ours) / wall
other_cpus() { # busy0 busy1 our_cpu_seconds wall_seconds
  awk -v b0="$1" -v b1="$2" -v c="$3" -v w="$4" -v hz="$(getconf CLK_TCK)" \
    'BEGIN { if (c == "-" || w <= 0) print "-"; else { x = ((b1 - b0) / hz - c) / w; printf "%.2f", (x < 0 ? 0 : x) } }'
}
# first n MSP records of a file
head_msp() { awk -v n="$2" '/^Name:/ { c++ } c <= n' "$1"; }
# TSV output without the run-record time: what must be identical between two searches
strip_time() { grep -v '^# utc_time' "$1"; }
same_tsv() { if diff -q <(strip_time "$1") <(strip_time "$2") >/dev/null; then echo yes; else echo no; fi; }

# Run a command timed; sets T (wall seconds), RSS (peak KB or "-") and OTHER (CPUs used by other
# processes meanwhile, or "-"). Standard output to the file $1, standard error to $work/run.err.
timed() {
  local out=$1; shift
  local b0 t0 cpu="-"
  b0=$(cpu_busy)
  t0=$(now_ns)
  if [ $gnutime = 1 ]; then
    /usr/bin/time -f '%M %U %S' -o "$work/time" "$@" >"$out" 2>"$work/run.err" ||
      { cat "$work/run.err" >&2; return 1; }
    RSS=$(tail -1 "$work/time" | cut -d' ' -f1)
    cpu=$(tail -1 "$work/time" | awk '{ print $2 + $3 }')
  else
    "$@" >"$out" 2>"$work/run.err" || { cat "$work/run.err" >&2; return 1; }
    RSS="-"
  fi
  T=$(secs_since "$t0")
  OTHER=$(other_cpus "$b0" "$(cpu_busy)" "$cpu" "$T")
}
# `npswatch search`, output to the file $1
cli_search() { local out=$1; shift; timed "$out" "$npsw" search "$@"; }
# "*" for a measurement of at least 0.5 s (shorter: the kernel's CPU accounting is too coarse)
# during which other processes used >= 0.25 CPU. Arguments: other_cpus seconds
mark() { awk -v x="$1" -v t="$2" 'BEGIN { if (x != "-" && t >= 0.5 && x >= 0.25) printf "*" }'; }

# One in-library run; sets L (the TSV line of npsw_search_stats). Exit 3 = hits differ.
lib_search() {
  local rc=0
  # exit 3 (hit lists differ) is reported in the output line, not an error here
  timed "$work/lib.out" sh -c '"$@"; rc=$?; [ $rc -eq 3 ] && exit 0; exit $rc' sh "$stats" "$@" || rc=$?
  if [ $rc -ne 0 ]; then say "npsw_search_stats failed"; return 1; fi
  L=$(cat "$work/lib.out")
  return 0
}
field() { echo "$L" | awk -F'\t' -v c="$1" '{ print $c }'; } # columns of npsw_search_stats

# Top-1 / top-5 of a hit table: synthetic truth, or recall.py on real data. Prints "t1 t5".
recall_of() { # hits.tsv kind(truth|pairs) truth_or_pairs queries
  if [ "$2" = truth ]; then
    python3 - "$1" "$3" <<'EOF'
import csv, sys
truth = {}
with open(sys.argv[2]) as f:
    for r in csv.DictReader(f, delimiter='\t'):
        if r['kind'] == 'copy':
            truth[r['query_index']] = r['library_index']
best = {}
with open(sys.argv[1]) as f:
    for r in csv.DictReader((l for l in f if not l.startswith('#')), delimiter='\t'):
        q = r['query_index']
        if q in truth and r['rank'] != '0' and r['hit_index'] == truth[q]:
            best[q] = min(best.get(q, 99), int(r['rank']))
n = len(truth) or 1
print(f"{sum(1 for q in truth if best.get(q, 99) <= 1) / n:.3f} "
      f"{sum(1 for q in truth if best.get(q, 99) <= 5) / n:.3f}")
EOF
  else
    python3 bench/recall.py "$1" "$3" "$4" | awk '{ print $4, $6 }'
  fi
}

md=$work/report.md
: >"$md"
mdl() { echo "$@" >>"$md"; }

# ---- one data set --------------------------------------------------------------------------------
bench_data() { # name library.msp queries.msp truth-kind truth-file brute-queries
  local name=$1 lib_msp=$2 q_msp=$3 tkind=$4 tfile=$5 nsub=$6
  local lib=$work/$name.h5 nqa sub bt brss nlibs s t r
  say "[$name] building the library"
  if [ $gnutime = 1 ]; then
    local t0; t0=$(now_ns)
    /usr/bin/time -v -o "$work/build.time" "$npsw" build -o "$lib" --name "$name" "$lib_msp" \
      2>"$work/build.err" || { cat "$work/build.err" >&2; return 1; }
    bt=$(secs_since "$t0")
    brss=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$work/build.time")
  else
    local t0; t0=$(now_ns)
    "$npsw" build -o "$lib" --name "$name" "$lib_msp" 2>"$work/build.err" ||
      { cat "$work/build.err" >&2; return 1; }
    bt=$(secs_since "$t0")
    brss="-"
  fi
  nlibs=$("$npsw" info "$lib" 2>/dev/null | awk -F': *' '$1 == "spectra" { print $2; exit }')
  [ -n "$nlibs" ] || nlibs=$(grep -c '^Name:' "$lib_msp")
  row "$name" - build 1 "$nlibs" "$bt" "$brss" peak_rss_kb -
  nqa=$(grep -c '^Name:' "$q_msp")
  { [ "$nsub" -eq 0 ] || [ "$nsub" -gt "$nqa" ]; } && nsub=$nqa
  sub=$work/${name}_sub.msp
  head_msp "$q_msp" "$nsub" >"$sub"
  mdl ""
  mdl "### $name: $nlibs library spectra, $nqa queries"
  mdl ""
  if [ "$brss" = "-" ]; then
    mdl "Library build (\`npswatch build\`, whole process): ${bt} s; peak RSS not measured (no /usr/bin/time)."
  else
    mdl "Library build (\`npswatch build\`, whole process): ${bt} s, peak RSS $((brss / 1024)) MiB."
  fi
  mdl ""
  local h1="| score |" h2="|---|"
  for t in "${threads[@]}"; do h1+=" CLI ${t} thr |"; h2+="---|"; done
  for t in "${threads[@]}"; do h1+=" lib ${t} thr |"; h2+="---|"; done
  h1+=" scored / library | brute CLI | brute lib | indexed/brute CLI | indexed/brute lib | identical | top-1 | top-5 |"
  h2+="---|---|---|---|---|---|---|---|"
  mdl "$h1"
  mdl "$h2"
  local lib_cos_rate="" any_mark=0
  for s in "${scores[@]}"; do
    local line="| $s |" cli_cells="" lib_cells="" first_out="" ident_thr=yes sfrac="" cfrac=""
    for t in "${threads[@]}"; do
      say "[$name] $s: npswatch search, $t thread(s), $nqa queries"
      cli_search "$work/${name}_${s}_t$t.tsv" -l "$lib" --score "$s" --threads "$t" "$q_msp"
      r=$(rate "$nqa" "$T")
      row "$name" "$s" cli_indexed "$t" "$nqa" "$T" "$r" queries_per_s "$OTHER"
      row "$name" "$s" cli_peak_rss "$t" "$nqa" "$T" "$RSS" kb "$OTHER"
      cli_cells+=" $(fmt "$r")$(mark "$OTHER" "$T") |"
      [ -n "$(mark "$OTHER" "$T")" ] && any_mark=1
      if [ -z "$first_out" ]; then first_out=$work/${name}_${s}_t$t.tsv
      elif [ "$(same_tsv "$first_out" "$work/${name}_${s}_t$t.tsv")" = no ]; then ident_thr=no; fi
    done
    row "$name" "$s" identical_across_threads - "$nqa" - "$ident_thr" yes/no -
    for t in "${threads[@]}"; do
      say "[$name] $s: npsw_search in-library, $t thread(s)"
      lib_search -l "$lib" --score "$s" --threads "$t" --label "$name" "$q_msp"
      r=$(field 9)
      sfrac=$(field 13)
      cfrac=$(field 12)
      row "$name" "$s" lib_indexed "$t" "$nqa" "$(field 8)" "$r" queries_per_s "$OTHER"
      lib_cells+=" $(fmt "$r")$(mark "$OTHER" "$T") |"
      [ -n "$(mark "$OTHER" "$T")" ] && any_mark=1
      [ "$s" = cosine ] && lib_cos_rate=$r
    done
    row "$name" "$s" scored_frac - "$nqa" - "$sfrac" fraction_of_library -
    row "$name" "$s" candidate_frac - "$nqa" - "$cfrac" fraction_of_library -
    # brute force vs indexed on the same queries, tmax threads
    say "[$name] $s: brute force vs indexed on $nsub queries, $tmax threads"
    cli_search "$work/${name}_${s}_sub_idx.tsv" -l "$lib" --score "$s" --threads "$tmax" "$sub"
    local ti=$T oi=$OTHER mi
    mi=$(mark "$OTHER" "$T")
    cli_search "$work/${name}_${s}_sub_brute.tsv" -l "$lib" --score "$s" --threads "$tmax" \
      --brute-force "$sub"
    local tb=$T ob=$OTHER mb
    mb=$(mark "$OTHER" "$T")
    local ident_cli; ident_cli=$(same_tsv "$work/${name}_${s}_sub_idx.tsv" "$work/${name}_${s}_sub_brute.tsv")
    if [ "$ident_cli" = no ]; then
      diff <(strip_time "$work/${name}_${s}_sub_idx.tsv") <(strip_time "$work/${name}_${s}_sub_brute.tsv") \
        >"$work/${name}_${s}_diff.txt" || true
      say "[$name] $s: INDEXED AND BRUTE-FORCE OUTPUTS DIFFER: $work/${name}_${s}_diff.txt"
    fi
    local bcli rcli
    bcli=$(rate "$nsub" "$tb")
    rcli=$(ratio "$tb" "$ti")
    row "$name" "$s" cli_indexed_subset "$tmax" "$nsub" "$ti" "$(rate "$nsub" "$ti")" queries_per_s "$oi"
    row "$name" "$s" cli_brute "$tmax" "$nsub" "$tb" "$bcli" queries_per_s "$ob"
    row "$name" "$s" ratio_indexed_brute_cli "$tmax" "$nsub" - "$rcli" x -
    row "$name" "$s" identical_cli "$tmax" "$nsub" - "$ident_cli" yes/no -
    lib_search -l "$lib" --score "$s" --threads "$tmax" --mode both --max-queries "$nsub" \
      --label "$name" "$q_msp"
    local l_idx l_bru bi bb ident_lib blib rlib ol=$OTHER mbl
    mbl=$(mark "$OTHER" "$T")
    l_idx=$(echo "$L" | sed -n 1p)
    l_bru=$(echo "$L" | sed -n 2p)
    bi=$(echo "$l_idx" | cut -f8)
    bb=$(echo "$l_bru" | cut -f8)
    ident_lib=$(echo "$l_bru" | cut -f14)
    blib=$(echo "$l_bru" | cut -f9)
    rlib=$(ratio "$bb" "$bi")
    row "$name" "$s" lib_indexed_subset "$tmax" "$nsub" "$bi" "$(echo "$l_idx" | cut -f9)" queries_per_s "$ol"
    row "$name" "$s" lib_brute "$tmax" "$nsub" "$bb" "$blib" queries_per_s "$ol"
    row "$name" "$s" ratio_indexed_brute_lib "$tmax" "$nsub" - "$rlib" x -
    row "$name" "$s" identical_lib "$tmax" "$nsub" - "$ident_lib" yes/no -
    [ "$ident_lib" = no ] && say "[$name] $s: INDEXED AND BRUTE-FORCE HIT LISTS DIFFER (npsw_search_stats)"
    # accuracy, from the full indexed run with the most threads
    local rec t1 t5
    rec=$(recall_of "$work/${name}_${s}_t$tmax.tsv" "$tkind" "$tfile" "$q_msp")
    t1=${rec% *}
    t5=${rec#* }
    row "$name" "$s" top1 - "$nqa" - "$t1" fraction -
    row "$name" "$s" top5 - "$nqa" - "$t5" fraction -
    local ident="CLI $ident_cli, lib $ident_lib"
    [ "$ident_thr" = yes ] || ident+=", threads DIFFER"
    [ -n "$mi$mb$mbl" ] && any_mark=1
    local mr=$mb
    [ -n "$mi" ] && mr="*"
    line+="$cli_cells$lib_cells $(awk -v x="$sfrac" 'BEGIN { printf "%.4f", x }') |"
    line+=" $(fmt "$bcli")$mb | $(fmt "$blib")$mbl | ${rcli}x$mr | ${rlib}x$mbl | $ident | $t1 | $t5 |"
    mdl "$line"
  done
  mdl ""
  mdl "Queries/s. CLI = the whole \`npswatch search\` process (library load, query parsing, output); lib = \`npsw_search()\` only (bench/search_stats.c). Brute force (\`--brute-force\` / \`npsw_search_brute()\`: the scalar scorer on every library spectrum) and indexed/brute (brute time / indexed time) use the first $nsub queries and $tmax threads, the indexed search timed again on the same queries. scored / library: library spectra fully scored after pruning, per query. identical: the indexed and brute-force hit lists are the same (CLI: TSV outputs equal except the utc_time line; lib: same indices, bit-identical scores) and the TSV does not change with the thread count. top-1/top-5: $( [ "$tkind" = truth ] && echo "the library spectrum a noisy query was copied from is at rank 1 / in the top 5 (unrelated queries left out)" || echo "recall by InChIKey first block (bench/recall.py)")."
  [ $any_mark = 1 ] && mdl "" && mdl "\\* other processes kept at least a quarter of a CPU busy during this measurement (TSV column other_cpus; runs shorter than 0.5 s are not marked)."
  if [ $dense = 1 ]; then
    say "[$name] dense OpenBLAS cosine baseline, $tmax threads"
    timed "$work/dense.out" "$blas" -l "$lib" --threads "$tmax" --check --label "$name" "$q_msp"
    local dl dr; dl=$(cat "$work/dense.out")
    dr=$(echo "$dl" | cut -f9)
    row "$name" cosine dense_blas "$tmax" "$nqa" "$(echo "$dl" | cut -f8)" "$dr" queries_per_s "$OTHER"
    row "$name" cosine dense_blas_prep "$tmax" "$nqa" "$(echo "$dl" | cut -f10)" - seconds -
    row "$name" cosine dense_blas_top1_agree "$tmax" "$nqa" - "$(echo "$dl" | cut -f12)" queries -
    row "$name" cosine dense_blas_top5_agree "$tmax" "$nqa" - "$(echo "$dl" | cut -f13)" queries -
    mdl ""
    mdl "Dense baseline (bench/dense_blas.c: NIST-weighted cosine, cblas_dgemm over dense binned vectors, OpenBLAS, $tmax threads, in-library): $(fmt "$dr")$(mark "$OTHER" "$T") q/s. npswatch's indexed \`cosine\` (lib, $tmax threads, $(fmt "$lib_cos_rate") q/s) runs at $(ratio "$lib_cos_rate" "$dr")x the dense baseline. Same top 1 as npswatch \`cosine\`: $(echo "$dl" | cut -f12) queries; same top-5 list: $(echo "$dl" | cut -f13)."
  fi
}

# ---- data sets ---------------------------------------------------------------------------------
say "generating synthetic data ($nlib spectra, $nq queries, seed $seed)"
"$gen" --library "$nlib" --queries "$nq" --seed "$seed" -o "$work/syn$nlib"
bench_data "synthetic-$nlib" "$work/syn${nlib}_library.msp" "$work/syn${nlib}_queries.msp" \
  truth "$work/syn${nlib}_truth.tsv" "$brute_q"
if [ "$large" = 1 ]; then
  say "generating synthetic data ($large_size spectra, $nq queries, seed $seed)"
  "$gen" --library "$large_size" --queries "$nq" --seed "$seed" -o "$work/syn$large_size"
  bench_data "synthetic-$large_size" "$work/syn${large_size}_library.msp" \
    "$work/syn${large_size}_queries.msp" truth "$work/syn${large_size}_truth.tsv" "$brute_q"
fi
sw_lib=$data/swgdrug/swgdrug_v3.4.msp
sw_q=$data/massbank_ei/massbank_ei_dev_queries.msp
sw_pairs=$data/pairs/cross_source_dev.tsv
if [ -f "$sw_lib" ] && [ -f "$sw_q" ] && [ -f "$sw_pairs" ]; then
  bench_data swgdrug-3.4 "$sw_lib" "$sw_q" pairs "$sw_pairs" "${BENCH_BRUTE_QUERIES_REAL:-0}"
else
  say "SWGDRUG / MassBank data not found under $data: real-data part skipped"
  mdl ""
  mdl "Real data (SWGDRUG 3.4 x MassBank EI): skipped, $data not found."
fi
[ $dense = 1 ] || { mdl ""; mdl "Dense OpenBLAS baseline: skipped (libopenblas-dev not installed)."; }
[ $gnutime = 1 ] || { mdl ""; mdl "Peak RSS not measured: /usr/bin/time (Debian package time) is missing; times from bash."; }

load_end=$(cut -d' ' -f1-3 /proc/loadavg)
echo "# loadavg_end	$load_end" >>"$tsv"
echo "## npswatch search benchmark, $run_utc"
echo
echo "Machine: $ncpu CPUs (\`nproc\`), $cpu_model; load average ${load_start} at the start, ${load_end} at the end"
echo "(anything above 0 means other work shared the CPUs: compare numbers within this run only)."
echo "Build: $git_rev${git_dirty:+ (uncommitted changes in: $git_dirty)}, Release, gcc $(gcc -dumpfullversion 2>/dev/null)."
cat "$md"
echo
echo "All numbers: ${tsv#"$root"/}"
say "done: ${tsv#"$root"/}"
