#!/usr/bin/env bash
# npswatch-mpi against npswatch, byte for byte (docs/mpi.md): `mpirun -n 1..4 --oversubscribe`
# on the bundled SWGDRUG DEA library with the bundled real example queries, every output format,
# several option sets, an accurate-mass library, a library with fewer spectra than ranks, the
# full SWGDRUG 3.4 library with real MassBank EI queries (when ../shared/data is present), and
# the documented error paths (one message, the right exit code, no output file left).
#
# Usage: test_mpi.sh NPSWATCH NPSWATCH_MPI MPIEXEC SCRATCH_DIR
# The outputs are compared with SOURCE_DATE_EPOCH set (utc_time, the one run-record field that
# differs between two runs, is then fixed) and once without it, masking utc_time only.
set -u
NPSW=$1 MPIBIN=$2 MPIEXEC=$3 T=$4
SRC=${NPSW_SOURCE_DIR:?NPSW_SOURCE_DIR not set}
DATA=$SRC/spectra_db/data
SHARED=${NPSW_SHARED_DATA:-$SRC/../shared/data}
rm -rf "$T" && mkdir -p "$T" || exit 1
fails=0 checks=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { checks=$((checks + 1)); }

if [ ! -x "$MPIEXEC" ]; then
    echo "SKIP: no mpiexec at '$MPIEXEC' (install openmpi-bin: tools/install-deps.sh)"
    exit 77
fi
# OpenMPI refuses root unless told; CI runs as root. One machine: shared memory and self only
# (no probing of network transports: half the start-up time); the single-copy mechanism (CMA)
# needs ptrace rights that containers often lack, so plain copies.
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
export OMPI_MCA_btl=self,vader OMPI_MCA_pml=ob1 OMPI_MCA_btl_vader_single_copy_mechanism=none
# every mpirun is bounded in time (a hung collective must fail the test, not stall CI)
run_mpi() { local n=$1; shift; timeout 120 "$MPIEXEC" -n "$n" --oversubscribe "$MPIBIN" "$@"; }

# The sanitizer build: AddressSanitizer and UndefinedBehaviorSanitizer check every run, but
# leak checking is off here: OpenMPI keeps thousands of allocations until exit, made from
# components it has unloaded by then ("<unknown module>" frames no suppression can name), and
# symbolising them takes minutes. npswatch's own code on this path is leak-checked elsewhere:
# the library parts and the split analysis in unit.test_libpart, the option parsing and output
# code in the cli.* tests (the same code, linked into npswatch).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"

Q="$DATA/examples/example_queries.msp $DATA/examples/emerging.msp $DATA/examples/lab_a.msp $DATA/examples/lab_b.msp $DATA/examples/lab_c.msp"
export SOURCE_DATE_EPOCH=1767225600
"$NPSW" build -o "$T/dea.h5" --name "SWGDRUG DEA subset" --lib-version 3.4 "$DATA/swgdrug_3.4_dea.msp" 2>/dev/null ||
    { echo "FAIL: cannot build the bundled library"; exit 1; }

# same CMD ARGS...: npswatch CMD and npswatch-mpi CMD with 1..4 ranks (or $RANKS) give the same
# stdout bytes and exit code; the reference must have output (a comparison of nothing proves
# nothing).
same() {
    local cmd=$1; shift
    local ref="$T/ref.out" got="$T/got.out"
    "$NPSW" "$cmd" "$@" >"$ref" 2>"$T/ref.err"
    local rrc=$?
    if [ $rrc -ne 0 ] || [ ! -s "$ref" ]; then fail "npswatch $cmd $* (exit $rrc, no output)"; return; fi
    for n in ${RANKS:-1 2 3 4}; do
        run_mpi "$n" "$cmd" --threads 1 "$@" >"$got" 2>"$T/got.err"
        local grc=$?
        if [ $grc -ne 0 ]; then fail "npswatch-mpi -n $n $cmd $*: exit $grc"; cat "$T/got.err"; continue; fi
        if cmp -s "$ref" "$got"; then pass; else
            fail "npswatch-mpi -n $n $cmd $*: output differs"; diff "$ref" "$got" | head -5
        fi
    done
}

# --- search and analogues, every format, 1..4 ranks ------------------------------------------
same search -l "$T/dea.h5" $Q
same analogues -l "$T/dea.h5" $Q
RANKS="3"
same search -l "$T/dea.h5" --format json $Q
same search -l "$T/dea.h5" --format nist $Q
same analogues -l "$T/dea.h5" --format json $Q
# the queries must have hits and analyses of every kind, else the comparison is weak
"$NPSW" analogues -l "$T/dea.h5" $Q 2>/dev/null >"$T/kinds.tsv"
for v in in_library analogue; do
    grep -q "	$v	" "$T/kinds.tsv" && pass || fail "bundled queries: no '$v' verdict to compare"
done

# --- option sets (3 ranks: uneven shards) ----------------------------------------------------
RANKS=3
same search -l "$T/dea.h5" -k 1 --score mf $Q
same search -l "$T/dea.h5" -k 40 --score entropy --min-matched 3 --format json $Q
same search -l "$T/dea.h5" -k 12 --score cosine --brute-force $Q
same search -l "$T/dea.h5" -k 8 --score rmf --weights 1994 --mz-range all --format nist $Q
same analogues -l "$T/dea.h5" -k 12 --max-delta 60 --n-mion 3 --format json $Q
same analogues -l "$T/dea.h5" -k 1 $Q

# --- many batches (NPSW_MPI_BATCH): lists gathered and merged batch by batch -----------------
export NPSW_MPI_BATCH=4
same search -l "$T/dea.h5" -k 6 --format json $Q
same analogues -l "$T/dea.h5" --format json $Q
unset NPSW_MPI_BATCH

# --- output to a file (atomic, as npswatch) --------------------------------------------------
"$NPSW" search -l "$T/dea.h5" -o "$T/ref_file.tsv" $Q 2>/dev/null
run_mpi 2 search --threads 1 -l "$T/dea.h5" -o "$T/mpi_file.tsv" $Q 2>/dev/null
cmp -s "$T/ref_file.tsv" "$T/mpi_file.tsv" && pass || fail "-o FILE differs"
ls "$T" | grep -q '\.tmp\.' && fail "temporary output file left behind" || pass

# --- without SOURCE_DATE_EPOCH: only utc_time may differ -------------------------------------
(unset SOURCE_DATE_EPOCH
 "$NPSW" analogues -l "$T/dea.h5" --format json $Q 2>/dev/null >"$T/t1.json"
 run_mpi 2 analogues --threads 1 -l "$T/dea.h5" --format json $Q 2>/dev/null >"$T/t2.json")
sed 's/"utc_time":"[^"]*"/"utc_time":"masked"/' "$T/t1.json" >"$T/t1m.json"
sed 's/"utc_time":"[^"]*"/"utc_time":"masked"/' "$T/t2.json" >"$T/t2m.json"
if [ -s "$T/t1m.json" ] && cmp -s "$T/t1m.json" "$T/t2m.json" && grep -q '"utc_time":"masked"' "$T/t1m.json"; then
    pass; else fail "json output differs beyond utc_time"; fi

# --- more ranks than spectra: empty shards ---------------------------------------------------
awk 'BEGIN{RS="";ORS="\n\n"} NR<=3' "$DATA/swgdrug_3.4_dea.msp" >"$T/three.msp"
"$NPSW" build -o "$T/three.h5" --name three --lib-version 1 "$T/three.msp" 2>/dev/null
RANKS="4"
same search -l "$T/three.h5" -k 5 $Q
same analogues -l "$T/three.h5" --format json $Q

# --- an accurate-mass library (synthetic MS/MS-like spectra, tests/data) ---------------------
MGF=$SRC/tests/data/mgf/synthetic_library.mgf
"$NPSW" build --accurate -o "$T/acc.h5" --name acc --lib-version 1 "$MGF" 2>/dev/null &&
    { RANKS="3"; same search -l "$T/acc.h5" --tol-da 0.005 "$MGF"; same analogues -l "$T/acc.h5" --format json "$MGF"; } ||
    fail "cannot build the accurate-mass library"

# --- the full SWGDRUG 3.4 with real MassBank EI queries (shared data) -------------------------
if [ -f "$SHARED/swgdrug/swgdrug_v3.4.msp" ] && [ -f "$SHARED/massbank_ei/massbank_ei_dev_queries.msp" ]; then
    "$NPSW" build -o "$T/full.h5" --name SWGDRUG --lib-version 3.4 "$SHARED/swgdrug/swgdrug_v3.4.msp" 2>/dev/null
    MB=$SHARED/massbank_ei/massbank_ei_dev_queries.msp
    awk 'BEGIN{RS="";ORS="\n\n"} NR<=40' "$MB" >"$T/mb40.msp"
    RANKS="4"; same search -l "$T/full.h5" -k 10 "$MB"
    RANKS="3"; same analogues -l "$T/full.h5" --format json "$T/mb40.msp"
else
    echo "note: $SHARED absent: the full-library comparison was not run"
fi

# --- errors: one message, npswatch's exit code, nothing written ------------------------------
err_case() { # expected-exit grep-pattern ARGS...
    local want=$1 pat=$2; shift 2
    run_mpi 2 "$@" >"$T/e.out" 2>"$T/e.err"
    local rc=$?
    [ $rc -eq "$want" ] && pass || fail "npswatch-mpi $*: exit $rc, expected $want"
    local hits; hits=$(grep -c -- "$pat" "$T/e.err")
    [ "$hits" -eq 1 ] && pass || { fail "npswatch-mpi $*: '$pat' printed $hits times, expected once"; cat "$T/e.err"; }
    [ -s "$T/e.out" ] && fail "npswatch-mpi $*: wrote to stdout on failure" || pass
}
err_case 1 "cannot open" search -l "$T/missing.h5" $Q
err_case 1 "cannot open" analogues -l "$T/dea.h5" "$T/missing.msp"
err_case 1 "expects a whole number" search -l "$T/dea.h5" -k 0 $Q
err_case 1 "Usage: npswatch-mpi search" search -l "$T/dea.h5" -k 0 $Q
err_case 1 "unknown command" frobnicate
err_case 1 "is a directory" search -l "$T/dea.h5" -o "$T" $Q
head -c 3000 "$T/dea.h5" >"$T/truncated.h5"
err_case 1 "truncated" search -l "$T/truncated.h5" $Q
printf 'not a library\n' >"$T/text.h5"
err_case 1 "not an HDF5 file" analogues -l "$T/text.h5" $Q
# a failed run leaves an existing output file as it was
printf 'keep me\n' >"$T/keep.tsv"
run_mpi 2 search -l "$T/dea.h5" -o "$T/keep.tsv" "$T/missing.msp" >/dev/null 2>&1
[ "$(cat "$T/keep.tsv")" = "keep me" ] && pass || fail "a failed run changed the existing output file"
run_mpi 2 --help >"$T/help.out" 2>&1 && grep -q "docs/mpi.md" "$T/help.out" && pass || fail "--help"
# a subcommand's help: exit 0, printed once (not once per rank), with the MPI note
run_mpi 3 analogues --help >"$T/help.out" 2>&1 && [ "$(grep -c '^Usage: npswatch-mpi analogues' "$T/help.out")" -eq 1 ] &&
    grep -q "Run under mpirun" "$T/help.out" && pass || fail "analogues --help: not printed exactly once"

echo "npswatch-mpi: $checks checks passed, $fails failed"
[ $fails -eq 0 ]
