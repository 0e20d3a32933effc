#!/usr/bin/env python3
"""Builds a tiny initramfs for the Linux boot tests from Debian's busybox-static: a gzipped newc
cpio whose /init prints a line on the console and powers the machine off (or, with
`--end reboot`, reboots it).

The archive is written here rather than by a cpio program so that it needs no root (it holds the
/dev/console node the kernel opens for init) and is the same bytes for the same busybox (fixed
inode numbers, owners and times).

Usage: tools/make-initramfs.py [--end poweroff|reboot] BUSYBOX OUTPUT.cpio.gz [MESSAGE]
"""
import gzip
import os
import stat
import sys

APPLETS = ["sh", "echo", "mount", "poweroff", "reboot", "cat", "uname"]
ENDS = ["poweroff", "reboot"]  # how /init ends the machine: busybox's `poweroff -f`/`reboot -f`
USAGE = "[--end poweroff|reboot] BUSYBOX OUTPUT.cpio.gz [MESSAGE]"
CONSOLE_MAJOR, CONSOLE_MINOR = 5, 1


def init_script(message, end):
    quoted = message.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$")
    return (
        "#!/bin/sh\n"
        "/bin/mount -t proc proc /proc\n"
        "/bin/mount -t sysfs sysfs /sys\n"
        f'echo "{quoted}"\n'
        f"/bin/{end} -f\n"
    ).encode()


class NewcWriter:
    """The SVR4 'newc' cpio format the kernel unpacks: a hex header, the name, then the data,
    each padded to 4 bytes."""

    def __init__(self):
        self.out = bytearray()
        self.inode = 0

    def _pad(self):
        self.out += b"\0" * (-len(self.out) % 4)

    def add(self, name, mode, data=b"", rdev=(0, 0)):
        self.inode += 1
        encoded = name.encode() + b"\0"
        fields = [self.inode, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(encoded), 0]  # ino mode uid gid nlink mtime size dev rdev namesize check
        self.out += b"070701" + b"".join(b"%08X" % f for f in fields) + encoded
        self._pad()
        self.out += data
        self._pad()

    def finish(self):
        self.add("TRAILER!!!", 0)
        return bytes(self.out)


def main():
    args = sys.argv[1:]
    end = "poweroff"
    if args[:1] == ["--end"]:
        if len(args) < 2 or args[1] not in ENDS:
            print(f"make-initramfs: --end takes one of {', '.join(ENDS)}", file=sys.stderr)
            return 64
        end, args = args[1], args[2:]
    if len(args) not in (2, 3):
        print(f"usage: {sys.argv[0]} {USAGE}", file=sys.stderr)
        return 64
    busybox, output = args[0], args[1]
    message = args[2] if len(args) == 3 else "rrvm initramfs: hello from busybox"
    if not (os.path.isfile(busybox) and os.access(busybox, os.X_OK)):
        print(f"make-initramfs: {busybox} is not an executable", file=sys.stderr)
        return 66
    with open(busybox, "rb") as f:
        busybox_bytes = f.read()

    cpio = NewcWriter()
    for directory in ["bin", "dev", "proc", "sys"]:
        cpio.add(directory, stat.S_IFDIR | 0o755)
    cpio.add("dev/console", stat.S_IFCHR | 0o600, rdev=(CONSOLE_MAJOR, CONSOLE_MINOR))
    cpio.add("bin/busybox", stat.S_IFREG | 0o755, busybox_bytes)
    for applet in APPLETS:
        cpio.add(f"bin/{applet}", stat.S_IFLNK | 0o777, b"busybox")
    cpio.add("init", stat.S_IFREG | 0o755, init_script(message, end))
    with open(output, "wb") as f:
        f.write(gzip.compress(cpio.finish(), compresslevel=9, mtime=0))
    print(output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
