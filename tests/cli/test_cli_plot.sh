#!/bin/bash
# test_cli_plot.sh - 'npswatch plot': a mirror plot of the first bundled example
# (spectra_db/data/examples/example_queries.msp, "Methyl Phenylacetate") against its rank-1 hit
# in the bundled library (spectra_db/data/swgdrug_3.4_dea.msp), decoded with python3 alone
# (struct + zlib, our own PNG reader below):
#  - a valid PNG: signature, every chunk's CRC, IHDR 2100 x 1350 (7 x 4.5 inches at 300 dpi),
#    8-bit RGB, pHYs 11811 pixels per metre (300 dpi), IDAT inflating to the right size, IEND;
#  - the provenance text chunks, checked against independent sources: the library SHA-256 that
#    'npswatch info' prints, the query file's SHA-256 from sha256sum, the time from
#    SOURCE_DATE_EPOCH, the query name from the MSP file, the version from --version, the hit
#    name that test_cli_examples.sh establishes from the MSP files ("Phenylacetic acid methyl
#    ester", same CAS and InChIKey, base peak 91 in both spectra);
#  - a mirror: in one pixel column the query colour (31,119,180) runs up from the baseline over
#    a quarter of the height and the library colour (214,39,40) runs down from it as far (the
#    shared base peak, 100 % in both); dark text in the title band at the top;
#  - the same bytes twice; --query-index / --hit select another query and hit;
#  - errors: exit 1 with a message and no file for a missing -o, --hit beyond the hits, a query
#    that matches nothing, --query-index beyond the file, a missing directory, a missing font.
#
# Usage: bash test_cli_plot.sh NPSWATCH_BINARY SCRATCH_DIR
set -u
BIN=${1:?usage: test_cli_plot.sh NPSWATCH_BINARY SCRATCH_DIR}
S=${2:?usage: test_cli_plot.sh NPSWATCH_BINARY SCRATCH_DIR}
case "$BIN" in /*) ;; */*) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "FAIL: $BIN is not an executable"; exit 1; }
SRC=${NPSW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
LIBMSP=$SRC/spectra_db/data/swgdrug_3.4_dea.msp
QMSP=$SRC/spectra_db/data/examples/example_queries.msp
if [ ! -f "$LIBMSP" ] || [ ! -f "$QMSP" ]; then
    echo "FAIL: bundled data missing: $LIBMSP / $QMSP"
    exit 1
fi
command -v python3 >/dev/null || { echo "FAIL: python3 is needed to decode the PNG files"; exit 1; }
rm -rf "$S" && mkdir -p "$S" || { echo "FAIL: cannot create scratch dir $S"; exit 1; }
cd "$S" || exit 1

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
show() { echo "---- $1:" >&2; sed 's/^/    /' "$1" | head -30 >&2; }
expect_rc() { [ "$3" -eq "$2" ] || fail "$1: exit code $3, expected $2"; }
expect_msg() { grep -qF -- "$3" "$2" || { fail "$1: message does not contain '$3'"; show "$2"; }; }

"$BIN" build -o dea.h5 "$LIBMSP" >build.out 2>build.err || { fail "build failed"; show build.err; exit 1; }
lib_sha=$("$BIN" info dea.h5 | sed -n 's/^content sha256: *\([0-9a-f]*\)$/\1/p')
[ ${#lib_sha} -eq 64 ] || { fail "cannot find the content SHA-256 in 'npswatch info'"; "$BIN" info dea.h5 >&2; }
q_sha=$(sha256sum "$QMSP" | cut -d' ' -f1)
version=$("$BIN" --version | head -1)
q1=$(grep -m1 '^Name:' "$QMSP" | sed 's/^Name: *//')
q2=$(grep '^Name:' "$QMSP" | sed -n 2p | sed 's/^Name: *//')

export SOURCE_DATE_EPOCH=1767225600 # 2026-01-01T00:00:00Z
"$BIN" plot -l dea.h5 --query "$QMSP" -o p1.png >plot.out 2>plot.err
rc=$?
expect_rc "plot of the first example" 0 $rc
[ $rc -eq 0 ] || show plot.err
[ -s plot.out ] && fail "plot printed to standard output"

# check_png FILE KEY=VALUE... : the PNG checks above; KEY~VALUE means 'contains'
check_png() {
    python3 - "$@" <<'EOF'
import struct, sys, zlib
path, want = sys.argv[1], sys.argv[2:]
need_pale = "PALE" in want          # unmatched peaks drawn in the pale tints of the two colours
want = [k for k in want if k != "PALE"]
d = open(path, "rb").read()
bad = []
if d[:8] != b"\x89PNG\r\n\x1a\n":
    print("  not a PNG signature", file=sys.stderr); sys.exit(1)
i, chunks = 8, []
while i < len(d):
    if i + 12 > len(d):
        bad.append("truncated chunk at byte %d" % i); break
    n, = struct.unpack(">I", d[i:i + 4])
    t, body = d[i + 4:i + 8], d[i + 8:i + 8 + n]
    crc, = struct.unpack(">I", d[i + 8 + n:i + 12 + n])
    if zlib.crc32(t + body) & 0xffffffff != crc:
        bad.append("bad CRC in %r" % t)
    chunks.append((t, body))
    i += 12 + n
types = [t for t, _ in chunks]
if types[0] != b"IHDR" or types[-1] != b"IEND":
    bad.append("chunk order %r" % types[:3])
w, h, depth, ctype, comp, filt, inter = struct.unpack(">IIBBBBB", chunks[0][1])
if (w, h, depth, ctype, inter) != (2100, 1350, 8, 2, 0):
    bad.append("IHDR %dx%d depth %d colour type %d interlace %d, expected 2100x1350 8-bit RGB"
               % (w, h, depth, ctype, inter))
phys = [b for t, b in chunks if t == b"pHYs"]
if not phys or struct.unpack(">IIB", phys[0]) != (11811, 11811, 1):
    bad.append("pHYs %r, expected 11811 x 11811 per metre (300 dpi)" % (phys[:1],))
if b"tIME" in types:
    bad.append("a tIME chunk (the bytes would depend on the clock)")
text = {}
for t, b in chunks:
    if t == b"tEXt":
        k, v = b.split(b"\0", 1)
        text[k.decode("latin-1")] = v.decode("latin-1")
    elif t == b"iTXt":
        k, rest = b.split(b"\0", 1)
        flag, method = rest[0], rest[1]
        lang, rest = rest[2:].split(b"\0", 1)
        tkey, v = rest.split(b"\0", 1)
        text[k.decode("latin-1")] = (zlib.decompress(v) if flag else v).decode("utf-8")
for kv in want:
    if "~" in kv and ("=" not in kv or kv.index("~") < kv.index("=")):
        k, v = kv.split("~", 1); ok = k in text and v in text[k]
    else:
        k, v = kv.split("=", 1); ok = text.get(k) == v
    if not ok:
        bad.append("text %s: %r, expected %s" % (k, text.get(k), kv))
raw = zlib.decompress(b"".join(b for t, b in chunks if t == b"IDAT"))
stride = w * 3
if len(raw) != h * (stride + 1):
    bad.append("IDAT inflates to %d bytes, expected %d" % (len(raw), h * (stride + 1)))
    print("\n".join("  " + b for b in bad), file=sys.stderr); sys.exit(1)
# unfilter (PNG filter types 0-4), rows of RGB bytes
rows, prev, p = [], bytearray(stride), 0
for y in range(h):
    f = raw[p]; line = bytearray(raw[p + 1:p + 1 + stride]); p += stride + 1
    if f == 1:
        for x in range(3, stride): line[x] = (line[x] + line[x - 3]) & 255
    elif f == 2:
        line = bytearray((a + b) & 255 for a, b in zip(line, prev))
    elif f == 3:
        for x in range(stride): line[x] = (line[x] + ((line[x - 3] if x >= 3 else 0) + prev[x]) // 2) & 255
    elif f == 4:
        for x in range(stride):
            a = line[x - 3] if x >= 3 else 0; b = prev[x]; c = prev[x - 3] if x >= 3 else 0
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    elif f != 0:
        bad.append("row %d: filter type %d" % (y, f)); break
    rows.append(line); prev = line
def px(x, y): return tuple(rows[y][3 * x:3 * x + 3])
Q, L = (31, 119, 180), (214, 39, 40)
# the shared base peak: a column with a long query run up and a long library run down that
# meet at the baseline
found = False
for x in range(w):
    col = [px(x, y) for y in range(h)]
    qrun = lrun = best_q = best_l = 0; qend = -10
    for y, c in enumerate(col):
        if c == Q:
            qrun += 1; qend = y
            best_q = max(best_q, qrun)
        else:
            qrun = 0
    if best_q < h // 4:
        continue
    for y in range(qend + 1, min(qend + 8, h)):   # the baseline is a few pixels thick
        if col[y] == L:
            run = 0
            while y + run < h and col[y + run] == L: run += 1
            best_l = max(best_l, run)
            break
    if best_l >= h // 4:
        found = True; break
if not found:
    bad.append("no column where a long query stick (up) meets a long library stick (down)")
if need_pale:
    # 35 % of each colour on white (core/src/plot.c, draw_half): unmatched query and library
    # peaks; the full colours must be there too (the matched ones)
    tint = lambda c: tuple(255 - (255 - v) * 35 // 100 for v in c)
    seen = {}
    for y in range(h):
        for x in range(w):
            c = px(x, y)
            if c in (tint(Q), tint(L), Q, L):
                seen[c] = seen.get(c, 0) + 1
    for c, what in ((tint(Q), "pale query"), (tint(L), "pale library"), (Q, "query"), (L, "library")):
        if seen.get(c, 0) < 20:
            bad.append("only %d pixels of %s colour %r" % (seen.get(c, 0), what, c))
dark = sum(1 for y in range(h // 12) for x in range(w) if max(px(x, y)) < 80)
if dark < 1000:
    bad.append("only %d dark pixels in the title band" % dark)
if bad:
    print("\n".join("  " + b for b in bad), file=sys.stderr); sys.exit(1)
EOF
}

if [ -f p1.png ]; then
    check_png p1.png "Software=$version" "Creation Time=2026-01-01T00:00:00Z" \
        "Library SHA-256=$lib_sha" "Query file SHA-256=$q_sha" "Query index=1" \
        "Query name=$q1" "Hit rank=1" "Hit name=Phenylacetic acid methyl ester" \
        "Title~$q1" "Title~Phenylacetic acid methyl ester" \
        "Disclaimer=library search result, not an identification" "Scores~mf=" \
        "Library version=1" "Query file=$QMSP" ||
        fail "p1.png: the checks above failed"
fi

# the same bytes again
"$BIN" plot -l dea.h5 --query "$QMSP" -o p2.png 2>/dev/null
cmp -s p1.png p2.png || fail "two runs gave different bytes"
# another query and hit (the second example; any hit at rank 2)
"$BIN" plot -l dea.h5 --query "$QMSP" --query-index 2 --hit 2 --score mf -o p3.png 2>p3.err
expect_rc "--query-index 2 --hit 2" 0 $?
python3 - p3.png "$q2" <<'EOF' || fail "p3.png: query 2 / hit 2 not recorded"
import struct, sys
d = open(sys.argv[1], "rb").read(); i = 8; text = {}
while i < len(d):
    n, = struct.unpack(">I", d[i:i + 4]); t = d[i + 4:i + 8]; b = d[i + 8:i + 8 + n]
    if t == b"tEXt":
        k, v = b.split(b"\0", 1); text[k.decode()] = v.decode("latin-1")
    i += 12 + n
ok = text.get("Query index") == "2" and text.get("Hit rank") == "2" and \
     text.get("Query name") == sys.argv[2] and "score=" in text.get("Scores", "") and \
     text.get("Search parameters", "").startswith("score=mf ")
if not ok: print("  ", text, file=sys.stderr)
sys.exit(0 if ok else 1)
EOF

# ---- errors: exit 1, a message, no file ------------------------------------------------------
"$BIN" plot -l dea.h5 --query "$QMSP" >e.out 2>e.err
expect_rc "missing -o" 1 $?
expect_msg "missing -o" e.err "-o OUT.png is required"

"$BIN" plot -l dea.h5 --query "$QMSP" --hit 1000 -o e1.png >e.out 2>e.err
expect_rc "--hit 1000" 1 $?
expect_msg "--hit 1000" e.err "--hit 1000 is beyond them"
expect_msg "--hit 1000" e.err "$q1"
[ -e e1.png ] && fail "--hit 1000 wrote a file"

printf 'Name: Synthetic nothing alike\nNum Peaks: 1\n997 999\n' >none.msp
"$BIN" plot -l dea.h5 --query none.msp -o e2.png >e.out 2>e.err
expect_rc "a query without hits" 1 $?
expect_msg "a query without hits" e.err "matches no library spectrum"
[ -e e2.png ] && fail "a query without hits wrote a file"

"$BIN" plot -l dea.h5 --query "$QMSP" --query-index 7 -o e3.png >e.out 2>e.err
expect_rc "--query-index 7" 1 $?
expect_msg "--query-index 7" e.err "--query-index 7"
[ -e e3.png ] && fail "--query-index 7 wrote a file"

"$BIN" plot -l dea.h5 --query "$QMSP" -o missing-dir/e4.png >e.out 2>e.err
expect_rc "missing directory" 1 $?
expect_msg "missing directory" e.err "missing-dir/e4.png"

"$BIN" plot -l dea.h5 --query missing.msp -o e5.png >e.out 2>e.err
expect_rc "missing query file" 1 $?
expect_msg "missing query file" e.err "missing.msp"

"$BIN" plot -l dea.h5 --query "$QMSP" --hit 0 -o e6.png >e.out 2>e.err
expect_rc "--hit 0" 1 $?
expect_msg "--hit 0" e.err "--hit"

NPSW_FONT=$PWD/no-such-font.ttf "$BIN" plot -l dea.h5 --query "$QMSP" -o e7.png >e.out 2>e.err
expect_rc "missing font" 1 $?
expect_msg "missing font" e.err "NPSW_FONT"
expect_msg "missing font" e.err "no-such-font.ttf"
[ -e e7.png ] && fail "a missing font wrote a file"

"$BIN" plot -l dea.h5 --query "$QMSP" -o . >e.out 2>e.err
expect_rc "-o a directory" 1 $?
expect_msg "-o a directory" e.err "directory"

# --peaks-tsv: every peak of both spectra once, matched pairs side by side; the pairs are those
# the search counted (n_matched and the peak counts of 'npswatch search' for the same hit)
"$BIN" plot -l dea.h5 --query "$QMSP" --hit 2 -o pk.png --peaks-tsv pk.tsv >pk.out 2>pk.err
expect_rc "plot --peaks-tsv" 0 $?
check_png pk.png PALE || fail "pk.png: matched and unmatched peaks not drawn in full and pale colours"
"$BIN" search -l dea.h5 -k 2 "$QMSP" >pk_search.tsv 2>/dev/null
python3 - pk.tsv pk_search.tsv <<'EOF' || fail "the peak table does not agree with the search (see above)"
import sys
rows, head, cols = [], {}, []
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if line.startswith("# "):
        k, v = line[2:].split("\t", 1)
        head[k] = v
    elif line.startswith("status\t"):
        cols = line.split("\t")
    else:
        rows.append(dict(zip(cols, line.split("\t"))))
hit = None
for line in open(sys.argv[2], encoding="utf-8"):
    if line.startswith("#") or line.startswith("query_index"):
        continue
    f = line.rstrip("\n").split("\t")
    if f[0] == "1" and f[4] == "2":
        hit = f
assert hit, "no hit 2 of query 1 in the search output"
n_matched, q_peaks, h_peaks = int(hit[17]), int(hit[18]), int(hit[19])
matched = [r for r in rows if r["status"] == "matched"]
ok = True
def check(cond, msg):
    global ok
    if not cond:
        print("peak table: " + msg, file=sys.stderr)
        ok = False
check(n_matched > 0, "the search matched no peaks: nothing is tested")
check(len(matched) == n_matched, f"{len(matched)} matched rows, search n_matched {n_matched}")
check(sum(1 for r in rows if r["query_mz"]) == q_peaks, f"query peaks != {q_peaks}")
check(sum(1 for r in rows if r["library_mz"]) == h_peaks, f"library peaks != {h_peaks}")
check(all(r["query_mz"] == r["library_mz"] and r["delta_mz"] == "+0.0000" for r in matched),
      "a nominal pair with different m/z")
check(all(not (r["query_mz"] and r["library_mz"]) for r in rows if r["status"] != "matched"),
      "an unmatched row with both peaks")
mzs = [float(r["query_mz"] or r["library_mz"]) for r in rows]
check(mzs == sorted(mzs), "rows not in m/z order")
check(head.get("hit_rank") == "2" and head.get("hit_library_index") == hit[5],
      f"header names hit {head.get('hit_library_index')}, search says {hit[5]}")
check(f"n_matched={n_matched}" in head.get("scores", ""), "scores line lacks n_matched")
sys.exit(0 if ok else 1)
EOF

# no temporary files left anywhere
ls -a | grep -q '\.tmp\.' && { fail "temporary files left behind"; ls -la >&2; }

if [ $fails -ne 0 ]; then
    echo "FAILED: $fails check(s) in test_cli_plot.sh" >&2
    exit 1
fi
echo "test_cli_plot.sh: all checks passed"
exit 0
