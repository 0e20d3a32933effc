#!/usr/bin/env bash
# Fetches Debian's stock kernel (linux-image-6.1.*-amd64) and busybox-static into a cache for the
# Linux boot tests, without installing them: installing the kernel would run its postinst, which
# builds an initramfs. Idempotent; prints the vmlinuz path and the busybox path. Also writes
# $cache/System.map for debugging the kernel by symbol name (tools/linux-symbols.py).
# Usage: tools/fetch-linux.sh [CACHE_DIR]   (default: $RRVM_LINUX_CACHE or /var/cache/rrvm/linux)
set -euo pipefail

cache=${1:-${RRVM_LINUX_CACHE:-/var/cache/rrvm/linux}}
mkdir -p "$cache"

# The newest linux-image-6.1.*-amd64 package the registry has, named by linux-image-amd64.
kernel_package() {
  apt-cache depends linux-image-amd64 2>/dev/null |
    awk '/Depends: linux-image-6\.1\.[^ ]*-amd64$/ { print $2; exit }'
}

# Extracts directory $2 of package $1 into $cache/root (the kernel's modules are not needed)
# unless $cache/$1.extracted says it is there.
fetch() {
  local package=$1 member=$2
  [ -e "$cache/$package.extracted" ] && return 0
  local work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' RETURN
  chown _apt "$work" 2>/dev/null || true # apt's sandbox user writes the download there
  (cd "$work" && apt-get download -qq "$package" >&2)
  mkdir -p "$cache/root"
  dpkg-deb --fsys-tarfile "$work"/"${package}"_*.deb | tar -x -C "$cache/root" "$member"
  touch "$cache/$package.extracted"
}

package=$(kernel_package)
if [ -z "$package" ]; then
  apt-get update -qq >&2 || true
  package=$(kernel_package)
fi
if [ -z "$package" ]; then
  # No registry: a kernel fetched before still serves.
  vmlinuz=$(ls "$cache"/root/boot/vmlinuz-6.1.*-amd64 2>/dev/null | sort -V | tail -n1 || true)
  [ -n "$vmlinuz" ] || { echo "fetch-linux: no linux-image-6.1.*-amd64 in apt's lists" >&2; exit 1; }
else
  fetch "$package" ./boot
  vmlinuz=$cache/root/boot/vmlinuz-${package#linux-image-}
fi
fetch busybox-static ./bin/busybox

# A stable name for the tests, whichever 6.1 release was fetched.
ln -sf "$vmlinuz" "$cache/vmlinuz"
ln -sf "$cache/root/bin/busybox" "$cache/busybox"
# Debian's /boot/System.map-* is a one-line placeholder (the real one is in the -dbg package): the
# kernel's own kallsyms tables list the same symbols.
if [ ! "$cache/System.map" -nt "$vmlinuz" ]; then
  python3 "$(dirname "$0")/linux-symbols.py" --system-map "$vmlinuz" "$cache/System.map.partial"
  mv "$cache/System.map.partial" "$cache/System.map"
fi
echo "$vmlinuz"
echo "$cache/root/bin/busybox"
