#!/usr/bin/env bash
# Installs what is missing, builds rrvm and shows its main job on the bundled demo guest: a kernel
# that loses a timer tick now and then (a lost update between its main loop and its timer
# interrupt handler). rrvm records it until a run fails, then replays that failure: it reproduces
# every time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target rrvm test_guests
rrvm=./build/tools/rrvm
guest=build/tests/guests/demo_race.elf
trace=build/demo.trace

echo "== rrvm record --until-fail: run the guest until it fails, keeping that run's trace"
status=0
"$rrvm" record --until-fail 100 -o "$trace" "$guest" || status=$?
if [ ! -f "$trace" ]; then
  echo "demo: no failing run in 100 attempts (the bug is timing-dependent); try again"
  exit 1
fi
echo "(the failing run exited with status $status)"
for i in 1 2 3; do
  echo "== rrvm replay, time $i: the same failure, exactly"
  "$rrvm" replay "$trace" || echo "(replay exited with status $?)"
done
echo "== rrvm dump: the trace's header and first events"
"$rrvm" dump --count 6 "$trace" | grep -v '^stat '
