#!/usr/bin/env bash
# ctest install.consumer: `cmake --install` into a temporary prefix, then use only what was
# installed (docs/install.md):
#   - the files are there: CLI, libnpsw.so.VERSION with its SONAME link and dev link, every public
#     header and config.h, npsw.pc, the CMake package, a man page per command, the Python package;
#     with WITH_MPI=1 (npswatch-mpi built) also npswatch-mpi and its man pages;
#   - every installed header compiles on its own (-Wall -Wextra -Werror), so none needs a private
#     header or another include first;
#   - a tiny consumer program (tests/install/consumer) builds twice, via pkg-config and via
#     find_package(npswatch), and searches the bundled SWGDRUG examples against a library that the
#     installed npswatch builds from the bundled SWGDRUG subset: both print the same best hits as
#     the installed `npswatch search` (query, hit index, MF);
#   - the installed Python package loads the installed libnpsw and finds the same best hits;
#   - the installed tree still works after being moved (npsw.pc and the Python package find their
#     files relative to themselves).
# Arguments: BUILD_DIR SOURCE_DIR SCRATCH PYTHON3 [SANITIZER_FLAGS [ASAN_RUNTIME [WITH_MPI]]]
set -uo pipefail
build=$1 src=$2 work=$3 py=$4 sanflags=${5:-} asanrt=${6:-} with_mpi=${7:-0}
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
rm -rf "$work" && mkdir -p "$work" || exit 1
cd "$work" || exit 1
prefix=$work/prefix

if ! cmake --install "$build" --prefix "$prefix" >install.log 2>&1; then
  echo "FAIL: cmake --install failed"; tail -20 install.log; exit 1
fi

# ---- the installed files ----
libfile=$(find "$prefix" -name 'libnpsw.so.*.*.*' -type f | head -1)
[ -n "$libfile" ] || { echo "FAIL: no libnpsw.so.MAJOR.MINOR.PATCH installed"; find "$prefix" | head -50; exit 1; }
libdir=$(dirname "$libfile")
[ -x "$prefix/bin/npswatch" ] || fail "bin/npswatch not installed"
mpi_exe=()
if [ "$with_mpi" = 1 ]; then
  [ -x "$prefix/bin/npswatch-mpi" ] || fail "bin/npswatch-mpi not installed"
  mpi_exe=("$prefix/bin/npswatch-mpi")
fi
[ -L "$libdir/libnpsw.so" ] || fail "the development link libnpsw.so is missing"
[ ! -e "$libdir/libnpsw.a" ] || fail "the static libnpsw.a should not be installed"
soname=$(objdump -p "$libfile" | awk '$1 == "SONAME" {print $2}')
case $soname in libnpsw.so.[0-9]*) ;; *) fail "SONAME of $libfile is '$soname', expected libnpsw.so.N" ;; esac
[ -L "$libdir/$soname" ] || fail "the SONAME link $soname is missing"
# only the public API is exported: every dynamic symbol defined by the library starts with npsw_
bad_syms=$(nm -D --defined-only "$libfile" | awk '$3 !~ /^npsw_/ {print $3}' | head -5)
[ -z "$bad_syms" ] || fail "libnpsw exports symbols outside npsw_*: $bad_syms"
for h in "$src"/core/include/npsw/*.h "$src"/spectra_db/include/npsw/*.h "$src"/api/include/npsw/*.h; do
  [ -f "$prefix/include/npsw/$(basename "$h")" ] || fail "header $(basename "$h") not installed"
done
[ -f "$prefix/include/npsw/config.h" ] || fail "the generated npsw/config.h is not installed"
pcdir=$libdir/pkgconfig
[ -f "$pcdir/npsw.pc" ] || fail "npsw.pc not installed in $pcdir"
[ -f "$libdir/cmake/npswatch/npswatchConfig.cmake" ] || fail "the CMake package is not installed"
pydir=$(find "$prefix" -type d -path '*dist-packages/npswatch' | head -1)
[ -n "$pydir" ] && [ -f "$pydir/__init__.py" ] && [ -f "$pydir/_install.py" ] ||
  fail "the Python package npswatch (with _install.py) is not installed"
if ! "$py" "$src/tests/install/check_man.py" "$src" "$prefix/bin/npswatch" "$prefix/share/man/man1" \
     "${mpi_exe[@]}" >man.out 2>&1; then
  fail "installed man pages:"; cat man.out
fi

# ---- every installed header on its own ----
cc=${CC:-cc}
nh=0
for h in "$prefix"/include/npsw/*.h; do
  printf '#include <npsw/%s>\nint npsw_header_check_%d;\n' "$(basename "$h")" "$nh" >hdr.c
  if ! $cc -std=c17 -Wall -Wextra -Werror -I"$prefix/include" -c hdr.c -o hdr.o 2>hdr.err; then
    fail "installed header $(basename "$h") does not compile on its own:"; head -5 hdr.err
  fi
  nh=$((nh + 1))
done
[ "$nh" -ge 15 ] || fail "only $nh headers installed"

# ---- a library and the CLI's answer ----
"$prefix/bin/npswatch" build -o dea.h5 "$src/spectra_db/data/swgdrug_3.4_dea.msp" 2>build.err ||
  { echo "FAIL: the installed npswatch cannot build a library"; cat build.err; exit 1; }
queries=$src/spectra_db/data/examples/example_queries.msp
"$prefix/bin/npswatch" search -l dea.h5 -k 1 "$queries" >cli.tsv 2>cli.err ||
  { echo "FAIL: the installed npswatch search failed"; cat cli.err; exit 1; }
awk -F'\t' '!/^#/ && $5 == "1" {print $1 "\t" $6 "\t" $13}' cli.tsv >expected.tsv
[ "$(wc -l <expected.tsv)" -ge 3 ] || fail "the CLI found fewer than 3 best hits: $(cat expected.tsv)"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
run_consumer() { # name binary
  if ! "$2" dea.h5 "$queries" >"$1.tsv" 2>"$1.err"; then
    fail "consumer ($1) failed:"; cat "$1.err"; return
  fi
  cmp -s expected.tsv "$1.tsv" || { fail "consumer ($1) differs from npswatch search:"; diff expected.tsv "$1.tsv" | head; }
}

# ---- consumer via pkg-config ----
export PKG_CONFIG_PATH=$pcdir
if flags=$(pkg-config --cflags --libs npsw 2>pc.err); then
  # shellcheck disable=SC2086
  if $cc -std=c17 -Wall -Wextra -Werror $sanflags "$src/tests/install/consumer/consumer.c" $flags \
       -Wl,-rpath,"$libdir" -o consumer_pc 2>cc.err; then
    run_consumer pkg-config ./consumer_pc
  else
    fail "consumer does not build with pkg-config flags '$flags':"; head -20 cc.err
  fi
else
  fail "pkg-config cannot read npsw.pc:"; cat pc.err
fi

# ---- consumer via find_package(npswatch) ----
if cmake -S "$src/tests/install/consumer" -B consumer_cmake -DCMAKE_PREFIX_PATH="$prefix" \
     -DCMAKE_C_FLAGS="-Wall -Wextra -Werror $sanflags" -DCMAKE_EXE_LINKER_FLAGS="$sanflags" \
     >cmake.log 2>&1 && cmake --build consumer_cmake >>cmake.log 2>&1; then
  run_consumer find_package consumer_cmake/consumer
else
  fail "consumer does not build with find_package(npswatch):"; tail -20 cmake.log
fi

# ---- the installed Python package ----
pycheck() { # prefix: print the best hits found through the installed package
  local pd
  pd=$(find "$1" -type d -path '*dist-packages' | head -1)
  env -u NPSW_LIBRARY -u NPSW_BUILD_DIR PYTHONPATH="$pd" PYTHONDONTWRITEBYTECODE=1 \
    ${asanrt:+LD_PRELOAD=$asanrt ASAN_OPTIONS=detect_leaks=0} \
    "$py" - "$1" "$PWD/dea.h5" "$queries" <<'EOF'
import os, sys
import npswatch
prefix, lib, queries = sys.argv[1:4]
loaded = os.path.realpath(npswatch.library_path())
if not loaded.startswith(os.path.realpath(prefix) + os.sep):
    sys.exit(f"npswatch loaded {loaded}, not the library installed in {prefix}")
with npswatch.Library(lib) as L:
    for q in L.search(queries, k=1):
        for h in q["hits"]:
            print(f"{q['query_index']}\t{h['hit_index']}\t{h['mf']}")
EOF
}
if pycheck "$prefix" >python.tsv 2>python.err; then
  cmp -s expected.tsv python.tsv || { fail "installed Python package differs from npswatch search:"; diff expected.tsv python.tsv | head; }
else
  fail "the installed Python package failed:"; cat python.err
fi

# ---- a moved installation ----
mv "$prefix" "$work/moved"
moved_pc=${pcdir/#$prefix/$work/moved}
got=$(PKG_CONFIG_PATH=$moved_pc pkg-config --variable=includedir npsw 2>&1)
[ -f "$got/npsw/npsw_api.h" ] || fail "npsw.pc of a moved tree gives includedir '$got'"
if pycheck "$work/moved" >moved.tsv 2>moved.err; then
  cmp -s expected.tsv moved.tsv || fail "the moved Python package found other hits"
else
  fail "the Python package of a moved tree failed:"; cat moved.err
fi

echo "install: $nh headers compiled alone, $(wc -l <expected.tsv) best hits compared (pkg-config, find_package, Python, moved tree)"
[ "$fails" -eq 0 ] || { echo "$fails problem(s)"; exit 1; }
echo "install: all checks passed"
