#!/bin/bash
# test_cli_bench.sh - 'npswatch bench' end to end on bundled data (no ../shared/data needed):
#  - bench/configs/tiny_examples.conf runs: exit 0, every table, JSON parses, every PNG decodes
#    with libpng (test_bench --check-png, $NPSW_PNG_CHECK);
#  - recall@1/5/10 and the in-library AUC are recomputed independently in python3 from a hit
#    table that 'npswatch search' writes and from the library MSP's InChIKey lines, on a truth
#    table with two labels deliberately swapped (so recall is not trivially 1); the same hit
#    table given as an external table must score exactly the same (the external-table path);
#  - a leave-compound-out run on the bundled library (every 20th compound): both truth groups
#    present, positives/negatives counts and AUC recomputed from queries.tsv by pairwise
#    counting, hits identical for 1 and 2 threads, the "out" queries do not find themselves;
#  - bad configurations, truth and hit tables: exit 1 and a message naming FILE:LINE.
#
# Usage: bash test_cli_bench.sh NPSWATCH_BINARY SCRATCH_DIR
set -u
BIN=${1:?usage: test_cli_bench.sh NPSWATCH_BINARY SCRATCH_DIR}
S=${2:?usage: test_cli_bench.sh NPSWATCH_BINARY SCRATCH_DIR}
case "$BIN" in /*) ;; */*) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "FAIL: $BIN is not an executable"; exit 1; }
SRC=${NPSW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
LIBMSP=$SRC/spectra_db/data/swgdrug_3.4_dea.msp
EX=$SRC/spectra_db/data/examples
CHECK=${NPSW_PNG_CHECK:-}
[ -f "$LIBMSP" ] || { echo "FAIL: bundled library missing: $LIBMSP"; exit 1; }
[ -n "$CHECK" ] && [ -x "$CHECK" ] || { echo "FAIL: NPSW_PNG_CHECK (test_bench) not set"; exit 1; }
command -v python3 >/dev/null || { echo "FAIL: python3 is needed"; exit 1; }
rm -rf "$S" && mkdir -p "$S" || { echo "FAIL: cannot create scratch dir $S"; exit 1; }
cd "$S" || exit 1

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
run() { timeout 120 "$BIN" "$@"; }

# ---- 1. the shipped tiny configuration -------------------------------------------------------
run bench "$SRC/bench/configs/tiny_examples.conf" -o tiny 2>tiny.err
rc=$?
[ $rc -eq 0 ] || { fail "tiny_examples.conf: exit $rc"; cat tiny.err >&2; }
for f in results.tsv results.json curves.tsv confusion.tsv queries.tsv examples_recall_at_k.png \
         examples_roc.png examples_pr.png examples_scores_wmf.png examples_throughput_threads.png; do
    [ -s "tiny/$f" ] || fail "tiny: $f missing or empty"
done
ls tiny/*.png >/dev/null 2>&1 && { "$CHECK" --check-png tiny/*.png || fail "tiny: a PNG does not decode"; }
python3 -c "import json,sys; json.load(open('tiny/results.json'))" || fail "tiny: results.json is not JSON"
ls tiny | grep -q '\.tmp' && fail "tiny: temporary files left"

# ---- 2. independent recomputation, and the external-table path -------------------------------
run build -o lib.h5 "$LIBMSP" 2>/dev/null || fail "build failed"
run search -l lib.h5 -k 10 --score cosine -o ext.tsv "$EX/example_queries.msp" "$EX/emerging.msp" \
    2>/dev/null || fail "search failed"
# truth: the shipped one with the labels of queries 1 and 4 swapped
python3 - "$SRC/tests/data/bench/examples_truth.tsv" > truth.tsv <<'EOF'
import sys
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1]) if not l.startswith('#')]
h, body = rows[0], rows[1:]
body[0][1], body[3][1] = body[3][1], body[0][1]
print('\t'.join(h)); [print('\t'.join(r)) for r in body]
EOF
cat > swap.conf <<EOF
methods = cosine
k = 1 5 10
threads = 1
analysis = no
[dataset swap]
library = $LIBMSP
queries = $EX/example_queries.msp
queries = $EX/emerging.msp
truth = truth.tsv
external = other-tool ext.tsv
EOF
run bench swap.conf -o swap 2>swap.err || { fail "swap.conf failed"; cat swap.err >&2; }
python3 - "$LIBMSP" truth.tsv ext.tsv swap/results.tsv <<'EOF' || fail "independent recomputation differs"
import sys, collections
lib, truth, hits, res = sys.argv[1:]
libik = set(l.split(':', 1)[1].strip()[:14] for l in open(lib, encoding='utf-8', errors='replace')
            if l.lower().startswith('inchikey:'))
t = {}
for l in open(truth):
    if l.startswith('#') or l.startswith('query_index'): continue
    f = l.rstrip('\n').split('\t'); t[int(f[0])] = f[1]
rank, top1 = {}, {}
rows = [l.rstrip('\n').split('\t') for l in open(hits) if not l.startswith('#')]
h = rows[0]; qi, rk, ik, sc = h.index('query_index'), h.index('rank'), h.index('hit_inchikey'), h.index('score')
for r in rows[1:]:
    q, k = int(r[qi]), int(r[rk])
    if k == 0: continue
    if k == 1: top1[q] = float(r[sc])
    if r[ik][:14] == t[q] and q not in rank: rank[q] = k
inlib = [q for q in t if t[q] in libik]
assert 0 < len(inlib) < len(t), inlib
exp = {k: sum(1 for q in inlib if rank.get(q, 99) <= k) / len(inlib) for k in (1, 5, 10)}
pos = [top1.get(q, 0) for q in t if q in inlib]; neg = [top1.get(q, 0) for q in t if q not in inlib]
auc = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))
got = collections.defaultdict(dict)
for l in open(res):
    f = l.rstrip('\n').split('\t')
    if len(f) == 5 and f[0] == 'swap': got[f[1]][(f[2], f[3])] = f[4]
ok = True
for m in ('cosine', 'other-tool'):
    for k in (1, 5, 10):
        v = float(got[m][('recall', 'k=%d' % k)])
        if abs(v - exp[k]) > 1e-6: print('recall@%d of %s: %s, expected %s' % (k, m, v, exp[k])); ok = False
    v = float(got[m][('auc_roc', 'top-1 score')])
    if abs(v - auc) > 1e-6: print('AUC of %s: %s, expected %s' % (m, v, auc)); ok = False
if exp[1] == 1.0: print('the swapped truth should lower recall@1'); ok = False
sys.exit(0 if ok else 1)
EOF

# max_queries: rows of the truth and hit tables beyond it are skipped, not errors
sed 's/^\[dataset swap\]$/[dataset swap]\nmax_queries = 4/' swap.conf > max4.conf
run bench max4.conf -o max4 2>max4.err || { fail "max_queries = 4 failed"; cat max4.err >&2; }
awk -F'\t' '$1=="swap" && $3=="queries" {q=$5} $1=="swap" && $3=="queries_evaluated" {e=$5}
    END {exit !(q==4 && e==4)}' max4/results.tsv || fail "max_queries = 4: not 4 queries evaluated"

# ---- 3. leave-compound-out, sampled -----------------------------------------------------------
cat > lco.conf <<EOF
methods = wmf
k = 1 5
threads = 1 2
[dataset lco]
library = $LIBMSP
leave_out = compound
sample = 20
EOF
run bench lco.conf -o lco 2>lco.err || { fail "lco.conf failed"; cat lco.err >&2; }
"$CHECK" --check-png lco/*.png || fail "lco: a PNG does not decode"
python3 - lco/queries.tsv lco/results.json <<'EOF' || fail "leave-compound-out checks"
import sys, json
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1])]
h = rows[0]; rows = rows[1:]
c = {k: h.index(k) for k in ('in_library', 'method', 'top1_score', 'query_index')}
w = [r for r in rows if r[c['method']] == 'wmf']
a = [r for r in rows if r[c['method']] == 'analysis']
pos = [float(r[c['top1_score']]) for r in w if r[c['in_library']] == '1']
neg = [float(r[c['top1_score']]) for r in w if r[c['in_library']] == '0']
assert pos and neg, (len(pos), len(neg))
auc = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / (len(pos) * len(neg))
j = json.load(open(sys.argv[2]))['datasets'][0]
m = [x for x in j['methods'] if x['name'] == 'wmf'][0]
assert abs(m['decision']['auc_roc'] - auc) < 1e-9, (m['decision']['auc_roc'], auc)
assert m['decision']['positives'] == len(pos) and m['decision']['negatives'] == len(neg)
assert m['identical_across_threads'] is True
assert m['recall']['1'] <= m['recall']['5']
assert len(a) == len(w)
# a left-out compound's own spectra never appear: the "out" queries' top-1 score is below 1
# unless another compound has an identical spectrum (rare): most must be below 0.999
assert sum(1 for x in neg if x < 0.999) >= 0.9 * len(neg), neg
EOF

# ---- 4. errors name the file and line --------------------------------------------------------
bad() { # name expected-regex config-text
    printf '%s\n' "$3" > "$1.conf"
    run bench "$1.conf" -o "out_$1" 2>"$1.err"
    local rc=$?
    [ $rc -eq 1 ] || fail "$1: exit $rc, expected 1"
    grep -Eq "$2" "$1.err" || { fail "$1: message does not match '$2'"; cat "$1.err" >&2; }
}
bad unknown_key 'unknown_key\.conf:2: unknown key .colour.' $'methods = wmf\ncolour = red\n[dataset a]'
bad no_equals 'no_equals\.conf:1: expected .key = value.' 'methods wmf'
bad bad_method 'bad_method\.conf:1: methods: unknown score .nist.' 'methods = wmf nist'
bad bad_k 'bad_k\.conf:3: k: .0. is not a whole number' $'# comment\n\nk = 1 0'
bad missing_lib "missing_lib\\.conf:2: library: .*nope\\.msp: No such file" $'[dataset a]\nlibrary = nope.msp'
bad no_library 'no_library\.conf:2: dataset .a.: no library' $'methods = wmf\n[dataset a]\nleave_out = compound'
bad lco_queries "lco_queries\\.conf:1: dataset .a.: leave_out = compound makes" \
    $'[dataset a]\nlibrary = '"$LIBMSP"$'\nleave_out = compound\nqueries = '"$LIBMSP"
bad no_truth "no_truth\\.conf:1: dataset .a.: needs .queries. and .truth." \
    $'[dataset a]\nlibrary = '"$LIBMSP"$'\nqueries = '"$LIBMSP"
bad env_unset 'env_unset\.conf:2: environment variable NPSW_NO_SUCH_VAR_X is not set' \
    $'[dataset a]\nlibrary = ${NPSW_NO_SUCH_VAR_X}/lib.msp'
bad section 'section\.conf:1: section \[datasets\]' '[datasets]'
bad dup_ds 'dup_ds\.conf:4: dataset .a. given twice' \
    $'[dataset a]\nlibrary = '"$LIBMSP"$'\nleave_out = compound\n[dataset a]'
bad bad_name "bad_name\\.conf:1: dataset name .a/b." '[dataset a/b]'
bad empty_cfg 'empty_cfg\.conf: no \[dataset NAME\] section' '# nothing'
printf 'query_index\tname\n1\tx\n' > badtruth.tsv
bad bad_truth 'badtruth\.tsv:1: the header needs' \
    $'[dataset a]\nlibrary = '"$LIBMSP"$'\nqueries = '"$EX/emerging.msp"$'\ntruth = badtruth.tsv'
printf 'query_index\tinchikey14\n1\tKXUBAVLIJFTASZ\n99\tKXUBAVLIJFTASZ\n' > badtruth2.tsv
bad bad_truth2 'badtruth2\.tsv:3: query_index .99. is not a number from 1 to 5' \
    $'[dataset a]\nlibrary = '"$LIBMSP"$'\nqueries = '"$EX/emerging.msp"$'\ntruth = badtruth2.tsv'
printf 'query_index\tinchikey14\n1\tKXUBAVLIJFTASZ\n' > goodtruth.tsv
printf '# run record\nquery_index\trank\thit_index\tscore\n1\t1\t3\t0.5\n1\tfirst\t4\t0.4\n' > badext.tsv
bad bad_ext "badext\\.tsv:4: rank .first. is not a whole number" \
    $'analysis = no\n[dataset a]\nlibrary = '"$LIBMSP"$'\nqueries = '"$EX/emerging.msp"$'\ntruth = goodtruth.tsv\nexternal = x badext.tsv'
for n in unknown_key bad_truth bad_ext; do
    [ -e "out_$n/results.tsv" ] && fail "$n: results written despite the error"
done
run bench 2>/dev/null; [ $? -eq 1 ] || fail "no arguments: expected exit 1"
run bench --help >/dev/null || fail "--help failed"

[ $fails -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "ok"
