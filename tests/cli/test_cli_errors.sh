#!/bin/bash
# test_cli_errors.sh - every documented error path of npswatch: non-zero exit (1 for input
# problems), a message naming the file (and the line for parse errors), and no damage to an
# existing library. All inputs are SYNTHETIC and written below.
#
# Usage: bash test_cli_errors.sh NPSWATCH_BINARY SCRATCH_DIR
set -u
BIN=${1:?usage: test_cli_errors.sh NPSWATCH_BINARY SCRATCH_DIR}
S=${2:?usage: test_cli_errors.sh NPSWATCH_BINARY SCRATCH_DIR}
case "$BIN" in /*) ;; */*) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "FAIL: $BIN is not an executable"; exit 1; }
rm -rf "$S" && mkdir -p "$S" || { echo "FAIL: cannot create scratch dir $S"; exit 1; }
cd "$S" || exit 1

fails=0
skipped=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
show() { echo "---- $1:" >&2; sed 's/^/    /' "$1" >&2; }

# expect_rc WHAT EXPECTED_RC ACTUAL_RC
expect_rc() { [ "$3" -eq "$2" ] || fail "$1: exit code $3, expected $2"; }
# expect_msg WHAT FILE PATTERN (fixed string)
expect_msg() { grep -qF -- "$3" "$2" || { fail "$1: message does not contain '$3'"; show "$2"; }; }

# ---- synthetic inputs -----------------------------------------------------------------------
cat >good.msp <<'EOF'
Name: Synthetic Good A
Comments: synthetic test record
Num Peaks: 3
41 100
55 999
77 300

Name: Synthetic Good B
Comments: synthetic test record
Num Peaks: 2
43 999
58 400
EOF
# line 11 has a word where the intensity should be
cat >bad.msp <<'EOF'
Name: Synthetic Good C
Comments: synthetic test record
Num Peaks: 2
50 999
51 100

Name: Synthetic Broken
Comments: synthetic test record with a malformed peak line
Num Peaks: 2
60 999
61 abc

Name: Synthetic Good D
Comments: synthetic test record
Num Peaks: 1
70 999
EOF
: >empty.msp
# fixed "random" bytes (binary junk with NULs and high bytes, no line structure)
printf '\x89\x00\xfe\xff\x13\x37\xc3\x28\xa0\xa1\x00\x00\x9f\x01\x02\x7f\xde\xad\xbe\xef\x00\x10\x20\x30\xf0\x28\x8c\xbc\x00\xff\xfe\xfd' >random.bin
printf '\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0b\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x80\x81\x82\x83' >>random.bin

"$BIN" build -o base.h5 good.msp >base.out 2>base.err
if [ $? -ne 0 ] || [ ! -f base.h5 ]; then
    fail "cannot build a library from good.msp"
    show base.err
    echo "FAILED: $fails check(s); cannot continue without a library" >&2
    exit 1
fi

# ---- build: input problems ------------------------------------------------------------------
"$BIN" build -o out1.h5 does_not_exist.msp >e1.out 2>e1.err
expect_rc "build, nonexistent input" 1 $?
expect_msg "build, nonexistent input" e1.err "does_not_exist.msp"
[ -e out1.h5 ] && fail "build, nonexistent input: out1.h5 was created"

"$BIN" build -o out2.h5 empty.msp >e2.out 2>e2.err
expect_rc "build, empty input" 1 $?
expect_msg "build, empty input" e2.err "empty.msp"
[ -e out2.h5 ] && fail "build, empty input: out2.h5 was created"

"$BIN" build -o out3.h5 random.bin >e3.out 2>e3.err
expect_rc "build, random bytes" 1 $?
expect_msg "build, random bytes" e3.err "random.bin"
# the hint must name the option that exists: build/search take --input-format (in search,
# --format is the OUTPUT format: tsv, json, nist)
grep -q -- "--format" e3.err && ! grep -q -- "--input-format" e3.err &&
    { fail "build, random bytes: the message tells to use '--format', but the option is '--input-format'"; show e3.err; }
[ -e out3.h5 ] && fail "build, random bytes: out3.h5 was created"

# the same random bytes declared as MSP: no spectra, still exit 1 and the file named
"$BIN" build -o out3b.h5 --input-format msp random.bin >e3b.out 2>e3b.err
expect_rc "build --input-format msp, random bytes" 1 $?
expect_msg "build --input-format msp, random bytes" e3b.err "random.bin"
[ -e out3b.h5 ] && fail "build --input-format msp, random bytes: out3b.h5 was created"

# lenient: the good records are kept, the bad one reported with its file and line
"$BIN" build -o lenient.h5 bad.msp >e4.out 2>e4.err
rc=$?
expect_rc "build (lenient), one malformed record" 0 $rc
expect_msg "build (lenient), one malformed record" e4.err "skipped 1"
expect_msg "build (lenient), one malformed record" e4.err "bad.msp:11:"
if [ -f lenient.h5 ]; then
    "$BIN" info lenient.h5 >e4i.out 2>&1
    grep -q "^spectra: 2$" e4i.out || { fail "lenient build: library should hold the 2 good spectra"; show e4i.out; }
    grep -q "records=2 skipped=1" e4i.out || { fail "lenient build: provenance should say records=2 skipped=1"; show e4i.out; }
else
    fail "build (lenient): lenient.h5 not written"
fi

# strict: exit 1, nothing written, an existing library left byte-identical
"$BIN" build --strict -o strict_new.h5 bad.msp >e5.out 2>e5.err
expect_rc "build --strict, malformed record, new output" 1 $?
expect_msg "build --strict, malformed record, new output" e5.err "bad.msp:11:"
[ -e strict_new.h5 ] && fail "build --strict: strict_new.h5 was created although the build failed"

cp base.h5 strict_old.h5
before=$(sha256sum strict_old.h5 | cut -d' ' -f1)
"$BIN" build --strict -o strict_old.h5 bad.msp >e6.out 2>e6.err
expect_rc "build --strict, malformed record, existing output" 1 $?
expect_msg "build --strict, malformed record, existing output" e6.err "bad.msp:11:"
after=$(sha256sum strict_old.h5 | cut -d' ' -f1)
[ "$before" = "$after" ] || fail "build --strict: the existing library changed ($before -> $after)"
ls ./*.tmp.* >/dev/null 2>&1 && fail "temporary files left behind: $(ls ./*.tmp.*)"

# ---- info -----------------------------------------------------------------------------------
"$BIN" info good.msp >e7.out 2>e7.err
expect_rc "info on a non-HDF5 file" 1 $?
expect_msg "info on a non-HDF5 file" e7.err "good.msp"

# a library cut short (a copy interrupted half-way): HDF5 refuses it, npswatch says so, exit 1
size=$(stat -c %s strict_old.h5)
head -c $((size / 2)) strict_old.h5 >truncated.h5
"$BIN" info truncated.h5 >e7b.out 2>e7b.err
expect_rc "info on a truncated library" 1 $?
expect_msg "info on a truncated library" e7b.err "truncated.h5"
"$BIN" search -l truncated.h5 good.msp >e7c.out 2>e7c.err
expect_rc "search with a truncated library" 1 $?
expect_msg "search with a truncated library" e7c.err "truncated.h5"

# output to something that is not a regular file is written in place, never renamed over
mkfifo out.fifo
cat out.fifo >fifo.txt &
reader=$!
"$BIN" search -l strict_old.h5 -o out.fifo good.msp >e7d.out 2>e7d.err
rc=$?
expect_rc "search -o FIFO" 0 $rc
# a search that failed before opening the FIFO leaves the reader waiting: release it
[ $rc -eq 0 ] || timeout 5 sh -c ': >out.fifo' || true
wait $reader
[ -p out.fifo ] || fail "search -o FIFO: the FIFO was replaced by a regular file"
grep -q "^1	Synthetic Good A" fifo.txt || { fail "search -o FIFO: hits did not arrive through the FIFO"; show fifo.txt; }
"$BIN" build -o out.fifo good.msp >e7e.out 2>e7e.err
expect_rc "build -o FIFO" 1 $?
expect_msg "build -o FIFO" e7e.err "not a regular file"
[ -p out.fifo ] || fail "build -o FIFO: the FIFO was replaced"

"$BIN" info missing.h5 >e8.out 2>e8.err
expect_rc "info on a missing file" 1 $?
expect_msg "info on a missing file" e8.err "missing.h5"

"$BIN" info --verify empty.msp >e8b.out 2>e8b.err
expect_rc "info on an empty file" 1 $?
expect_msg "info on an empty file" e8b.err "empty.msp"

# a truncated library
head -c 2000 base.h5 >truncated.h5
"$BIN" info --verify truncated.h5 >e8c.out 2>e8c.err
rc=$?
[ $rc -eq 1 ] || [ $rc -eq 2 ] || fail "info on a truncated library: exit code $rc, expected 1 or 2"
expect_msg "info on a truncated library" e8c.err "truncated.h5"

# ---- search ---------------------------------------------------------------------------------
"$BIN" search -l base.h5 -k 0 good.msp >e9.out 2>e9.err
expect_rc "search -k 0" 1 $?
expect_msg "search -k 0" e9.err "-k"

"$BIN" search -l base.h5 --score bogus good.msp >e10.out 2>e10.err
expect_rc "search --score bogus" 1 $?
expect_msg "search --score bogus" e10.err "bogus"

"$BIN" search -l missing.h5 good.msp >e11.out 2>e11.err
expect_rc "search, missing library" 1 $?
expect_msg "search, missing library" e11.err "missing.h5"

"$BIN" search -l good.msp good.msp >e12.out 2>e12.err
expect_rc "search, library is not HDF5" 1 $?
expect_msg "search, library is not HDF5" e12.err "good.msp"

"$BIN" search -l base.h5 does_not_exist.msp >e13.out 2>e13.err
expect_rc "search, nonexistent query file" 1 $?
expect_msg "search, nonexistent query file" e13.err "does_not_exist.msp"

"$BIN" search -l base.h5 empty.msp >e13b.out 2>e13b.err
expect_rc "search, empty query file" 1 $?
expect_msg "search, empty query file" e13b.err "empty.msp"

"$BIN" search -l base.h5 --strict bad.msp >e14.out 2>e14.err
expect_rc "search --strict, malformed query record" 1 $?
expect_msg "search --strict, malformed query record" e14.err "bad.msp:11:"

# ---- a library written by a newer npswatch (format_major 99) ------------------------------
cp base.h5 v99.h5
patched=""
if python3 -c 'import h5py' 2>/dev/null; then
    python3 - v99.h5 <<'EOF' && patched="h5py"
import sys, h5py, numpy
with h5py.File(sys.argv[1], "r+") as f:
    dt = f.attrs.get_id("format_major").dtype
    f.attrs.modify("format_major", numpy.array(99, dtype=dt))
EOF
elif command -v h5edit >/dev/null 2>&1; then
    h5edit -c 'DELETE /format_major; CREATE / format_major { DATATYPE H5T_STD_I32LE DATASPACE SCALAR DATA { 99 } };' v99.h5 && patched="h5edit"
else
    # Neither h5py nor h5edit: patch the attribute in place, but only when its HDF5 layout is
    # exactly the one expected (version-1 attribute message "format_major", 4-byte integer,
    # scalar dataspace, value 1); otherwise this check is skipped.
    python3 - v99.h5 <<'EOF' && patched="binary patch of the version-1 attribute message"
import struct, sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
name = b"format_major\x00"
if b.count(name) != 1:
    sys.exit(1)
i = b.index(name)
hdr = b[i - 8:i]
ver, _, nsz, dtsz, dssz = struct.unpack("<BBHHH", hdr)
pad = lambda n: (n + 7) // 8 * 8
if ver != 1 or nsz != len(name):
    sys.exit(1)
dt = i + pad(nsz)
if (b[dt] & 0x0F) != 0 or struct.unpack("<I", b[dt + 4:dt + 8])[0] != 4:  # fixed-point, 4 bytes
    sys.exit(1)
ds = dt + pad(dtsz)
if b[ds] != 1 or b[ds + 1] != 0:  # dataspace version 1, rank 0 (scalar)
    sys.exit(1)
data = ds + pad(dssz)
if struct.unpack("<i", b[data:data + 4])[0] != 1:
    sys.exit(1)
b[data:data + 4] = struct.pack("<i", 99)
open(p, "wb").write(bytes(b))
EOF
fi
if [ -n "$patched" ]; then
    "$BIN" info v99.h5 >e15.out 2>e15.err
    expect_rc "info, library format_major 99 (made with $patched)" 1 $?
    expect_msg "info, library format_major 99" e15.err "v99.h5"
    grep -q "99" e15.err || { fail "info, format 99: the message does not give the file's version"; show e15.err; }
    "$BIN" search -l v99.h5 good.msp >e16.out 2>e16.err
    expect_rc "search, library format_major 99" 1 $?
    expect_msg "search, library format_major 99" e16.err "v99.h5"
else
    echo "SKIPPED: format_major 99 check: neither h5py nor h5edit is available and the attribute" \
         "layout was not the expected one, so no newer-format library could be made" >&2
    skipped=1
fi

if [ $fails -ne 0 ]; then
    echo "FAILED: $fails check(s) in test_cli_errors.sh" >&2
    exit 1
fi
if [ $skipped -ne 0 ]; then
    echo "test_cli_errors.sh: all checks that ran passed (the format_major 99 check was skipped)"
else
    echo "test_cli_errors.sh: all checks passed"
fi
exit 0
