#!/bin/bash
# test_cli_advisory_golden.sh - golden Markdown: the demo's early-warning loop on bundled data
# (spectra_db/data/examples/lab_a.msp, lab_b.msp, lab_c.msp submitted by three laboratories against
# the bundled library) must produce exactly the reviewed advisory in
# tests/data/golden/advisory_demo.md, after dates and times (real submission clock) are replaced
# by <DATE>. A change in the analysis, the clustering or the rendering shows up here as a diff to
# review; regenerate the golden file only after reading that diff.
#
# Usage: bash test_cli_advisory_golden.sh NPSWATCH_BINARY SCRATCH_DIR
set -u
BIN=${1:?usage: test_cli_advisory_golden.sh NPSWATCH_BINARY SCRATCH_DIR}
S=${2:?usage: test_cli_advisory_golden.sh NPSWATCH_BINARY SCRATCH_DIR}
case "$BIN" in /*) ;; */*) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "FAIL: $BIN is not an executable"; exit 1; }
SRC=${NPSW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
D=$SRC/spectra_db/data
GOLDEN=$SRC/tests/data/golden/advisory_demo.md
[ -f "$GOLDEN" ] || { echo "FAIL: golden file $GOLDEN missing"; exit 1; }
rm -rf "$S" && mkdir -p "$S" || { echo "FAIL: cannot create scratch dir $S"; exit 1; }
cd "$S" || exit 1
unset SOURCE_DATE_EPOCH
step() { "$@" >>log.out 2>>log.err || { echo "FAIL: $* exited $?"; sed 's/^/    /' log.err | tail -20; exit 1; }; }

step "$BIN" build -o lib.h5 --name "SWGDRUG 3.4 DEA subset" --lib-version 3.4-dea.2 "$D/swgdrug_3.4_dea.msp"
step "$BIN" ledger init hub.db
step "$BIN" lab add hub.db --name "Lab A" --country DE
step "$BIN" lab add hub.db --name "Lab B" --country NL
step "$BIN" lab add hub.db --name "Lab C" --country FR
for x in A B C; do
    step "$BIN" submit --ledger hub.db --lab "Lab $x" -l lib.h5 -o "res_$x.tsv" "$D/examples/lab_$(echo $x | tr A-Z a-z).msp"
done
step "$BIN" signals --ledger hub.db -o signals.tsv
step "$BIN" advise --ledger hub.db --signal 1 -l lib.h5 -o adv
norm() { sed -E 's/[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}:[0-9]{2}Z)?/<DATE>/g' "$1"; }
if ! diff -u <(norm "$GOLDEN") <(norm adv/advisory.md) >golden.diff; then
    echo "FAIL: advisory.md differs from $GOLDEN (dates normalised):"
    head -60 golden.diff
    exit 1
fi
grep -q "Lab A\|Lab B\|Lab C" adv/advisory.md && { echo "FAIL: a laboratory name appears in advisory.md"; exit 1; }
echo "PASS: test_cli_advisory_golden"
