#!/bin/bash
# test_cli_examples.sh - the bundled default library (spectra_db/data/swgdrug_3.4_dea.msp, 975
# SWGDRUG 3.4 DEA spectra) searched with the bundled examples (spectra_db/data/examples/
# example_queries.msp), as described in spectra_db/data/README.md.
#
# Expectations, checked by reading the .msp files (not taken from npswatch's output):
#  - every DEA example has exactly one library record with the same InChIKey:
#      Methyl Phenylacetate (CRZQGDNQQAALAY)  -> "Phenylacetic acid methyl ester" (CAS 101-41-7
#        in both; both spectra: base peak 91, M+ 150 at ~1/3, 65, 89, 59, 119/118)
#      4-Methoxyphenylacetone (WFWKNGZODAOLEO) -> "4-Methoxyphenyl-2-propanone"
#      gamma-hydroxybutyric acid di-TMS derivative (JQUWWJZPEOMMSB) -> "GHB BSTFA Derivative"
#        (BSTFA makes the di-TMS derivative)
#      Pseudoephedrine (KWGRBVOPPLSCSI) -> "Ephedrine" (diastereomer, same InChIKey without
#        stereo layer, near-identical EI spectrum)
#      Cathine (DLNKOYKMWOXYQA) -> "Phenylpropanolamine" (diastereomer, likewise)
#    so each is the rank-1 hit, with a high match factor (>= 800: replicate or diastereomer);
#  - Atrazine (a chlorotriazine herbicide, EI base peak 200 = M-CH3, M+ 215/217) has no triazine
#    in the library (no record named or keyed like atrazine/simazine/propazine/triazine):
#    its best MF must stay below 700.
#  - the cosine column of every rank-1 hit is recomputed with python3 from the two MSP records
#    (integer m/z, base peak 999, weights intensity^A * mz^B as stated in the run record).
#
# Usage: bash test_cli_examples.sh NPSWATCH_BINARY SCRATCH_DIR
set -u
BIN=${1:?usage: test_cli_examples.sh NPSWATCH_BINARY SCRATCH_DIR}
S=${2:?usage: test_cli_examples.sh NPSWATCH_BINARY SCRATCH_DIR}
case "$BIN" in /*) ;; */*) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "FAIL: $BIN is not an executable"; exit 1; }
SRC=${NPSW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
LIBMSP=$SRC/spectra_db/data/swgdrug_3.4_dea.msp
QMSP=$SRC/spectra_db/data/examples/example_queries.msp
if [ ! -f "$LIBMSP" ] || [ ! -f "$QMSP" ]; then
    echo "FAIL: bundled data missing: $LIBMSP / $QMSP (NPSW_SOURCE_DIR=${NPSW_SOURCE_DIR:-unset})"
    exit 1
fi
rm -rf "$S" && mkdir -p "$S" || { echo "FAIL: cannot create scratch dir $S"; exit 1; }
cd "$S" || exit 1

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
show() { echo "---- $1:" >&2; sed 's/^/    /' "$1" | head -40 >&2; }

# the premises above, checked on the data files themselves
grep -c '^Name:' "$LIBMSP" | grep -qx 975 || fail "premise: the bundled library should have 975 records"
grep -c '^Name:' "$QMSP" | grep -qx 6 || fail "premise: the examples should have 6 records"
grep -qiE '^(Name|Synon):.*(atrazin|simazin|propazin|triazin)' "$LIBMSP" &&
    fail "premise: the bundled library contains a triazine; the Atrazine expectation must be revised"
grep -q '^InChIKey: MXWJVTOOROXGIU' "$LIBMSP" && fail "premise: atrazine's InChIKey is in the library"
for k in CRZQGDNQQAALAY-UHFFFAOYSA-N WFWKNGZODAOLEO-UHFFFAOYSA-N JQUWWJZPEOMMSB-UHFFFAOYSA-N \
    KWGRBVOPPLSCSI-UHFFFAOYSA-N DLNKOYKMWOXYQA-UHFFFAOYSA-N; do
    n=$(grep -c "^InChIKey: $k$" "$LIBMSP")
    [ "$n" = 1 ] || fail "premise: $n library records with InChIKey $k, expected 1"
done

"$BIN" build -o dea.h5 "$LIBMSP" >build.out 2>build.err
if [ $? -ne 0 ] || [ ! -f dea.h5 ]; then
    fail "build of the bundled library failed"
    show build.err
    exit 1
fi
grep -q "read 975 spectra, skipped 0 bad records" build.err || { fail "build should read 975 spectra and skip none"; show build.err; }
"$BIN" info --verify dea.h5 >info.out 2>info.err || { fail "info --verify dea.h5 failed"; show info.err; }
grep -q "^spectra: 975$" info.out || { fail "the library should hold 975 spectra"; show info.out; }
grep -q "^verify: ok" info.out || fail "info --verify dea.h5 is not ok"

"$BIN" search -l dea.h5 -k 5 "$QMSP" >hits.tsv 2>search.err
rc=$?
[ $rc -eq 0 ] || { fail "search exited $rc"; show search.err; exit 1; }

# value of COLUMN in the row of query QUERY_NAME with rank RANK (columns by header name)
get() { # query_name rank column
    awk -F'\t' -v q="$1" -v r="$2" -v col="$3" '
        /^#/ { next }
        !hdr { for (i = 1; i <= NF; i++) c[$i] = i; hdr = 1; if (!(col in c)) exit 3; next }
        $c["query_name"] == q && $c["rank"] == r { print $c[col]; found = 1; exit }
        END { if (!found) exit 2 }' hits.tsv
}

check_top() { # query expected_hit
    local hit mf
    hit=$(get "$1" 1 hit_name) || { fail "no rank-1 row for '$1'"; return; }
    [ "$hit" = "$2" ] || fail "'$1': rank-1 hit is '$hit', expected '$2'"
    mf=$(get "$1" 1 mf)
    [ -n "$mf" ] && [ "$mf" -ge 800 ] || fail "'$1': rank-1 MF ${mf:-?} is below 800 for a replicate/diastereomer"
}
check_top "Methyl Phenylacetate" "Phenylacetic acid methyl ester"
check_top "4-Methoxyphenylacetone" "4-Methoxyphenyl-2-propanone"
check_top "gamma-hydroxybutyric acid di-TMS derivative" "GHB BSTFA Derivative"
check_top "Pseudoephedrine" "Ephedrine"
check_top "Cathine" "Phenylpropanolamine"

# drug classes carried by the library (docs/classes.md): the PMK-type ketone and the ephedrines
# are precursors, the DEA library holds fentanyl precursors, and a Class: line overrides
cls=$(get "4-Methoxyphenylacetone" 1 hit_class)
[ "$cls" = "precursor:phenethylamine" ] || fail "4-Methoxyphenyl-2-propanone: class '$cls', expected precursor:phenethylamine"
cls=$(get "Pseudoephedrine" 1 hit_class)
[ "$cls" = "precursor:phenethylamine" ] || fail "Ephedrine: class '$cls', expected precursor:phenethylamine"
"$BIN" info dea.h5 >info.out 2>&1
grep -q "^classes:" info.out && grep -Eq "^  precursor:fentanyl +[1-9]" info.out ||
    { fail "info: no class counts with fentanyl precursors"; show info.out; }
printf 'Name: Synthetic classified\nClass: cathinone\nNum Peaks: 2\n58 999\n77 100\n' >cls.msp
"$BIN" build -o cls.h5 cls.msp >cls.out 2>&1 && "$BIN" info cls.h5 >clsinfo.out 2>&1
grep -Eq "^  cathinone +1" clsinfo.out || { fail "a Class: line did not set the class"; show clsinfo.out; }

mf=$(get "Atrazine" 1 mf)
if [ $? -eq 2 ]; then
    : # no hit at all is fine: nothing in the library resembles atrazine
elif [ -z "$mf" ] || [ "$mf" -ge 700 ]; then
    fail "Atrazine: best MF is ${mf:-?}, expected below 700 (no triazine in the library)"
    show hits.tsv
fi

# rank-1 cosines recomputed independently
python3 - "$LIBMSP" "$QMSP" hits.tsv <<'EOF' || fail "cosine column disagrees with an independent computation"
import math, re, sys
def read(path, key):  # records keyed by their Name: or DB# line
    out, cur = {}, None
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line.startswith("Name:"):
            cur = {}
        if line.startswith(key + ":"):
            out[line[len(key) + 1:].strip()] = cur
        elif line and line[0].isdigit():
            mz, i = line.split()[:2]
            cur[int(mz)] = max(cur.get(int(mz), 0), float(i))
    return out
lib, q = read(sys.argv[1], "DB#"), read(sys.argv[2], "Name")
# the weights intensity^A * mz^B the run record says were used
wm = re.search(r"weights=intensity\^([0-9.]+)\*mz\^([0-9.]+)", open(sys.argv[3]).read())
if not wm:
    print("  no 'weights=intensity^A*mz^B' in the run record", file=sys.stderr); sys.exit(1)
A, B = float(wm.group(1)), float(wm.group(2))
def cos(a, b):
    w = lambda s, m: s[m] ** A * m ** B
    dot = sum(w(a, m) * w(b, m) for m in a if m in b)
    return dot / math.sqrt(sum(w(a, m) ** 2 for m in a) * sum(w(b, m) ** 2 for m in b))
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[3]) if not l.startswith("#")]
c = {n: i for i, n in enumerate(rows[0])}
bad = 0
for r in rows[1:]:
    if r[c["rank"]] != "1":
        continue
    want = cos(q[r[c["query_name"]]], lib[r[c["hit_accession"]]])
    got = float(r[c["cosine"]])
    if abs(got - want) > 6e-5:
        print("  %s -> %s: cosine %.4f, expected %.4f" % (r[c["query_name"]], r[c["hit_name"]], got, want), file=sys.stderr)
        bad = 1
sys.exit(bad)
EOF

if [ $fails -ne 0 ]; then
    echo "FAILED: $fails check(s) in test_cli_examples.sh" >&2
    show hits.tsv
    exit 1
fi
echo "test_cli_examples.sh: all checks passed"
exit 0
