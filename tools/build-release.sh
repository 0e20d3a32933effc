#!/usr/bin/env bash
# Builds the Release configuration users build (warnings as errors when RRVM_WERROR=ON) and checks
# that `cmake --install` installs a working rrvm.
set -euo pipefail
cd "$(dirname "$0")/.."
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DRRVM_WERROR="${RRVM_WERROR:-OFF}" "${launcher[@]}" >/dev/null
cmake --build build-release -j"$(nproc)"
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install build-release --prefix "$prefix" >/dev/null
"$prefix/bin/rrvm" help >/dev/null
echo "build-release: Release build and install OK"
