#!/usr/bin/env python3
"""Builds a tiny initramfs for the Linux boot tests from Debian's busybox-static: a gzipped newc
cpio whose /init prints a line on the console and then either powers the machine off, runs a
workload program and reports its exit status through isa-debug-exit, or gives the console to an
interactive shell; the machine ends with `poweroff -f` (or `reboot -f` with `--end reboot`).

The archive is written here rather than by a cpio program so that it needs no root (it holds the
device nodes the kernel and /init open) and is the same bytes for the same inputs (fixed inode
numbers, owners and times).

Usage: tools/make-initramfs.py [--workload PROGRAM | --shell] [--end poweroff|reboot] BUSYBOX OUTPUT.cpio.gz [MESSAGE]
"""
import argparse
import gzip
import os
import stat
import sys

APPLETS = ["sh", "echo", "mount", "poweroff", "reboot", "cat", "uname", "printf", "dd", "setsid",
           "cttyhack"]
# name → (major, minor). port: the workload's status goes to isa-debug-exit through it; tty and
# ttyS0: cttyhack makes the console's serial line the shell's controlling terminal.
DEVICES = {"console": (5, 1), "tty": (5, 0), "ttyS0": (4, 64), "null": (1, 3), "port": (1, 4),
           "urandom": (1, 9)}
DEBUG_EXIT_PORT = 0xf4
ENDS = ["poweroff", "reboot"]  # how /init ends the machine: busybox's `poweroff -f`/`reboot -f`
USAGE_ERROR, INPUT_ERROR = 64, 66


def shell_quoted(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$") + '"'


def init_script(message, workload, shell, end):
    lines = [
        "#!/bin/sh",
        "/bin/mount -t proc proc /proc",
        "/bin/mount -t sysfs sysfs /sys",
        f"echo {shell_quoted(message)}",
    ]
    if workload:
        # The status byte written to the port ends the machine; rrvm exits with (status << 1) | 1.
        lines += [
            "/bin/workload",
            "status=$?",
            'printf "\\\\$(printf %03o $status)" | '
            f"dd of=/dev/port bs=1 seek={DEBUG_EXIT_PORT} count=1 conv=notrunc 2>/dev/null",
        ]
    if shell:
        # A new session whose controlling terminal is the console: job control and Ctrl-C work.
        lines.append("setsid cttyhack sh")
    lines.append(f"/bin/{end} -f")
    return ("\n".join(lines) + "\n").encode()


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


class Parser(argparse.ArgumentParser):
    def error(self, message):
        self.print_usage(sys.stderr)
        print(f"make-initramfs: {message}", file=sys.stderr)
        sys.exit(USAGE_ERROR)


def parse_arguments():
    parser = Parser(description="Builds a reproducible busybox initramfs for rrvm's Linux tests.")
    parser.add_argument("busybox", metavar="BUSYBOX", help="a static busybox executable")
    parser.add_argument("output", metavar="OUTPUT.cpio.gz")
    parser.add_argument("message", metavar="MESSAGE", nargs="?",
                        default="rrvm initramfs: hello from busybox",
                        help="the line /init prints first")
    end = parser.add_mutually_exclusive_group()
    end.add_argument("--workload", metavar="PROGRAM",
                     help="a static program, installed as /bin/workload: /init runs it and writes "
                          "its exit status to isa-debug-exit (port 0xf4)")
    end.add_argument("--shell", action="store_true",
                     help="an interactive shell on the console; the machine powers off when it "
                          "exits")
    parser.add_argument("--end", choices=ENDS, default="poweroff",
                        help="how /init ends the machine when nothing else did (default poweroff)")
    return parser.parse_args()


def read_executable(path):
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        print(f"make-initramfs: {path} is not an executable", file=sys.stderr)
        sys.exit(INPUT_ERROR)
    with open(path, "rb") as f:
        return f.read()


def main():
    args = parse_arguments()
    busybox_bytes = read_executable(args.busybox)
    workload_bytes = read_executable(args.workload) if args.workload else None

    cpio = NewcWriter()
    for directory in ["bin", "dev", "proc", "sys"]:
        cpio.add(directory, stat.S_IFDIR | 0o755)
    for name, rdev in DEVICES.items():
        cpio.add(f"dev/{name}", stat.S_IFCHR | 0o600, rdev=rdev)
    cpio.add("bin/busybox", stat.S_IFREG | 0o755, busybox_bytes)
    for applet in APPLETS:
        cpio.add(f"bin/{applet}", stat.S_IFLNK | 0o777, b"busybox")
    if workload_bytes is not None:
        cpio.add("bin/workload", stat.S_IFREG | 0o755, workload_bytes)
    cpio.add("init", stat.S_IFREG | 0o755, init_script(args.message, args.workload, args.shell, args.end))
    with open(args.output, "wb") as f:
        f.write(gzip.compress(cpio.finish(), compresslevel=9, mtime=0))
    print(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
