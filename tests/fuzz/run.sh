#!/usr/bin/env bash
# Build the libFuzzer harnesses (clang, ASan + UBSan) in build-fuzz/ and run each one for a
# bounded time, then once more over its kept seed corpus as a regression check. Called at the end
# of tools/test.sh; see tests/fuzz/README.md.
#
#   NPSW_FUZZ_SECONDS    fuzzing time per harness (default 20; 0 = regression check only)
#   NPSW_FUZZ_HARNESSES  which harnesses (default "msp mgf jcamp csv mzml auto")
#   NPSW_FUZZ_JOBS       harnesses run at the same time (default: the number of CPUs, at most 6)
#   NPSW_FUZZ_BUILD_DIR  build directory (default build-fuzz, relative to the repository root)
#
# Each harness fuzzes a temporary copy of tests/fuzz/corpus/<fmt>/ (the auto harness: all five),
# so the kept corpus is never modified. Logs and any crash files go to build-fuzz/fuzz-out/<fmt>/.
# Exit status: 0 when every harness passed, 1 otherwise (the crash file and the command that
# reproduces it are printed).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$(pwd)
fuzz_dir=$root/tests/fuzz
build=${NPSW_FUZZ_BUILD_DIR:-build-fuzz}
case $build in /*) ;; *) build=$root/$build ;; esac
bshow=${build#"$root"/}
out=$build/fuzz-out

secs=${NPSW_FUZZ_SECONDS:-20}
read -r -a harnesses <<<"${NPSW_FUZZ_HARNESSES:-msp mgf jcamp csv mzml auto}"
jobs=${NPSW_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1
[ "$jobs" -gt ${#harnesses[@]} ] && jobs=${#harnesses[@]}
case $secs in
  '' | *[!0-9]*) echo "fuzz: NPSW_FUZZ_SECONDS must be a whole number of seconds" >&2; exit 2 ;;
esac
for h in "${harnesses[@]}"; do
  case $h in msp | mgf | jcamp | csv | mzml | auto) ;; *) echo "fuzz: unknown harness '$h'" >&2; exit 2 ;; esac
done
if ! command -v clang >/dev/null; then
  echo "fuzz: clang is needed for libFuzzer (apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi

start_time=$SECONDS
mkdir -p "$build"
# Two runs at once (say, two test.sh) would overwrite each other's build and logs: take turns.
if command -v flock >/dev/null; then
  exec 9>"$build/.fuzz-run.lock"
  flock -n 9 || { echo "fuzz: another run.sh is using $bshow; waiting for it"; flock 9; }
fi
echo "fuzz: building ${harnesses[*]} in $bshow (clang, libFuzzer, ASan + UBSan)"
# A build directory configured with another compiler cannot be switched to clang in place.
if [ -f "$build/CMakeCache.txt" ] &&
   ! grep -q '^CMAKE_C_COMPILER:[A-Z]*=.*clang' "$build/CMakeCache.txt"; then
  rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"
fi
if ! CC=clang cmake -S "$root" -B "$build" -DNPSW_FUZZ=ON -DNPSW_SANITIZE=ON -DBUILD_TESTING=OFF \
       -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$build/fuzz-configure.log" 2>&1; then
  tail -n 30 "$build/fuzz-configure.log"
  echo "fuzz: configuring $bshow failed (log: $bshow/fuzz-configure.log)"
  exit 1
fi
targets=()
for h in "${harnesses[@]}"; do targets+=("fuzz_$h"); done
if ! cmake --build "$build" -j"$(nproc 2>/dev/null || echo 1)" --target "${targets[@]}" \
       >"$build/fuzz-build.log" 2>&1; then
  grep -m 30 -E 'error|Error' "$build/fuzz-build.log" || tail -n 30 "$build/fuzz-build.log"
  echo "fuzz: building the harnesses failed (log: $bshow/fuzz-build.log)"
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/npsw-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
rm -rf "$out"
mkdir -p "$out"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
if ! command -v llvm-symbolizer >/dev/null && [ -x /usr/lib/llvm-14/bin/llvm-symbolizer ]; then
  export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-14/bin/llvm-symbolizer
fi

corpus_dirs() { # the kept seed corpus of a harness
  if [ "$1" = auto ]; then
    for f in msp mgf jcamp csv mzml; do echo "$fuzz_dir/corpus/$f"; done
  else
    echo "$fuzz_dir/corpus/$1"
  fi
}

dict_files() {
  if [ "$1" = auto ]; then
    for f in msp mgf jcamp csv mzml; do echo "$fuzz_dir/dict/$f.dict"; done
  else
    echo "$fuzz_dir/dict/$1.dict"
  fi
}

# One harness: fuzz a temporary copy of the corpus, then run the kept corpus once. Writes
# $out/$h.status ("ok" or "FAIL <phase>") and the logs; always returns 0.
run_one() {
  local h=$1 bin=$build/tests/fuzz/fuzz_$1 tmp=$work/$1 art=$out/$1
  local -a dirs common
  mkdir -p "$tmp/corpus" "$tmp/opt0" "$art"
  mapfile -t dirs < <(corpus_dirs "$h")
  # Seeds are plain files, and the harness takes the first byte as its options byte, so each seed
  # is used twice: as it is, and behind a 0x00 byte (default options; $tmp/opt0) to read whole.
  # New inputs go to $tmp/corpus, the first directory.
  local d f name n_seeds=0
  for d in "${dirs[@]}"; do
    [ -d "$d" ] || continue
    for f in "$d"/*; do
      [ -f "$f" ] || continue
      name=$(basename "$d")_$(basename "$f")
      cp "$f" "$tmp/corpus/$name"
      { printf '\0'; cat "$f"; } >"$tmp/opt0/$name"
      n_seeds=$((n_seeds + 1))
    done
  done
  mapfile -t dicts < <(dict_files "$h")
  cat "${dicts[@]}" >"$tmp/dict" 2>/dev/null || true
  common=(-rss_limit_mb=2048 -timeout=10 "-artifact_prefix=$art/")
  echo "$n_seeds" >"$out/$h.seeds"
  if [ "$secs" -gt 0 ]; then
    if ! "$bin" "${common[@]}" -max_total_time="$secs" -print_final_stats=1 -dict="$tmp/dict" \
         "$tmp/corpus" "$tmp/opt0" >"$out/$h.fuzz.log" 2>&1; then
      echo "FAIL fuzzing" >"$out/$h.status"
      return 0
    fi
  fi
  if ! "$bin" "${common[@]}" -runs=0 "${dirs[@]}" "$tmp/opt0" >"$out/$h.regress.log" 2>&1; then
    echo "FAIL regression" >"$out/$h.status"
    return 0
  fi
  echo ok >"$out/$h.status"
}

if [ "$secs" -gt 0 ]; then
  echo "fuzz: running each harness for ${secs}s, $jobs at a time"
else
  echo "fuzz: NPSW_FUZZ_SECONDS=0: regression check over the kept corpus only"
fi
running=0
for h in "${harnesses[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_one "$h" &
  running=$((running + 1))
done
wait || true

# Numbers from libFuzzer's output.
stat() { sed -n "s/^stat::$2: *//p" "$1" 2>/dev/null | tail -n 1; }
last_status() { grep -E '^#[0-9]+' "$1" 2>/dev/null | tail -n 1; }
field() { sed -n "s/.* $2: \([^ ]*\).*/\1/p" <<<"$1"; }

passed=0 failed=0
for h in "${harnesses[@]}"; do
  status=$(cat "$out/$h.status" 2>/dev/null || echo "FAIL (no result)")
  seeds=$(cat "$out/$h.seeds" 2>/dev/null || echo 0)
  if [ "$status" = ok ]; then
    passed=$((passed + 1))
    if [ "$secs" -gt 0 ]; then
      log=$out/$h.fuzz.log
      line=$(last_status "$log")
      runs=$(stat "$log" number_of_executed_units) rate=$(stat "$log" average_exec_per_sec)
      printf 'fuzz_%-5s ok: %s runs in %ss (%s exec/s), cov %s, ft %s, corpus %s -> %s;' \
        "$h" "$runs" "$secs" "$rate" "$(field "$line" cov)" "$(field "$line" ft)" \
        "$((seeds * 2))" "$(field "$line" corp)"
      printf ' regression over %s kept inputs ok\n' "$((seeds * 2))"
    else
      printf 'fuzz_%-5s ok: regression over %s kept inputs\n' "$h" "$((seeds * 2))"
    fi
    continue
  fi
  failed=$((failed + 1))
  case $status in *regression*) log=$out/$h.regress.log ;; *) log=$out/$h.fuzz.log ;; esac
  echo "fuzz_$h $status (log: ${log#"$root"/}):"
  # the sanitizer or invariant report, without libFuzzer's progress lines before it
  report_re='^==[0-9]+==|INVARIANT VIOLATED|runtime error:|ERROR: libFuzzer'
  first=$(grep -n -m1 -E "$report_re" "$log" | cut -d: -f1 || true)
  if [ -n "$first" ]; then
    sed -n "${first},$((first + 59))p" "$log" | sed 's/^/    /'
  else
    tail -n 40 "$log" | sed 's/^/    /'
  fi
  found=0
  for a in "$out/$h"/*; do
    [ -f "$a" ] || continue
    found=1
    echo "  crash file: ${a#"$root"/}"
    echo "  reproduce:  $bshow/tests/fuzz/fuzz_$h ${a#"$root"/}"
  done
  [ "$found" = 1 ] || echo "  (no crash file written; see the log)"
done
echo "fuzz: done in $((SECONDS - start_time))s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
