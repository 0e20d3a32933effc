#!/usr/bin/env bash
# Installs the Debian 12 packages rrvm needs to build, test and benchmark. Idempotent; run as root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build
  libzstd-dev zlib1g-dev liblzma-dev liblz4-dev libflatbuffers-dev flatbuffers-compiler libzydis-dev
  libgtest-dev libgmock-dev libbenchmark-dev libxbyak-dev
  nasm gcc-multilib gdb qemu-system-x86 zstd valgrind
  clang libclang-rt-14-dev python3 ccache
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
elif [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages (${missing[*]}); run this script as root" >&2
  exit 1
else
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Debian's stock kernel and busybox for the Linux boot tests (downloaded, not installed). Without
# a registry the tests that need them skip, except under CI=true, where they fail.
if ! bash "$(dirname "$0")/fetch-linux.sh" >/dev/null; then
  echo "install-deps: could not fetch Debian's kernel (tools/fetch-linux.sh)" >&2
fi
