#!/usr/bin/env bash
# The whole test suite: install dependencies, then build and run every test twice, once in a
# Release build and once in a Debug build with AddressSanitizer + UndefinedBehaviorSanitizer, and
# run each importer's libFuzzer harness for a bounded time (NPSW_FUZZ_SECONDS, default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
jobs=$(nproc)
cmake -S . -B build-test -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build-test -j"$jobs" >/dev/null
(cd build-test && ctest --output-on-failure -j"$jobs")
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DNPSW_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs" >/dev/null
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$jobs")
if [ -f tests/fuzz/run.sh ]; then bash tests/fuzz/run.sh; fi
