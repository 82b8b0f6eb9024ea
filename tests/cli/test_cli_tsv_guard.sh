#!/bin/bash
# test_cli_tsv_guard.sh - TSV tables guard contributed text against spreadsheet formulas ("CSV
# injection", docs/cli.md "Output"): a name, class, accession, library name or file name that
# starts with =, +, - or @ gets a leading apostrophe in TSV, while JSON keeps it as it is and
# computed text (substituent labels such as "+CH2") is not touched.
# The spectra are SYNTHETIC (written below); their names are the attack strings.
#
# Usage: bash test_cli_tsv_guard.sh NPSWATCH_BINARY SCRATCH_DIR
set -u
BIN=${1:?usage: test_cli_tsv_guard.sh NPSWATCH_BINARY SCRATCH_DIR}
S=${2:?usage: test_cli_tsv_guard.sh NPSWATCH_BINARY SCRATCH_DIR}
case "$BIN" in /*) ;; */*) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "FAIL: $BIN is not an executable"; exit 1; }
rm -rf "$S" && mkdir -p "$S" || { echo "FAIL: cannot create scratch dir $S"; exit 1; }
cd "$S" || exit 1
command -v python3 >/dev/null || { echo "skipped: python3 is needed to read the JSON output"; exit 77; }

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

cat >lib.msp <<'EOF'
Name: =HYPERLINK("http://example.invalid/x","click")
DB#: @evil-1
Comments: synthetic test record
Num Peaks: 4
41 100
55 999
77 300
105 200

Name: -Synthetic B
DB#: +evil-2
Comments: synthetic test record
Num Peaks: 3
43 999
58 400
91 150

Name: Plain Synthetic C
DB#: plain-3
Comments: synthetic test record
Num Peaks: 3
44 999
72 500
120 80
EOF
# queries: copies of the three records, one of them named with a formula
sed -e 's/^Name: Plain Synthetic C/Name: +SUM(1,1)/' lib.msp >'=queries.msp'

"$BIN" build -o L.h5 --name '=evil library' --lib-version '@1' lib.msp >b.out 2>b.err ||
    { fail "build failed"; cat b.err >&2; exit 1; }
"$BIN" search -l L.h5 -k 1 --format tsv -o hits.tsv '=queries.msp' 2>s.err ||
    { fail "search (tsv) failed"; cat s.err >&2; }
"$BIN" search -l L.h5 -k 1 --format json -o hits.json '=queries.msp' 2>s2.err ||
    { fail "search (json) failed"; cat s2.err >&2; }

# every TSV cell: none may start with = + - @ unless it is a number
python3 - hits.tsv <<'EOF' || fail "a TSV cell starts with a formula character (see above)"
import re, sys
bad = 0
for ln, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    cells = line.rstrip("\n").split("\t")
    if line.startswith("# "):
        cells = cells[1:]                      # the value cells of the run record
    for c in cells:
        if c and c[0] in "=+-@" and not re.fullmatch(r"[+-]?[0-9.]+(e[+-]?[0-9]+)?", c):
            print(f"hits.tsv:{ln}: unguarded cell {c!r}", file=sys.stderr)
            bad += 1
sys.exit(1 if bad else 0)
EOF

# the guarded values are all there, with their apostrophe
for want in "'=HYPERLINK(\"http://example.invalid/x\",\"click\")" "'-Synthetic B" "'@evil-1" \
            "'+evil-2" "'+SUM(1,1)" "'=evil library" "'@1" "'=queries.msp"; do
    grep -qF -- "$want" hits.tsv || fail "hits.tsv lacks the guarded value $want"
done
grep -qF $'\tplain-3\t' hits.tsv || fail "an ordinary accession (plain-3) changed in hits.tsv"

# JSON keeps the text as it is
python3 - hits.json <<'EOF' || fail "JSON output changed the contributed text"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
names = {h["hit_name"] for r in recs if r.get("record") == "query" for h in r["hits"]}
queries = {r["query_name"] for r in recs if r.get("record") == "query"}
assert '=HYPERLINK("http://example.invalid/x","click")' in names, names
assert "-Synthetic B" in names, names
assert "+SUM(1,1)" in queries, queries
EOF

grep -qF "'=HYPERLINK" <("$BIN" analogues -l L.h5 --format tsv '=queries.msp' 2>/dev/null) ||
    fail "the analysis TSV lacks the guarded library name"

# computed text keeps its sign: the bundled fluorofentanyls (real spectra withheld from the
# bundled library) are explained by substituents such as "+F-for-H"; no apostrophe there
SRC=${NPSW_SOURCE_DIR:-}
if [ -n "$SRC" ] && [ -f "$SRC/spectra_db/data/swgdrug_3.4_dea.msp" ]; then
    "$BIN" build -o dea.h5 "$SRC/spectra_db/data/swgdrug_3.4_dea.msp" >/dev/null 2>&1 ||
        fail "cannot build the bundled library"
    "$BIN" analogues -l dea.h5 --format tsv -o an.tsv "$SRC/spectra_db/data/examples/emerging.msp" \
        2>a.err || { fail "analogues failed"; cat a.err >&2; }
    col=$(grep -v '^#' an.tsv | head -1 | tr '\t' '\n' | grep -n '^substituents$' | cut -d: -f1)
    subs=$(grep -v '^#' an.tsv | tail -n +2 | cut -f"${col:-0}")
    echo "$subs" | grep -q '^+F-for-H' || fail "no raw '+F-for-H' substituent label in an.tsv: $subs"
    echo "$subs" | grep -q "^'" && fail "a computed substituent label was guarded in an.tsv: $subs"
else
    fail "NPSW_SOURCE_DIR is not set to the source tree: cannot check computed labels"
fi

if [ "$fails" -ne 0 ]; then
    echo "$fails failure(s)"
    exit 1
fi
echo "ok: TSV cells guarded against formulas, JSON unchanged"
