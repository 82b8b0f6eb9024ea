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
    --lib-version 3.4-dea.1 spectra_db/data/swgdrug_3.4_dea.msp
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
