#!/bin/bash
# test_cli_atomic.sh - 'npswatch build' replaces its output atomically (npsw/libfile.h: written to
# PATH.tmp.PID, fsync'ed, renamed): a build killed with SIGKILL leaves an existing library
# byte-identical and still valid, and a build into a missing directory fails cleanly.
# The big input is SYNTHETIC random spectra generated below with python3 (fixed seed).
#
# Usage: bash test_cli_atomic.sh NPSWATCH_BINARY SCRATCH_DIR
set -u
BIN=${1:?usage: test_cli_atomic.sh NPSWATCH_BINARY SCRATCH_DIR}
S=${2:?usage: test_cli_atomic.sh NPSWATCH_BINARY SCRATCH_DIR}
case "$BIN" in /*) ;; */*) BIN=$PWD/$BIN ;; esac
[ -x "$BIN" ] || { echo "FAIL: $BIN is not an executable"; exit 1; }
rm -rf "$S" && mkdir -p "$S" || { echo "FAIL: cannot create scratch dir $S"; exit 1; }
cd "$S" || exit 1
command -v python3 >/dev/null || { echo "skipped: python3 is needed to generate the big input"; exit 77; }

fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
show() { echo "---- $1:" >&2; sed 's/^/    /' "$1" | head -20 >&2; }

cat >small.msp <<'EOF'
Name: Synthetic Small A
Comments: synthetic test record
Num Peaks: 3
41 100
55 999
77 300

Name: Synthetic Small B
Comments: synthetic test record
Num Peaks: 2
43 999
58 400
EOF
"$BIN" build -o L.h5 small.msp >b0.out 2>b0.err
if [ $? -ne 0 ] || [ ! -f L.h5 ]; then
    fail "cannot build the small library"
    show b0.err
    exit 1
fi
sum0=$(sha256sum L.h5 | cut -d' ' -f1)

# 150,000 SYNTHETIC random spectra of 100 peaks each (1,000 distinct random peak lists, reused
# under different names so that generating ~130 MB stays well under a second)
python3 - big.msp <<'EOF' || { fail "cannot generate big.msp"; exit 1; }
import random, sys
rng = random.Random(20261126)
bodies = []
for j in range(1000):
    mzs = sorted(rng.sample(range(30, 600), 100))
    bodies.append("Num Peaks: 100\n" + "".join("%d %d\n" % (m, rng.randint(1, 999)) for m in mzs) + "\n")
with open(sys.argv[1], "w") as f:
    f.writelines("Name: Synthetic random %d\nComments: synthetic random spectrum\n%s" % (k, bodies[k % 1000])
                 for k in range(150000))
EOF

# kill_build DELAY: start a build of big.msp into L.h5, SIGKILL it after DELAY seconds.
# Prints "killed" when the process was still running at that moment, else "finished RC".
kill_build() {
    "$BIN" build -o L.h5 big.msp >big.out 2>big.err &
    local pid=$!
    sleep "$1"
    if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        local rc=$?
        if [ $rc -eq 137 ]; then echo killed; else echo "finished $rc"; fi
    else
        wait "$pid"
        echo "finished $?"
    fi
}

# 1. killed early, while the input is still being read
r=$(kill_build 0.3)
if [ "$r" = "killed" ]; then
    sum1=$(sha256sum L.h5 | cut -d' ' -f1)
    [ "$sum1" = "$sum0" ] || fail "L.h5 changed after a build killed at 0.3 s ($sum0 -> $sum1)"
    "$BIN" info --verify L.h5 >v1.out 2>v1.err
    [ $? -eq 0 ] && grep -q "^verify: ok" v1.out || { fail "info --verify L.h5 after the kill is not ok"; show v1.out; show v1.err; }
    grep -q "^spectra: 2$" v1.out || fail "L.h5 no longer holds the 2 small spectra"
else
    fail "the build of big.msp was not running any more at 0.3 s ($r): cannot test the kill"
fi

# 2. killed later (maybe while the library is being written). When the build had already
#    finished, L.h5 was legitimately replaced: then only check that it is valid.
for delay in 1.5 3; do
    cp -p L.h5 L.before
    sumb=$(sha256sum L.before | cut -d' ' -f1)
    r=$(kill_build $delay)
    case "$r" in
    killed)
        suma=$(sha256sum L.h5 | cut -d' ' -f1)
        [ "$suma" = "$sumb" ] || fail "L.h5 changed after a build killed at $delay s"
        ;;
    "finished 0")
        echo "note: the build finished before $delay s; L.h5 was replaced by the complete library"
        "$BIN" info --verify L.h5 >v2.out 2>v2.err
        grep -q "^spectra: 150000$" v2.out || { fail "finished build: L.h5 should hold 150000 spectra"; show v2.out; }
        cp -p L.before L.h5
        ;;
    *) fail "build of big.msp: $r"; show big.err ;;
    esac
    "$BIN" info --verify L.h5 >v3.out 2>v3.err
    [ $? -eq 0 ] && grep -q "^verify: ok" v3.out || { fail "info --verify L.h5 not ok after the build killed at $delay s"; show v3.err; }
done

# 3. a new library killed during its build must not appear half-written under its name
"$BIN" build -o NEW.h5 big.msp >new.out 2>new.err &
pid=$!
sleep 0.3
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
[ -e NEW.h5 ] && fail "NEW.h5 exists after its build was killed at 0.3 s"

# 4. output directory does not exist
"$BIN" build -o no/such/dir/L.h5 small.msp >nd.out 2>nd.err
rc=$?
[ $rc -eq 1 ] || [ $rc -eq 2 ] || fail "build into a missing directory: exit code $rc, expected 1 or 2"
grep -q "no/such/dir" nd.err || { fail "build into a missing directory: the message does not name the path"; show nd.err; }
[ -e no ] && fail "build into a missing directory created something"

# 5. output is a directory
mkdir -p isdir.h5
"$BIN" build -o isdir.h5 small.msp >id.out 2>id.err
rc=$?
[ $rc -eq 1 ] || [ $rc -eq 2 ] || fail "build onto a directory: exit code $rc, expected 1 or 2"
grep -q "isdir.h5" id.err || { fail "build onto a directory: the message does not name the path"; show id.err; }
[ -d isdir.h5 ] || fail "build onto a directory removed the directory"
ls isdir.h5.tmp.* >/dev/null 2>&1 && fail "build onto a directory left its temporary file behind"

rm -f big.msp
if [ $fails -ne 0 ]; then
    echo "FAILED: $fails check(s) in test_cli_atomic.sh" >&2
    exit 1
fi
echo "test_cli_atomic.sh: all checks passed"
exit 0
