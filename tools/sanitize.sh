#!/usr/bin/env bash
# The sanitizer job: an ASan+UBSan build in build-asan/ (gcc, -O1 -g, every error fatal), then
# the test suite under it, the fuzz targets included (they are built with clang and libFuzzer,
# with the same sanitizers, and run for a few seconds each as ctest tests).
#
# Left out, to fit about four minutes on a 2-core machine and to keep the job deterministic:
# - StatsTest.ReadyPercentRises... and StatsTest.ExactCounters...: the first measures host
#   scheduling; the second expects exactly 10 PIT ticks during a guest's 1000 port writes, and
#   the sanitizers' slowdown of emu lets 12 come. Neither says anything about memory safety.
# - RecordReplayTest.KvmKicksAreFoundAgain...: on PVM (no vmx/svm) an interrupt window may land
#   an instruction late, which the slower build makes frequent (the plain suite sees it rarely).
# - EmuDifferential / X87Differential: random instruction sequences against the real CPU, the
#   slowest tests (about 10 s and 7 s plain, several times that here); the emu unit tests that
#   stay cover the same interpreter code paths.
# - LinuxTraceTest, LinuxIcountTest and LinuxConsoleTest: whole Linux boots, three, two and
#   three of them (about a minute, 18 s and 30 s plain, several minutes under the sanitizers); the
#   loader's tests and the kernel's first five million instructions on emu stay. LinuxTlbAging
#   boots Linux and re-executes 60 M instructions from checkpoints (about 50 s plain).
# Extra arguments go to ctest (e.g. -R Trace).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${RRVM_ASAN_BUILD:-$root/build-asan}
jobs=${RRVM_JOBS:-$(nproc)}

sanitizers="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug \
  -DCMAKE_C_FLAGS_DEBUG="-O1 -g" -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g" \
  -DCMAKE_C_FLAGS="$sanitizers" -DCMAKE_CXX_FLAGS="$sanitizers" \
  -DCMAKE_EXE_LINKER_FLAGS="$sanitizers" \
  -DRRVM_WERROR=OFF -DRRVM_STATIC_RUNTIME=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" -j"$jobs"

# Leaks count too; a sanitizer report ends the process with a failing status.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
excluded='ReadyPercentRises|ExactCountersOfAGuestThatDeterminesThem|KvmKicksAreFoundAgain|EmuDifferential|X87Differential|LinuxTraceTest|LinuxIcountTest|LinuxConsoleTest|LinuxTlbAging'
ctest --test-dir "$build" --output-on-failure -j"$jobs" -E "$excluded" "$@"
