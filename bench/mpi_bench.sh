#!/usr/bin/env bash
# Scaling of npswatch-mpi (docs/mpi.md, "Measured scaling") on a SYNTHETIC library made by
# npsw_gen_synthetic (not real spectra): npswatch search / analogues in one process against
# npswatch-mpi with 1..MPI_BENCH_MAX_RANKS ranks (ranks beyond the core count are oversubscribed:
# correctness only, their times say nothing about scaling). Every distributed output is compared
# byte for byte with the single process's. Reports wall time, speed-up, the phases measured by
# NPSW_MPI_STATS=1 (largest over the ranks), the list bytes gathered, and each rank's peak memory.
#
#   bash bench/mpi_bench.sh                     # 200,000 spectra, 400 + 100 queries, 1..4 ranks
#   MPI_BENCH_N=1000000 bash bench/mpi_bench.sh # larger
#
# Environment: MPI_BENCH_N (library spectra, 200000), MPI_BENCH_Q (search queries, 400),
# MPI_BENCH_QA (analogue queries, 100), MPI_BENCH_K (search k, 10), MPI_BENCH_MAX_RANKS (4),
# MPI_BENCH_THREADS (threads per rank, 1), MPI_BENCH_CMDS ("search analogues"),
# BUILD (build directory, build-bench),
# MPI_BENCH_DIR (work directory, out/mpi_bench). Results: bench/results/mpi_<UTC time>.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${MPI_BENCH_N:-200000} Q=${MPI_BENCH_Q:-400} QA=${MPI_BENCH_QA:-100} K=${MPI_BENCH_K:-10}
MAXR=${MPI_BENCH_MAX_RANKS:-4} TH=${MPI_BENCH_THREADS:-1}
build=${BUILD:-build-bench} dir=${MPI_BENCH_DIR:-out/mpi_bench}
cores=$(nproc)
bash tools/install-deps.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j2 --target npswatch npswatch-mpi npsw_gen_synthetic >/dev/null
NPSW=$build/tools/npswatch MPIBIN=$build/tools/npswatch-mpi GEN=$build/bench/npsw_gen_synthetic
[ -x "$MPIBIN" ] || { echo "npswatch-mpi was not built (MPI not found)"; exit 1; }
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1 OMPI_MCA_btl_vader_single_copy_mechanism=none
export SOURCE_DATE_EPOCH=1767225600
mkdir -p "$dir" bench/results
out=bench/results/mpi_$(date -u +%Y%m%dT%H%M%SZ).tsv
lib=$dir/syn_$N.h5

echo "# npswatch-mpi scaling, $(date -u +%FT%TZ), $(git rev-parse --short HEAD 2>/dev/null), $cores cores, load $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$out"
if [ ! -f "$lib" ]; then
    "$GEN" --library "$N" --queries "$Q" --seed 8 -o "$dir/syn_$N" >/dev/null
    /usr/bin/time -f "%e %M" -o "$dir/build.time" "$NPSW" build -o "$lib" --name "synthetic $N" \
        --lib-version 1 "$dir/syn_${N}_library.msp" 2>/dev/null
    read -r bt bm <"$dir/build.time"
    echo "# build: $bt s, peak $bm kB" | tee -a "$out"
fi
awk -v q="$QA" 'BEGIN{RS="";ORS="\n\n"} NR<=q' "$dir/syn_${N}_queries.msp" >"$dir/qa.msp"
bytes=$(stat -c %s "$lib")
npeaks=$("$NPSW" info "$lib" 2>/dev/null | awk '/^peaks:/ {print $2}')
echo "# library: $N spectra, ${npeaks:-?} peaks, file $bytes bytes ($((bytes / N)) bytes/spectrum)" | tee -a "$out"
printf 'command\tranks\tthreads_per_rank\tqueries\twall_s\tspeedup\tsame_output\tpeak_rss_kb_per_rank\tcpu_s_per_rank\tphases\n' | tee -a "$out"

bench_cmd() { # CMD QUERYFILE NQ [options]
    local cmd=$1 qf=$2 nq=$3; shift 3
    /usr/bin/time -f "%e %M %U %S" -o "$dir/single.time" "$NPSW" "$cmd" -l "$lib" --threads "$TH" "$@" "$qf" \
        >"$dir/single.out" 2>/dev/null
    local st sm su ss; read -r st sm su ss <"$dir/single.time"
    printf '%s\t0\t%s\t%s\t%s\t1.00\tref\t%s\t%.2f\tsingle process (npswatch)\n' "$cmd" "$TH" "$nq" "$st" "$sm" \
        "$(echo "$su + $ss" | bc -l)" | tee -a "$out"
    for n in $(seq 1 "$MAXR"); do
        local over=""; [ "$n" -gt "$cores" ] && over=" (oversubscribed: correctness only)"
        /usr/bin/time -f "%e" -o "$dir/mpi.time" env NPSW_MPI_STATS=1 mpirun -n "$n" --oversubscribe \
            "$MPIBIN" "$cmd" -l "$lib" --threads "$TH" "$@" "$qf" >"$dir/mpi.out" 2>"$dir/mpi.err"
        local mt; mt=$(cat "$dir/mpi.time")
        local same=no; cmp -s "$dir/single.out" "$dir/mpi.out" && same=yes
        local rss; rss=$(grep -o 'peak_rss_kb=[0-9]*' "$dir/mpi.err" | cut -d= -f2 | paste -sd, -)
        local cpu; cpu=$(grep -o 'cpu_s=[0-9.]*' "$dir/mpi.err" | cut -d= -f2 | paste -sd, -)
        local ph; ph=$(grep 'stats: ranks' "$dir/mpi.err" | sed 's/.*ranks=[0-9]* //')
        printf '%s\t%s\t%s\t%s\t%s\t%.2f\t%s\t%s\t%s\t%s%s\n' "$cmd" "$n" "$TH" "$nq" "$mt" \
            "$(echo "$st / $mt" | bc -l)" "$same" "$rss" "$cpu" "$ph" "$over" | tee -a "$out"
        [ "$same" = yes ] || echo "!! output of $n ranks differs from the single process" | tee -a "$out"
    done
}
for c in ${MPI_BENCH_CMDS:-search analogues}; do
    case $c in
    search) bench_cmd search "$dir/syn_${N}_queries.msp" "$Q" -k "$K" ;;
    analogues) bench_cmd analogues "$dir/qa.msp" "$QA" ;;
    esac
done
echo "results: $out"
