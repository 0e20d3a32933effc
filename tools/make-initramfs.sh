#!/usr/bin/env bash
# Builds a tiny initramfs for the Linux boot tests from Debian's busybox-static: a gzipped newc
# cpio whose /init prints a line on the console and powers the machine off.
# Usage: tools/make-initramfs.sh BUSYBOX OUTPUT.cpio.gz [MESSAGE]
set -euo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 BUSYBOX OUTPUT.cpio.gz [MESSAGE]" >&2
  exit 64
fi
busybox=$(readlink -f "$1")
output=$2
message=${3:-rrvm initramfs: hello from busybox}
[ -x "$busybox" ] || { echo "make-initramfs: $busybox is not an executable" >&2; exit 66; }

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
chmod 755 "$root"
mkdir -p "$root"/{bin,dev,proc,sys}
cp "$busybox" "$root/bin/busybox"
for applet in sh echo mount poweroff reboot cat uname; do ln -s busybox "$root/bin/$applet"; done

# Without root there is no mknod for /dev/console: the kernel then starts /init without a console,
# and /init opens one from devtmpfs.
cat >"$root/init" <<INIT
#!/bin/sh
/bin/mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
/bin/mount -t proc proc /proc
/bin/mount -t sysfs sysfs /sys
echo "$message"
/bin/poweroff -f
INIT
chmod 755 "$root/init"

# Fixed timestamps and owners: the same busybox gives the same bytes.
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . | LC_ALL=C sort | "$busybox" cpio -o -H newc -R 0:0 2>/dev/null) |
  gzip -n -9 >"$output"
echo "$output"
