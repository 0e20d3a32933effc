#!/usr/bin/env bash
# Installs what is missing, builds rrvm and boots the bundled demo guests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target rrvm test_guests
guests=build/tests/guests
echo "== rrvm run: a multiboot kernel (the file qemu-system-i386 -kernel boots)"
./build/tools/rrvm run --append "from the demo" "$guests/hello_multiboot.elf" || test $? -eq 1
echo "== rrvm run --stats: a 64-bit kernel taking PIT interrupts"
./build/tools/rrvm run --stats "$guests/pit_long.elf" || test $? -eq 1
echo "== rrvm record, then rrvm replay: the replay reproduces the run from the trace alone"
./build/tools/rrvm record -o build/demo.trace --engine emu "$guests/pit_multiboot.elf" || test $? -eq 1
./build/tools/rrvm replay build/demo.trace || test $? -eq 1
./build/tools/rrvm dump --count 8 build/demo.trace | tail -8
