#!/usr/bin/env bash
# The main job on the bundled data: install dependencies, build npswatch, build the default
# reference library (SWGDRUG 3.4 DEA subset), search the bundled example spectra, print the hits
# and the unknown-analogue analysis.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
mkdir -p out
./build/tools/npswatch --version
./build/tools/npswatch build -o out/default.h5 --name "SWGDRUG 3.4 DEA subset" \
    --lib-version 3.4-dea.2 spectra_db/data/swgdrug_3.4_dea.msp
./build/tools/npswatch info out/default.h5 | head -12
./build/tools/npswatch search -l out/default.h5 -k 5 --format nist \
    spectra_db/data/examples/example_queries.msp
./build/tools/npswatch search -l out/default.h5 -k 5 -o out/example_hits.tsv \
    spectra_db/data/examples/example_queries.msp
echo "npswatch: hit table written to out/example_hits.tsv (TSV with the run record)" >&2
# unknown-analogue analysis: verdict, nearest relative, mass difference, substituents, class
./build/tools/npswatch analogues -l out/default.h5 -o out/example_analogues.tsv \
    spectra_db/data/examples/example_queries.msp
grep -v '^#' out/example_analogues.tsv | cut -f2,5,6,10,17,23,25,26
echo "npswatch: analogue table written to out/example_analogues.tsv" >&2
# a mirror plot (PNG, 300 dpi) of the first example against its best hit
./build/tools/npswatch plot -l out/default.h5 --query spectra_db/data/examples/example_queries.msp \
    -o out/example_mirror.png
echo "npswatch: mirror plot written to out/example_mirror.png" >&2

# ---- the early-warning loop on bundled data (docs/ledger.md, docs/signals.md, docs/advisory.md):
# three laboratories submit batches that include real spectra of substances withheld from the
# bundled library (spectra_db/data/examples/lab_*.msp), a signal appears, an advisory with its
# figures is written, a curator accepts it, and the same spectra now match the new library version.
N=./build/tools/npswatch
rm -rf out/ledger.db out/ledger.db-wal out/ledger.db-shm out/advisory out/default-adv1.h5 out/tokens.txt
$N ledger init out/ledger.db
for lab in "Lab A:DE" "Lab B:NL" "Lab C:FR"; do
    $N lab add out/ledger.db --name "${lab%%:*}" --country "${lab##*:}" >>out/tokens.txt
done
$N lab add out/ledger.db --name "Hub curator" --country AT --role curator >>out/tokens.txt
echo "npswatch: laboratory tokens (shown once) kept in out/tokens.txt" >&2
for x in a b c; do
    $N submit --ledger out/ledger.db --lab "Lab $(echo $x | tr a-z A-Z)" -l out/default.h5 \
        -o out/lab_${x}_results.tsv spectra_db/data/examples/lab_$x.msp
done
echo "== signals (counts and countries only; seen by at least 2 laboratories) ==" >&2
$N signals --ledger out/ledger.db -o out/signals.tsv
grep -v '^#' out/signals.tsv | cut -f1-8
sig=$(grep -v '^#' out/signals.tsv | awk -F'\t' 'NR == 2 { print $1 }')
$N advise --ledger out/ledger.db --signal "$sig" -l out/default.h5 -o out/advisory
echo "npswatch: advisory written to out/advisory/ (advisory.json, advisory.md, mirror.png, timeline.png)" >&2
adv=$(python3 -c 'import json; print(json.load(open("out/advisory/advisory.json"))["advisory"]["key"])')
$N curate --ledger out/ledger.db accept "$adv" --name "Fluorofentanyl (ring position not determined)" \
    --class fentanyl --actor "Hub curator" -l out/default.h5 -o out/default-adv1.h5
$N info out/default-adv1.h5 | grep -E "^lineage|^  [0-9]+\. version"
echo "== what the new version changed (npswatch diff) ==" >&2
$N diff out/default.h5 out/default-adv1.h5 -o out/library_diff.txt
sed -n '/^relation:/,$p' out/library_diff.txt | head -24
echo "== the withheld spectra against the new library version (rank 1) ==" >&2
$N search -l out/default-adv1.h5 -k 1 spectra_db/data/examples/emerging.msp | grep -v '^#' | cut -f2,7,12,13
$N audit verify out/ledger.db
