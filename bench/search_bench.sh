#!/usr/bin/env bash
# Speed, memory and exactness of the identity search at several library sizes, as ratios against
# baselines measured in the same run (bench/README.md, "search_bench.sh"). Never a pass/fail
# test: it measures and reports.
#
#   bash bench/search_bench.sh                 # synthetic 20,000 and 100,000 spectra, then SWGDRUG
#   BENCH_LARGE=1 bash bench/search_bench.sh   # also 1,000,000 synthetic spectra
#   BENCH_SIZES="1000000" BENCH_SCALE_ONLY=1 bash bench/search_bench.sh   # 1M build + load only
#
# Environment (all optional):
#   BENCH_SIZES="20000 100000"   synthetic library sizes, run in this order
#   BENCH_LARGE=1                also BENCH_LARGE_SIZE (1000000) spectra, last
#   BENCH_QUERIES=N              queries for every synthetic size; default per size
#                                min(1000, max(50, 5e7 / size)): 20k 1000, 100k 500, 1M 50
#   BENCH_QUERIES_FOR="SIZE:N .." per-size query counts (override the default for those sizes)
#   BENCH_BRUTE_QUERIES=N        queries of the brute-force / exactness subset for every synthetic
#                                size; default min(queries, max(10, min(100, 4e6 / size))):
#                                20k 100, 100k 40, 1M 10 (0 = all queries)
#   BENCH_BRUTE_QUERIES_FOR="SIZE:N .."  the same per size
#   BENCH_BRUTE_QUERIES_REAL=0   the same for the real data (0 = all 457)
#   BENCH_SEED=42
#   BENCH_SCORES="wmf mf rmf cosine entropy"   (the first is the headline score)
#   BENCH_THREADS="1 2"          thread counts; brute force, dense BLAS and the scalar-kernel
#                                run use the last, the thread ratio is last / first
#   BENCH_MIN_TIME=1             in-library timings repeat until they add up to this many seconds
#                                (fastest run reported), so a fast engine is not timed on ms
#   BENCH_SIMD_SCALAR=1          also time the in-library search with NPSW_SIMD=scalar (0 = skip)
#   BENCH_DENSE=1                dense OpenBLAS baseline (0 = skip)
#   BENCH_REAL=1                 SWGDRUG 3.4 x MassBank EI when ../shared/data is there (0 = skip)
#   BENCH_SCALE_ONLY=1           per data set only generation, build, load time and memory
#   BENCH_NO_INSTALL=1           do not apt-get anything (dense BLAS / RSS are then maybe skipped)
#   NPSW_SHARED_DATA=../shared/data
#   BENCH_GIT_REV                label for the build when not run from a git work tree
# Output: a Markdown report on stdout, progress on stderr, and every number as a TSV in
# bench/results/search_bench_<UTC time>.tsv. Work files go to build-bench/bench-work/.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
t_run0=$(date +%s)

read -r -a sizes <<<"${BENCH_SIZES:-20000 100000}"
large=${BENCH_LARGE:-0}
large_size=${BENCH_LARGE_SIZE:-1000000}
if [ "$large" = 1 ] && [[ " ${sizes[*]} " != *" $large_size "* ]]; then sizes+=("$large_size"); fi
seed=${BENCH_SEED:-42}
read -r -a scores <<<"${BENCH_SCORES:-wmf mf rmf cosine entropy}"
read -r -a threads <<<"${BENCH_THREADS:-1 2}"
tmin=${threads[0]}
tmax=${threads[${#threads[@]}-1]}
min_time=${BENCH_MIN_TIME:-1}
simd_scalar=${BENCH_SIMD_SCALAR:-1}
scale_only=${BENCH_SCALE_ONLY:-0}
data=${NPSW_SHARED_DATA:-$root/../shared/data}
build=$root/build-bench
work=$build/bench-work
mkdir -p "$work" "$root/bench/results"
# the kernel must be the engine's own choice except in the run that asks for the scalar one
npsw_simd_was=${NPSW_SIMD-}
unset NPSW_SIMD

say() { echo "search_bench: $*" >&2; }

# Per-size query counts: BENCH_*_FOR list, else the global override, else the default formula.
lookup_for() { # list size -> value or ""
  local kv
  for kv in $1; do [ "${kv%%:*}" = "$2" ] && { echo "${kv#*:}"; return; }; done
  echo ""
}
queries_for() {
  local v; v=$(lookup_for "${BENCH_QUERIES_FOR:-}" "$1")
  [ -n "$v" ] || v=${BENCH_QUERIES:-}
  [ -n "$v" ] || v=$(awk -v n="$1" 'BEGIN { q = int(5e7 / n); print (q > 1000 ? 1000 : (q < 50 ? 50 : q)) }')
  echo "$v"
}
brute_for() { # size queries
  local v; v=$(lookup_for "${BENCH_BRUTE_QUERIES_FOR:-}" "$1")
  [ -n "$v" ] || v=${BENCH_BRUTE_QUERIES:-}
  [ -n "$v" ] || v=$(awk -v n="$1" 'BEGIN { q = int(4e6 / n); print (q > 100 ? 100 : (q < 10 ? 10 : q)) }')
  { [ "$v" -eq 0 ] || [ "$v" -gt "$2" ]; } && v=$2
  echo "$v"
}

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
targets=(npswatch npsw_gen_synthetic npsw_search_stats npsw_load_time)
dense=0
if [ "${BENCH_DENSE:-1}" = 1 ] && grep -q '^NPSW_OPENBLAS_FOUND:INTERNAL=1' "$build/CMakeCache.txt"; then
  targets+=(npsw_dense_blas)
  dense=1
fi
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >/dev/null
npsw=$build/tools/npswatch
gen=$build/bench/npsw_gen_synthetic
stats=$build/bench/npsw_search_stats
loadt=$build/bench/npsw_load_time
blas=$build/bench/npsw_dense_blas

# ---- machine and run record ----------------------------------------------------------------------
run_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
ncpu=$(nproc)
mem_gib=$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
git_rev=${BENCH_GIT_REV:-$(git describe --always --dirty 2>/dev/null || echo unknown)}
git_dirty=$({ git status --porcelain -- core spectra_db tools 2>/dev/null || true; } | awk '{print $2}' | tr '\n' ' ' | sed 's/ $//')
kernel=$("$npsw" --version 2>/dev/null | awk -F': *' '/^search kernel/ { print $2 }')
[ -n "$kernel" ] || kernel="(not printed by npswatch --version)"
kernel_scalar=$(NPSW_SIMD=scalar "$npsw" --version 2>/dev/null | awk -F': *' '/^search kernel/ { print $2 }')
[ -n "$kernel_scalar" ] || kernel_scalar="-"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
tsv=$root/bench/results/search_bench_$stamp.tsv
{
  echo "# run_utc	$run_utc"
  echo "# git	$git_rev"
  [ -n "$git_dirty" ] && echo "# uncommitted_product_files	$git_dirty"
  echo "# nproc	$ncpu"
  echo "# cpu_model	$cpu_model"
  echo "# mem_gib	$mem_gib"
  echo "# loadavg_start	$load_start"
  echo "# npswatch	$($npsw --version 2>&1 | head -1)"
  echo "# search_kernel	$kernel"
  echo "# search_kernel_with_NPSW_SIMD=scalar	$kernel_scalar"
  [ -n "$npsw_simd_was" ] && echo "# NPSW_SIMD_in_caller_environment_ignored	$npsw_simd_was"
  echo "# sizes	${sizes[*]}"
  echo "# threads	${threads[*]}"
  echo "# min_time_s	$min_time"
  printf 'data\tscore\twhat\tthreads\tqueries\tseconds\tvalue\tunit\tother_cpus\n'
} >"$tsv"
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$tsv"; }

# ---- helpers -------------------------------------------------------------------------------------
now_ns() { date +%s%N; }
secs_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.2f", (s > 0 ? n / s : 0) }'; }
# a / b (a ratio "x"), "-" when either is missing or b is 0
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || a == "" || b == "-" || b == "" || b + 0 <= 0) { printf "-"; exit }
    x = a / b; if (x >= 100) printf "%.0f", x; else if (x >= 10) printf "%.1f", x; else printf "%.2f", x }'
}
# queries/s and seconds for tables
fmt() {
  awk -v x="$1" 'BEGIN { if (x == "-" || x == "") print "-"; else if (x >= 100) printf "%.0f", x;
    else if (x >= 1) printf "%.1f", x; else printf "%.2f", x }'
}
mib() { awk -v b="$1" -v u="${2:-kb}" 'BEGIN { if (b == "-" || b == "") { print "-"; exit }
  x = (u == "kb" ? b / 1024 : b / 1048576); if (x >= 100) printf "%.0f", x; else printf "%.1f", x }'; }
fmax() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || a == "") print b; else if (b == "-" || b == "") print a; else print (b + 0 > a + 0 ? b : a) }'; }
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
same_file() { if cmp -s "$1" "$2"; then echo yes; else echo no; fi; }

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

# One in-library run of npsw_search_stats; sets L (its output lines). Exit 3 = hits differ (reported
# in the output, not an error here). LIB_ENV: environment assignments for this run only.
LIB_ENV=()
lib_search() {
  local rc=0
  timed "$work/lib.out" env ${LIB_ENV[@]+"${LIB_ENV[@]}"} \
    sh -c '"$@"; rc=$?; [ $rc -eq 3 ] && exit 0; exit $rc' sh "$stats" "$@" || rc=$?
  if [ $rc -ne 0 ]; then say "npsw_search_stats failed"; return 1; fi
  L=$(cat "$work/lib.out")
  return 0
}
field() { echo "$L" | awk -F'\t' -v c="$1" 'NR == 1 { print $c }'; } # columns of npsw_search_stats
# queries/s of an npsw_search_stats line (queries / seconds: more digits than its own column 9)
line_rate() { echo "$1" | awk -F'\t' '{ printf "%.2f", ($8 > 0 ? $7 / $8 : 0) }'; }

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

md=$work/report.md          # per data set sections
scale_md=$work/scale.md     # one row per data set: build, load, memory
head_md=$work/headline.md   # one row per data set: the headline score
target_md=$work/targets.md  # issue targets
: >"$md"
: >"$scale_md"
: >"$head_md"
: >"$target_md"
mdl() { echo "$@" >>"$md"; }
rm -f "$work/marked"
# the "*" mark of the last measurement (prints it; remembers that there was one, also from $(...))
m_last() { local m; m=$(mark "$OTHER" "$T"); [ -z "$m" ] || : >"$work/marked"; printf '%s' "$m"; }
# a ratio cell: "2.0x", or "-"
xr() { if [ "$1" = "-" ] || [ -z "$1" ]; then printf -- '-'; else printf '%sx' "$1"; fi; }

# ---- one data set --------------------------------------------------------------------------------
bench_data() { # name library.msp queries.msp truth-kind truth-file brute-queries
  local name=$1 lib_msp=$2 q_msp=$3 tkind=$4 tfile=$5 nsub=$6
  local lib=$work/$name.h5 nqa nlibs npeaks s t r
  rm -f "$work/$name".h5.tmp.*
  # -- build
  say "[$name] npswatch build"
  timed "$work/build.out" "$npsw" build -o "$lib" --name "$name" "$lib_msp"
  local bt=$T brss=$RSS bmark; bmark=$(m_last)
  nlibs=$("$npsw" info "$lib" 2>/dev/null | awk -F': *' '$1 == "spectra" { print $2; exit }')
  npeaks=$("$npsw" info "$lib" 2>/dev/null | awk -F': *' '$1 == "peaks" { split($2, a, " "); print a[1]; exit }')
  [ -n "$nlibs" ] || nlibs=$(grep -c '^Name:' "$lib_msp")
  [ -n "$npeaks" ] || npeaks="-"
  row "$name" - build 1 "$nlibs" "$bt" "$brss" peak_rss_kb "$OTHER"
  row "$name" - library_peaks - - - "$npeaks" peaks -
  nqa=$(grep -c '^Name:' "$q_msp")
  { [ "$nsub" -eq 0 ] || [ "$nsub" -gt "$nqa" ]; } && nsub=$nqa
  row "$name" - queries - "$nqa" - "$nqa" queries -
  row "$name" - brute_subset - "$nsub" - "$nsub" queries -
  local one=$work/${name}_one.msp
  head_msp "$q_msp" 1 >"$one"
  # -- load time (in-library) and how the peaks are stored
  say "[$name] load time (npsw_load_time)"
  timed "$work/load.out" "$loadt" -l "$lib" --threads "$tmax" --label "$name" "$one"
  local lo lmark; lo=$(cat "$work/load.out"); lmark=$(m_last)
  local l_open l_first l_second l_ready l_rss_open l_rss_ready mzb inb raw fileb
  IFS=$'\t' read -r _ _ _ l_open l_first l_second l_ready l_rss_open l_rss_ready mzb inb raw _ fileb <<<"$lo"
  local raw_note=""
  if [ "$raw" = "-" ] && [ "$npeaks" != "-" ]; then # format without /spectra/mz: docs/format.md 1.2
    raw=$((npeaks * 12)); mzb=8; inb=4; raw_note=" (assumed 8 + 4 bytes per peak)"
  fi
  row "$name" - load_open "$tmax" - "$l_open" "$l_open" seconds "$OTHER"
  row "$name" - load_first_search "$tmax" 1 "$l_first" "$l_first" seconds "$OTHER"
  row "$name" - load_second_search "$tmax" 1 "$l_second" "$l_second" seconds "$OTHER"
  row "$name" - load_ready "$tmax" 1 "$l_ready" "$l_ready" seconds "$OTHER"
  row "$name" - load_rss_open "$tmax" - - "$l_rss_open" kb -
  row "$name" - load_rss_ready "$tmax" 1 - "$l_rss_ready" kb -
  row "$name" - raw_peak_data - - - "$raw" bytes -
  row "$name" - bytes_per_peak_mz_intensity - - - "$mzb+$inb" bytes -
  row "$name" - library_file - - - "$fileb" bytes -
  # -- whole process with one query (default score and threads)
  say "[$name] npswatch search, 1 query (whole process)"
  cli_search "$work/${name}_one.tsv" -l "$lib" "$one"
  local c1t=$T c1rss=$RSS c1mark; c1mark=$(m_last)
  row "$name" "${scores[0]}" cli_one_query default 1 "$c1t" "$c1rss" peak_rss_kb "$OTHER"
  local srss=$c1rss # search peak RSS: max over all `npswatch search` runs of this data set

  if [ "$scale_only" != 1 ]; then
  mdl ""
  mdl "### $name: $nlibs library spectra, $npeaks peaks, $nqa queries"
  mdl ""
  local h1="| score |" h2="|---|"
  for t in "${threads[@]}"; do h1+=" CLI ${t} thr |"; h2+="---|"; done
  for t in "${threads[@]}"; do h1+=" lib ${t} thr |"; h2+="---|"; done
  h1+=" lib ${tmax}/${tmin} thr | CLI ${tmax}/${tmin} thr |"; h2+="---|---|"
  [ "$simd_scalar" = 1 ] && { h1+=" lib ${tmax} thr, NPSW_SIMD=scalar | kernel / scalar |"; h2+="---|---|"; }
  h1+=" brute lib ${tmax} thr | indexed / brute |"; h2+="---|---|"
  [ $dense = 1 ] && { h1+=" indexed / dense BLAS |"; h2+="---|"; }
  mdl "$h1"
  mdl "$h2"
  local q_md=$work/quality.md
  : >"$q_md"
  echo "| score | candidates / library | scored / library | scored per query | exact: = brute force ($nsub queries) | same hits: threads, kernel | top-1 | top-5 | search peak RSS (CLI) |" >>"$q_md"
  echo "|---|---|---|---|---|---|---|---|---|" >>"$q_md"
  local -A lib_rate=()
  local speed_lines=() dense_rate="-" dense_line=""
  # dense first: its rate goes into every score's row
  if [ $dense = 1 ]; then
    local block need avail
    block=$(awk -v n="$nlibs" 'BEGIN { b = int(6.4e7 / n); print (b > 256 ? 256 : (b < 16 ? 16 : b)) }')
    need=$(awk -v n="$nlibs" -v b="$block" -v r="$raw" 'BEGIN { printf "%.0f", n * 1024 * 8 + b * n * 8 + 4 * r }')
    avail=$(awk '/^MemAvailable/ { printf "%.0f", $2 * 1024 * 0.8 }' /proc/meminfo)
    if [ "$need" -gt "$avail" ]; then
      say "[$name] dense baseline skipped: needs ~$(mib "$need" b) MiB, $(mib "$avail" b) MiB available"
      dense_line="Dense baseline: skipped (it would need ~$(mib "$need" b) MiB; $(mib "$avail" b) MiB available)."
    else
      say "[$name] dense OpenBLAS cosine baseline, $tmax threads"
      timed "$work/dense.out" "$blas" -l "$lib" --threads "$tmax" --block "$block" --check --label "$name" "$q_msp"
      local dl dmark; dl=$(cat "$work/dense.out"); dmark=$(m_last)
      dense_rate=$(line_rate "$dl")
      row "$name" cosine dense_blas "$tmax" "$nqa" "$(echo "$dl" | cut -f8)" "$dense_rate" queries_per_s "$OTHER"
      row "$name" cosine dense_blas_prep "$tmax" "$nqa" "$(echo "$dl" | cut -f10)" - seconds -
      row "$name" cosine dense_blas_peak_rss "$tmax" "$nqa" "$T" "$RSS" kb "$OTHER"
      row "$name" cosine dense_blas_top1_agree "$tmax" "$nqa" - "$(echo "$dl" | cut -f12)" queries -
      row "$name" cosine dense_blas_top5_agree "$tmax" "$nqa" - "$(echo "$dl" | cut -f13)" queries -
      dense_line="Dense baseline (bench/dense_blas.c: NIST-weighted cosine by \`cblas_dgemm\` over dense nominal-m/z vectors, OpenBLAS, $tmax threads, blocks of $block queries, in-library, all $nqa queries): **$(fmt "$dense_rate")$dmark q/s** (building the $nlibs x $(echo "$dl" | cut -f11) library matrix, excluded: $(fmt "$(echo "$dl" | cut -f10)") s; peak RSS $(mib "$RSS") MiB). Same top 1 as npswatch \`cosine\`: $(echo "$dl" | cut -f12) queries; same top-5 list: $(echo "$dl" | cut -f13). \"indexed / dense BLAS\" divides each score's lib ${tmax}-thread rate by this cosine rate: the dense baseline computes cosine only, so for the other scores it is the price of the simplest exhaustive method, not the same score."
    fi
  fi
  for s in "${scores[@]}"; do
    local line="| $s |" cli_cells="" lib_cells="" first_out="" ident_thr=yes sfrac="" cfrac="" sper=""
    local -A cli_r=() lr=()
    for t in "${threads[@]}"; do
      say "[$name] $s: npswatch search, $t thread(s), $nqa queries"
      cli_search "$work/${name}_${s}_t$t.tsv" -l "$lib" --score "$s" --threads "$t" "$q_msp"
      r=$(rate "$nqa" "$T")
      cli_r[$t]=$r
      row "$name" "$s" cli_indexed "$t" "$nqa" "$T" "$r" queries_per_s "$OTHER"
      row "$name" "$s" cli_peak_rss "$t" "$nqa" "$T" "$RSS" kb "$OTHER"
      srss=$(fmax "$srss" "$RSS")
      cli_cells+=" $(fmt "$r")$(m_last) |"
      if [ -z "$first_out" ]; then first_out=$work/${name}_${s}_t$t.tsv
      elif [ "$(same_tsv "$first_out" "$work/${name}_${s}_t$t.tsv")" = no ]; then ident_thr=no; fi
    done
    row "$name" "$s" identical_cli_across_threads - "$nqa" - "$ident_thr" yes/no -
    local first_dump="" ident_lib_thr=yes
    for t in "${threads[@]}"; do
      say "[$name] $s: npsw_search in-library, $t thread(s)"
      lib_search -l "$lib" --score "$s" --threads "$t" --label "$name" --min-time "$min_time" \
        --dump "$work/${name}_${s}_lib_t$t.hits" "$q_msp"
      r=$(line_rate "$L")
      lr[$t]=$r
      sfrac=$(field 13)
      cfrac=$(field 12)
      sper=$(field 11)
      row "$name" "$s" lib_indexed "$t" "$nqa" "$(field 8)" "$r" queries_per_s "$OTHER"
      row "$name" "$s" lib_timed_runs "$t" "$nqa" - "$(field 15)" runs -
      lib_cells+=" $(fmt "$r")$(m_last) |"
      if [ -z "$first_dump" ]; then first_dump=$work/${name}_${s}_lib_t$t.hits
      elif [ "$(same_file "$first_dump" "$work/${name}_${s}_lib_t$t.hits")" = no ]; then ident_lib_thr=no; fi
    done
    lib_rate[$s]=${lr[$tmax]}
    row "$name" "$s" scored_frac - "$nqa" - "$sfrac" fraction_of_library -
    row "$name" "$s" candidate_frac - "$nqa" - "$cfrac" fraction_of_library -
    row "$name" "$s" scored_per_query - "$nqa" - "$sper" spectra -
    row "$name" "$s" identical_lib_across_threads - "$nqa" - "$ident_lib_thr" yes/no -
    local thr_lib thr_cli
    thr_lib=$(ratio "${lr[$tmax]}" "${lr[$tmin]}")
    thr_cli=$(ratio "${cli_r[$tmax]}" "${cli_r[$tmin]}")
    [ "$tmax" = "$tmin" ] && { thr_lib="-"; thr_cli="-"; }
    row "$name" "$s" ratio_threads_lib "$tmax/$tmin" "$nqa" - "$thr_lib" x -
    row "$name" "$s" ratio_threads_cli "$tmax/$tmin" "$nqa" - "$thr_cli" x -
    row "$name" "$s" ratio_cli_lib "$tmax" "$nqa" - "$(ratio "${cli_r[$tmax]}" "${lr[$tmax]}")" x -
    line+="$cli_cells$lib_cells $(xr "$thr_lib") | $(xr "$thr_cli") |"
    # the same in-library measurement with the scalar kernel forced
    local ident_kernel="-" r_sc="-" k_ratio="-"
    if [ "$simd_scalar" = 1 ]; then
      say "[$name] $s: npsw_search in-library, $tmax thread(s), NPSW_SIMD=scalar"
      LIB_ENV=(NPSW_SIMD=scalar)
      lib_search -l "$lib" --score "$s" --threads "$tmax" --label "$name" --min-time "$min_time" \
        --dump "$work/${name}_${s}_lib_scalar.hits" "$q_msp"
      LIB_ENV=()
      r_sc=$(line_rate "$L")
      local msc; msc=$(m_last)
      k_ratio=$(ratio "${lr[$tmax]}" "$r_sc")
      ident_kernel=$(same_file "$work/${name}_${s}_lib_t$tmax.hits" "$work/${name}_${s}_lib_scalar.hits")
      row "$name" "$s" lib_indexed_simd_scalar "$tmax" "$nqa" "$(field 8)" "$r_sc" queries_per_s "$OTHER"
      row "$name" "$s" ratio_kernel_scalar "$tmax" "$nqa" - "$k_ratio" x -
      row "$name" "$s" identical_lib_kernel_scalar "$tmax" "$nqa" - "$ident_kernel" yes/no -
      line+=" $(fmt "$r_sc")$msc | $(xr "$k_ratio") |"
    fi
    # brute force and exactness on the subset: indexed then brute in one process, hit lists compared
    say "[$name] $s: brute force and exactness, $nsub queries, $tmax threads"
    lib_search -l "$lib" --score "$s" --threads "$tmax" --mode both --max-queries "$nsub" \
      --min-time "$min_time" --label "$name" "$q_msp"
    local l_idx l_bru bi bb ident_lib blib mbl
    mbl=$(m_last)
    l_idx=$(echo "$L" | sed -n 1p)
    l_bru=$(echo "$L" | sed -n 2p)
    bi=$(echo "$l_idx" | cut -f8)
    bb=$(echo "$l_bru" | cut -f8)
    ident_lib=$(echo "$l_bru" | cut -f14)
    blib=$(line_rate "$l_bru")
    local rb; rb=$(ratio "${lr[$tmax]}" "$blib")
    row "$name" "$s" lib_indexed_subset "$tmax" "$nsub" "$bi" "$(line_rate "$l_idx")" queries_per_s "$OTHER"
    row "$name" "$s" lib_brute "$tmax" "$nsub" "$bb" "$blib" queries_per_s "$OTHER"
    row "$name" "$s" ratio_indexed_brute "$tmax" "$nqa/$nsub" - "$rb" x -
    row "$name" "$s" ratio_indexed_brute_same_queries "$tmax" "$nsub" - "$(ratio "$bb" "$bi")" x -
    row "$name" "$s" identical_lib "$tmax" "$nsub" - "$ident_lib" yes/no -
    [ "$ident_lib" = no ] && say "[$name] $s: INDEXED AND BRUTE-FORCE HIT LISTS DIFFER (npsw_search_stats)"
    line+=" $(fmt "$blib")$mbl | $(xr "$rb") |"
    if [ $dense = 1 ]; then
      local rd; rd=$(ratio "${lr[$tmax]}" "$dense_rate")
      row "$name" "$s" ratio_indexed_dense_blas "$tmax" "$nqa" - "$rd" x -
      line+=" $(xr "$rd") |"
    fi
    speed_lines+=("$line")
    # accuracy, from the full indexed run with the most threads
    local rec t1 t5
    rec=$(recall_of "$work/${name}_${s}_t$tmax.tsv" "$tkind" "$tfile" "$q_msp")
    t1=${rec% *}
    t5=${rec#* }
    row "$name" "$s" top1 - "$nqa" - "$t1" fraction -
    row "$name" "$s" top5 - "$nqa" - "$t5" fraction -
    local same="CLI $ident_thr, lib $ident_lib_thr"
    [ "$simd_scalar" = 1 ] && same+=", scalar $ident_kernel"
    local srss_s
    srss_s=$(awk -F'\t' -v d="$name" -v s="$s" '$1 == d && $2 == s && $3 == "cli_peak_rss" && $7 + 0 > m { m = $7 } END { print m + 0 }' "$tsv")
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s MiB |\n' "$s" \
      "$(awk -v x="$cfrac" 'BEGIN { printf "%.4f", x }')" "$(awk -v x="$sfrac" 'BEGIN { printf "%.2e", x }')" \
      "$(fmt "$sper")" "$ident_lib" "$same" "$t1" "$t5" "$(mib "$srss_s")" >>"$q_md"
    if [ "$s" = "${scores[0]}" ]; then
      head_row=$(printf '| %s | %s (%s) | %s | %s | %s | %s | %s | %s | %s | %s | %s |' "$name" "$nqa" "$nsub" \
        "$(fmt "${lr[$tmax]}")" "$(fmt "${cli_r[$tmax]}")" "$(xr "$thr_lib")" "$(xr "$k_ratio")" "$(xr "$rb")" \
        "$(xr "$( [ $dense = 1 ] && ratio "${lr[$tmax]}" "$dense_rate" || echo "-")")" \
        "$(awk -v x="$sfrac" 'BEGIN { printf "%.2e", x }')" "$ident_lib" "$same")
    fi
  done
  for line in "${speed_lines[@]}"; do mdl "$line"; done
  # contention during this data set: CPUs other processes kept busy, over its timed runs
  local busy
  busy=$(awk -F'\t' -v d="$name" '$1 == d && $9 != "-" && $9 != "" { n++; t += $9; if ($9 + 0 > m) m = $9 }
    END { if (n) printf "%.2f (max %.2f)", t / n, m; else printf "-" }' "$tsv")
  echo "$head_row $busy |" >>"$head_md"
  mdl ""
  mdl "Queries/s over the $nqa queries. CLI = the whole \`npswatch search\` process (library load, query parsing and cleaning, output); lib = \`npsw_search()\` only, in one process that opened the library and read the queries first (bench/search_stats.c; fastest of the runs that add up to ${min_time} s). ${tmax}/${tmin} thr: thread scaling (at most ${tmax}/${tmin} on $ncpu cores). kernel / scalar: lib ${tmax} thr with the kernel npswatch chose over the same run with NPSW_SIMD=scalar. Brute force: \`npsw_search_brute()\` (the scalar scorer on every library spectrum, no index) on the first $nsub queries, ${tmax} threads; indexed / brute = lib ${tmax}-thread rate / brute-force rate."
  mdl ""
  cat "$q_md" >>"$md"
  mdl ""
  mdl "candidates / library: library spectra sharing at least one peak with the query; scored / library: of the library, spectra fully scored after pruning (both per query, averaged); scored per query: their number. exact: the indexed and brute-force hit lists of the first $nsub queries are the same (indices, bit-identical scores; npsw_search_stats --mode both). same hits: the full hit lists do not change with the thread count (CLI: TSV outputs equal but for the utc_time line; lib: indices and scores bit for bit) nor with NPSW_SIMD=scalar. top-1/top-5: $( [ "$tkind" = truth ] && echo "the library spectrum a noisy query was copied from is at rank 1 / in the top 5 (unrelated queries left out)" || echo "recall by InChIKey first block (bench/recall.py)"). search peak RSS: the largest of this score's \`npswatch search\` processes."
  [ -n "$dense_line" ] && { mdl ""; mdl "$dense_line"; }
  fi
  row "$name" - search_peak_rss - - - "$srss" kb -
  local rss_ratio build_ratio
  rss_ratio=$(ratio "$(awk -v k="$srss" 'BEGIN { if (k == "-") print "-"; else print k * 1024 }')" "$raw")
  build_ratio=$(ratio "$(awk -v k="$brss" 'BEGIN { if (k == "-") print "-"; else print k * 1024 }')" "$raw")
  row "$name" - ratio_search_rss_raw - - - "$rss_ratio" x -
  row "$name" - ratio_build_rss_raw - - - "$build_ratio" x -
  printf '| %s | %s | %s | %s | %s%s | %s | %s | %s | %s | %s | %s | %s | %s%s | %s | %s |\n' "$name" "$nlibs" "$npeaks" \
    "$(mib "$raw" b)" "$(fmt "$bt")" "$bmark" "$(mib "$brss")" "$(xr "$build_ratio")" "$(mib "$fileb" b)" \
    "$(fmt "$l_open")$lmark" "$(fmt "$l_first")" "$(fmt "$l_second")" "$(fmt "$l_ready")" "$(fmt "$c1t")" "$c1mark" \
    "$(mib "$srss")" "$(xr "$rss_ratio")" >>"$scale_md"
  # issue targets that apply to this size
  if [ "$nlibs" = 1000000 ]; then
    echo "| \`npswatch build\` of 1,000,000 spectra <= 60 s | $name | $(fmt "$bt") s$bmark | $(awk -v x="$bt" 'BEGIN { print (x <= 60 ? "yes" : "no") }') |" >>"$target_md"
  fi
  if [ "$srss" != "-" ]; then
    echo "| search peak RSS <= 1.5 x raw peak data ($(mib "$raw" b) MiB$raw_note) | $name | $(mib "$srss") MiB = ${rss_ratio}x | $(awk -v x="$rss_ratio" 'BEGIN { print (x != "-" && x <= 1.5 ? "yes" : "no") }') |" >>"$target_md"
  fi
  if [ "$scale_only" != 1 ]; then
    local want=""
    [ "$nlibs" = 20000 ] && want=30000
    [ "$nlibs" = 1000000 ] && want=500
    if [ -n "$want" ]; then
      echo "| identity search >= $want q/s (${scores[0]}, lib, $tmax threads; ../shared/docs/targets.md) | $name | $(fmt "${lib_rate[${scores[0]}]}") q/s | $(awk -v x="${lib_rate[${scores[0]}]}" -v w="$want" 'BEGIN { print (x >= w ? "yes" : "no") }') |" >>"$target_md"
    fi
  fi
}

# ---- data sets ---------------------------------------------------------------------------------
for n in "${sizes[@]}"; do
  nq=$(queries_for "$n")
  nb=$(brute_for "$n" "$nq")
  say "generating synthetic data ($n spectra, $nq queries, seed $seed)"
  t0=$(now_ns)
  "$gen" --library "$n" --queries "$nq" --seed "$seed" -o "$work/syn$n"
  row "synthetic-$n" - generate 1 "$nq" "$(secs_since "$t0")" "$n" spectra -
  bench_data "synthetic-$n" "$work/syn${n}_library.msp" "$work/syn${n}_queries.msp" \
    truth "$work/syn${n}_truth.tsv" "$nb"
done
sw_lib=$data/swgdrug/swgdrug_v3.4.msp
sw_q=$data/massbank_ei/massbank_ei_dev_queries.msp
sw_pairs=$data/pairs/cross_source_dev.tsv
real_note=""
if [ "${BENCH_REAL:-1}" != 1 ]; then
  real_note="Real data (SWGDRUG 3.4 x MassBank EI): skipped (BENCH_REAL=0)."
elif [ -f "$sw_lib" ] && [ -f "$sw_q" ] && [ -f "$sw_pairs" ]; then
  bench_data swgdrug-3.4 "$sw_lib" "$sw_q" pairs "$sw_pairs" "${BENCH_BRUTE_QUERIES_REAL:-0}"
else
  say "SWGDRUG / MassBank data not found under $data: real-data part skipped"
  real_note="Real data (SWGDRUG 3.4 x MassBank EI): **skipped**, the files are not under $data (set NPSW_SHARED_DATA)."
fi

load_end=$(cut -d' ' -f1-3 /proc/loadavg)
run_min=$(awk -v s="$(( $(date +%s) - t_run0 ))" 'BEGIN { printf "%.1f", s / 60 }')
echo "# loadavg_end	$load_end" >>"$tsv"
echo "# run_minutes	$run_min" >>"$tsv"
echo "## npswatch search benchmark, $run_utc"
echo
echo "Machine: $ncpu CPUs (\`nproc\`), $cpu_model, $mem_gib GiB RAM; load average ${load_start} at the start, ${load_end} at the end"
echo "(anything above 0 means other work shared the CPUs: compare numbers within this run only)."
echo "Build: $git_rev${git_dirty:+ (uncommitted changes in: $git_dirty)}, Release, gcc $(gcc -dumpfullversion 2>/dev/null)."
echo "Search kernel (\`npswatch --version\`): **$kernel**; with NPSW_SIMD=scalar: $kernel_scalar.$( [ "$kernel" = "$kernel_scalar" ] && echo " The two are the same, so \"kernel / scalar\" below can only be ~1 (no SIMD kernel to compare, or NPSW_SIMD not honoured yet).")"
[ -n "$npsw_simd_was" ] && echo "NPSW_SIMD=$npsw_simd_was was set in the caller's environment and ignored (unset for every run but the scalar one)."
echo "Whole run: $run_min min. Threads: ${threads[*]}. Queries per data set: see each section; the first score (${scores[0]}) is the headline."
echo
echo "### Scale: build, load, memory"
echo
echo "| data | spectra | peaks | raw peak data (MiB) | build (s) | build peak RSS (MiB) | build RSS / raw | library file (MiB) | open (s) | first search, 1 query (s) | second search (s) | ready (s) | CLI 1 query (s) | search peak RSS (MiB) | search RSS / raw |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
cat "$scale_md"
echo
echo "raw peak data = peaks x (bytes of one m/z + one intensity as stored in the library file, read from its /spectra datasets: 8 + 4 in format 1.2). build: \`npswatch build\` wall time and peak RSS (whole process, MSP to .h5). open, first/second search, ready: bench/load_time.c in one process: \`npsw_lib_open()\`, then \`npsw_search()\` of one query ($tmax threads, ${scores[0]}) twice (the first call pays any one-time preparation; second ~ first means it is paid on every call); ready = open + first search. CLI 1 query: \`npswatch search\` of one query, whole process (start, load, search, output). search peak RSS: the largest peak RSS of all \`npswatch search\` processes of the data set (/usr/bin/time)."
if [ -s "$head_md" ]; then
  echo
  echo "### Headline: default score ${scores[0]}"
  echo
  echo "| data | queries (brute, exact) | lib $tmax thr (q/s) | CLI $tmax thr (q/s) | $tmax/$tmin thr (lib) | kernel / scalar | indexed / brute | indexed / dense BLAS | scored / library | exact | same hits | other CPUs busy, mean |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  cat "$head_md"
  echo
  echo "Columns as in the per-data-set tables below (queries: all / brute-force and exactness subset). other CPUs busy: CPUs that other processes used meanwhile, averaged over the data set's timed runs (0 = an idle machine; from ~0.25 the ${tmax}-thread figures and the ratios made from them are unreliable)."
fi
if [ -s "$target_md" ]; then
  echo
  echo "### Targets (issue 4 and ../shared/docs/targets.md)"
  echo
  echo "| target | data | measured | met |"
  echo "|---|---|---|---|"
  cat "$target_md"
fi
cat "$md"
[ -n "$real_note" ] && { echo; echo "$real_note"; }
[ $dense = 1 ] || [ "$scale_only" = 1 ] || { echo; echo "Dense OpenBLAS baseline: skipped ($( [ "${BENCH_DENSE:-1}" = 1 ] && echo "libopenblas-dev not installed" || echo "BENCH_DENSE=0"))."; }
[ $gnutime = 1 ] || { echo; echo "Peak RSS not measured: /usr/bin/time (Debian package time) is missing; times from bash."; }
[ -f "$work/marked" ] && { echo; echo "\\* other processes kept at least a quarter of a CPU busy during this measurement (TSV column other_cpus; runs shorter than 0.5 s are not marked): its figures, and ratios made from them, are unreliable."; }
echo
echo "All numbers: ${tsv#"$root"/}"
say "done in $run_min min: ${tsv#"$root"/}"
