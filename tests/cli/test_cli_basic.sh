#!/bin/bash
# test_cli_basic.sh - npswatch basics: --version, --help, usage errors, build -> info --verify ->
# search (TSV, JSON Lines, NIST text) on a small SYNTHETIC library written below.
#
# Usage: bash test_cli_basic.sh NPSWATCH_BINARY SCRATCH_DIR
# Expected values are worked out by hand from the synthetic spectra (a spectrum searched against
# itself has MF 999 and cosine 1; cosines of other pairs are recomputed here with python3 from
# the MSP text with the weights intensity^A * mz^B stated in the run record, and two of them are
# worked out by hand for explicit weights sqrt(intensity) * m/z).
set -u
BIN=${1:?usage: test_cli_basic.sh NPSWATCH_BINARY SCRATCH_DIR}
S=${2:?usage: test_cli_basic.sh NPSWATCH_BINARY SCRATCH_DIR}
case "$BIN" in /*) ;; */*) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "FAIL: $BIN is not an executable"; exit 1; }
rm -rf "$S" && mkdir -p "$S" || { echo "FAIL: cannot create scratch dir $S"; exit 1; }
cd "$S" || exit 1

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
show() { echo "---- $1:" >&2; sed 's/^/    /' "$1" >&2; }

# ---- --version / --help / usage errors ----------------------------------------------------
"$BIN" --version >version.out 2>version.err
rc=$?
[ $rc -eq 0 ] || fail "--version exited $rc"
grep -q "library file format 1.3" version.out || { fail "--version lacks 'library file format 1.3'"; show version.out; }
grep -q "^npswatch " version.out || { fail "--version lacks a line starting 'npswatch '"; show version.out; }
# the loaded libraries, each with a version number
for lib in "HDF5 [0-9]" "FFTW fftw-3" "libpng [0-9]" "zlib [0-9]" "cJSON [0-9]" "OpenSSL [0-9]" \
           "SQLite 3\.[0-9]" "libxml2 2\.[0-9]" "libmicrohttpd [0-9]"; do
    grep -q "^linked: .*$lib" version.out || { fail "--version lacks '$lib' in its linked: line"; show version.out; }
done

"$BIN" --help >help.out 2>help.err
rc=$?
[ $rc -eq 0 ] || fail "--help exited $rc (expected 0)"
grep -q "Usage" help.out || fail "--help does not print a usage text on stdout"

"$BIN" frobnicate >unk.out 2>unk.err
rc=$?
[ $rc -eq 1 ] || fail "unknown command exited $rc (expected 1)"
grep -q "frobnicate" unk.err || { fail "unknown command: message does not name the command"; show unk.err; }

"$BIN" >noarg.out 2>noarg.err
rc=$?
[ $rc -eq 1 ] || fail "no arguments exited $rc (expected 1)"

# ---- synthetic library ----------------------------------------------------------------------
# SYNTHETIC data: hand-made peaks, not real compounds.
cat >lib.msp <<'EOF'
Name: Synthetic Alpha
Formula: C10H10
MW: 182
DB#: SYN-0001
Comments: synthetic test record (hand-made peaks)
Num Peaks: 5
41 100
55 250
77 999
105 400
182 600

Name: Synthetic Beta
Formula: C5H11N
MW: 86
DB#: SYN-0002
Comments: synthetic test record (hand-made peaks)
Num Peaks: 4
43 999
58 300
71 120
86 500

Name: Synthetic Gamma
Formula: C9H10O
MW: 134
DB#: SYN-0003
Comments: synthetic test record (hand-made peaks)
Num Peaks: 5
51 80
77 300
91 999
119 450
134 200

Name: Synthetic Delta
Formula: C8H6O3
MW: 165
DB#: SYN-0004
Comments: synthetic test record (hand-made peaks)
Num Peaks: 5
44 999
72 150
91 60
150 700
165 220
EOF
# the same Gamma spectrum written differently: CRLF, several pairs per line, another order
printf 'Name: Synthetic Gamma\r\nComments: synthetic query\r\nNum Peaks: 5\r\n134 200; 51 80; 119 450;\r\n91 999; 77 300\r\n' >query.msp

"$BIN" build >build_noo.out 2>build_noo.err lib.msp
rc=$?
[ $rc -eq 1 ] || fail "build without -o exited $rc (expected 1)"
grep -q -- "-o" build_noo.err || { fail "build without -o: no message about -o"; show build_noo.err; }
[ -e lib.h5 ] && fail "build without -o created lib.h5"

"$BIN" search query.msp >search_nol.out 2>search_nol.err
rc=$?
[ $rc -eq 1 ] || fail "search without -l exited $rc (expected 1)"
grep -q -- "-l" search_nol.err || { fail "search without -l: no message about -l"; show search_nol.err; }

# --progress draws a bar on stderr even when it is not a terminal; without it, none
"$BIN" build --progress -o progress.h5 lib.msp >progress.out 2>progress.err
grep -q "reading lib.msp .*100%" progress.err || { fail "build --progress: no complete progress bar"; show progress.err; }

"$BIN" build -o lib.h5 lib.msp >build.out 2>build.err
rc=$?
grep -q "%" build.err && { fail "build drew a progress bar on a non-terminal without --progress"; show build.err; }
if [ $rc -ne 0 ] || [ ! -f lib.h5 ]; then
    fail "build exited $rc / lib.h5 missing"
    show build.err
    echo "FAILED: $fails check(s); cannot continue without a library" >&2
    exit 1
fi

"$BIN" info --verify lib.h5 >info.out 2>info.err
rc=$?
[ $rc -eq 0 ] || { fail "info --verify exited $rc"; show info.err; }
grep -q "^verify: ok" info.out || { fail "info --verify does not say 'verify: ok'"; show info.out; }
grep -q "^spectra: 4$" info.out || { fail "info does not report 4 spectra"; show info.out; }
grep -q "^peaks: 19 " info.out || { fail "info does not report 19 peaks (5+4+5+5)"; show info.out; }
info_sha=$(sed -n 's/^content sha256: \([0-9a-f]\{64\}\)$/\1/p' info.out)
[ -n "$info_sha" ] || { fail "info prints no 'content sha256: <64 hex>' line"; show info.out; }

# ---- search: TSV ------------------------------------------------------------------------------
# column value of the rank-1 row of query $2 in TSV $1, columns looked up by header name
tsv_get() { # file query_index rank column
    awk -F'\t' -v q="$2" -v r="$3" -v col="$4" '
        /^#/ { next }
        !hdr { for (i = 1; i <= NF; i++) c[$i] = i; hdr = 1; if (!(col in c)) exit 3; next }
        $c["query_index"] == q && $c["rank"] == r { print $c[col]; found = 1; exit }
        END { if (!found) exit 2 }' "$1"
}

"$BIN" search -l lib.h5 query.msp >q.tsv 2>q.err
rc=$?
[ $rc -eq 0 ] || { fail "search exited $rc"; show q.err; }
v=$(tsv_get q.tsv 1 1 hit_name) || fail "no rank-1 row (or no hit_name column) in q.tsv"
[ "${v:-}" = "Synthetic Gamma" ] || { fail "rank 1 of the Gamma query is '${v:-}', expected 'Synthetic Gamma'"; show q.tsv; }
v=$(tsv_get q.tsv 1 1 mf)
[ "${v:-}" = "999" ] || fail "rank-1 mf is '${v:-}', expected 999"
v=$(tsv_get q.tsv 1 1 cosine)
[ "${v:-}" = "1.0000" ] || fail "rank-1 cosine is '${v:-}', expected 1.0000"
v=$(tsv_get q.tsv 1 1 n_matched)
[ "${v:-}" = "5" ] || fail "rank-1 n_matched is '${v:-}', expected 5"
v=$(tsv_get q.tsv 1 1 hit_accession)
[ "${v:-}" = "SYN-0003" ] || fail "rank-1 hit_accession is '${v:-}', expected SYN-0003"
# Gamma shares m/z 77 with Alpha and 91 with Delta, nothing with Beta: 3 hits
nrows=$(awk -F'\t' '!/^#/ { n++ } END { print n - 1 }' q.tsv)
[ "$nrows" = "3" ] || { fail "Gamma query: $nrows hit rows, expected 3 (Gamma, Alpha, Delta)"; show q.tsv; }
awk -F'\t' '/^#/ { next } !h { for (i = 1; i <= NF; i++) c[$i] = i; h = 1; next }
    $c["hit_name"] == "Synthetic Beta" { bad = 1 } END { exit bad }' q.tsv ||
    fail "Synthetic Beta (no common peak with Gamma) is listed as a hit"

# run record: '#' lines, library_sha256 equal to what info prints
grep -q "^# " q.tsv || fail "TSV has no '#' run-record lines"
tsv_sha=$(sed -n 's/^# library_sha256\t\([0-9a-f]\{64\}\)$/\1/p' q.tsv)
[ -n "$tsv_sha" ] || { fail "TSV has no '# library_sha256<TAB><64 hex>' line"; show q.tsv; }
[ "$tsv_sha" = "$info_sha" ] || fail "TSV library_sha256 $tsv_sha differs from info's content sha256 $info_sha"
grep -q "^# query_file" q.tsv || fail "TSV run record lacks query_file"
qsha=$(sha256sum query.msp | cut -d' ' -f1)
grep -q "sha256=$qsha" q.tsv || fail "TSV run record does not carry the query file's sha256 $qsha"

# every library spectrum searched against the library: itself at rank 1, mf 999, cosine 1.0000
"$BIN" search -l lib.h5 lib.msp >all.tsv 2>all.err
rc=$?
[ $rc -eq 0 ] || { fail "search of lib.msp exited $rc"; show all.err; }
for q in 1 2 3 4; do
    qn=$(tsv_get all.tsv $q 1 query_name)
    hn=$(tsv_get all.tsv $q 1 hit_name)
    mf=$(tsv_get all.tsv $q 1 mf)
    cs=$(tsv_get all.tsv $q 1 cosine)
    [ -n "${qn:-}" ] && [ "${qn:-}" = "${hn:-}" ] || fail "query $q '${qn:-}': rank 1 is '${hn:-}'"
    [ "${mf:-}" = "999" ] || fail "query $q: rank-1 mf '${mf:-}', expected 999"
    [ "${cs:-}" = "1.0000" ] || fail "query $q: rank-1 cosine '${cs:-}', expected 1.0000"
done
# cosines of every listed pair, recomputed independently from the MSP text
python3 - lib.msp all.tsv <<'EOF' || fail "cosine column disagrees with an independent computation"
import math, re, sys
specs = {}
name = None
for line in open(sys.argv[1]):
    line = line.strip()
    if line.startswith("Name:"):
        name = line[5:].strip(); specs[name] = {}
    elif line and line[0].isdigit():
        mz, i = line.split(); specs[name][int(mz)] = float(i)
# the weights intensity^A * mz^B the run record says were used
m = re.search(r"weights=intensity\^([0-9.]+)\*mz\^([0-9.]+)", open(sys.argv[2]).read())
if not m:
    print("  no 'weights=intensity^A*mz^B' in the run record", file=sys.stderr); sys.exit(1)
A, B = float(m.group(1)), float(m.group(2))
def cos(a, b):
    w = lambda s, m: s[m] ** A * m ** B
    dot = sum(w(a, m) * w(b, m) for m in a if m in b)
    na = math.sqrt(sum(w(a, m) ** 2 for m in a)); nb = math.sqrt(sum(w(b, m) ** 2 for m in b))
    return dot / (na * nb)
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if not l.startswith("#")]
col = {c: i for i, c in enumerate(rows[0])}
bad = 0; n = 0
for r in rows[1:]:
    want = cos(specs[r[col["query_name"]]], specs[r[col["hit_name"]]])
    got = float(r[col["cosine"]]); n += 1
    if abs(got - want) > 6e-5:
        print("  %s vs %s: cosine %s, expected %.4f" % (r[col["query_name"]], r[col["hit_name"]], got, want), file=sys.stderr)
        bad = 1
# 4 self hits + Alpha/Gamma both ways + Gamma/Delta both ways = 8 rows
if n != 8:
    print("  %d hit rows, expected 8" % n, file=sys.stderr); bad = 1
sys.exit(bad)
EOF

# with the weights given explicitly (sqrt(intensity) * m/z), the two cross cosines worked out by
# hand: Alpha/Gamma share only m/z 77:
#   dot = sqrt(999*300) * 77^2 = 3245823; |Alpha|^2 = sum I*mz^2 = 31131821;
#   |Gamma|^2 = 20223149  ->  cos = 3245823 / sqrt(31131821 * 20223149) = 0.12936
# Gamma/Delta share only m/z 91: dot = sqrt(999*60) * 91^2 = 2027408;
#   |Delta|^2 = 999*44^2 + 150*72^2 + 60*91^2 + 700*150^2 + 220*165^2 = 24948024
#   -> cos = 2027408 / sqrt(20223149 * 24948024) = 0.09026
"$BIN" search -l lib.h5 --int-power 0.5 --mz-power 1 lib.msp >w.tsv 2>w.err || { fail "search --int-power 0.5 --mz-power 1 failed"; show w.err; }
grep -q "weights=intensity^0.5\*mz^1 " w.tsv || fail "run record does not show weights=intensity^0.5*mz^1"
v=$(tsv_get w.tsv 1 2 cosine)
[ "${v:-}" = "0.1294" ] || fail "Alpha vs Gamma cosine (sqrt(I)*mz) is '${v:-}', expected 0.1294"
v=$(tsv_get w.tsv 4 2 cosine)
[ "${v:-}" = "0.0903" ] || fail "Delta vs Gamma cosine (sqrt(I)*mz) is '${v:-}', expected 0.0903"

# -k 1: one row per query
"$BIN" search -l lib.h5 -k 1 lib.msp >k1.tsv 2>k1.err || fail "search -k 1 failed"
n=$(awk '!/^#/ { n++ } END { print n - 1 }' k1.tsv)
[ "$n" = "4" ] || fail "search -k 1 of 4 queries gave $n rows, expected 4"

# ---- search: JSON Lines -------------------------------------------------------------------
"$BIN" search -l lib.h5 --format json query.msp >q.json 2>qj.err
rc=$?
[ $rc -eq 0 ] || { fail "search --format json exited $rc"; show qj.err; }
python3 - q.json "$info_sha" <<'EOF' || { fail "JSON Lines output is wrong"; show q.json; }
import json, sys
lines = open(sys.argv[1]).read().splitlines()
bad = 0
recs = []
for i, l in enumerate(lines, 1):
    try:
        recs.append(json.loads(l))
    except Exception as e:
        print("  line %d is not JSON: %s" % (i, e), file=sys.stderr); bad = 1
if not recs or recs[0].get("record") != "run":
    print("  first record is not record=run", file=sys.stderr); sys.exit(1)
if recs[0].get("library_sha256") != sys.argv[2]:
    print("  run record library_sha256 %r != %s" % (recs[0].get("library_sha256"), sys.argv[2]), file=sys.stderr); bad = 1
q = [r for r in recs if r.get("record") == "query"]
if len(q) != 1:
    print("  %d query records, expected 1" % len(q), file=sys.stderr); sys.exit(1)
h = q[0].get("hits", [])
if not h or h[0].get("hit_name") != "Synthetic Gamma" or h[0].get("mf") != 999 or h[0].get("rank") != 1:
    print("  first hit is %r" % (h[:1],), file=sys.stderr); bad = 1
elif abs(h[0].get("cosine", 0) - 1.0) > 1e-6:
    print("  self cosine %r" % h[0].get("cosine"), file=sys.stderr); bad = 1
sys.exit(bad)
EOF

# ---- search: NIST text --------------------------------------------------------------------
"$BIN" search -l lib.h5 --format nist query.msp >q.nist 2>qn.err
rc=$?
[ $rc -eq 0 ] || { fail "search --format nist exited $rc"; show qn.err; }
grep -q "Hit 1" q.nist || { fail "--format nist output has no 'Hit 1'"; show q.nist; }
grep "Hit 1" q.nist | grep -q "Synthetic Gamma" || fail "--format nist: Hit 1 is not Synthetic Gamma"

# ---- search -o FILE equals stdout ---------------------------------------------------------
export SOURCE_DATE_EPOCH=1700000000
"$BIN" search -l lib.h5 query.msp >stdout.tsv 2>/dev/null
"$BIN" search -l lib.h5 -o file.tsv query.msp 2>/dev/null || fail "search -o file.tsv failed"
cmp -s stdout.tsv file.tsv || fail "search -o FILE output differs from standard output"
ls ./*.tmp.* >/dev/null 2>&1 && fail "temporary files left behind: $(ls ./*.tmp.*)"

if [ $fails -ne 0 ]; then
    echo "FAILED: $fails check(s) in test_cli_basic.sh" >&2
    exit 1
fi
echo "test_cli_basic.sh: all checks passed"
exit 0
