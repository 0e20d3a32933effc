#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite with CTest.
# RRVM_WERROR=ON (CI sets it) makes compiler warnings errors; extra arguments go to ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRRVM_WERROR="${RRVM_WERROR:-OFF}" "${launcher[@]}" >/dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
