#!/usr/bin/env python3
"""Linux record/replay, rrvm beside QEMU 7.2, in one run on the same kernel and initramfs (issue 11).

Measures, best of ROUNDS, each engine booting Debian's stock kernel to a busybox user space:
  - QEMU's record/replay (TCG, -icount shift=auto,rr=record|replay, microvm without APIC, ACPI or
    PCI) of the bzImage, and of the vmlinux inside it entered through PVH (the bzImage makes the
    guest run the kernel's XZ decompressor first; rrvm decompresses on the host);
  - rrvm on emu: `run`, `record`/`replay` with --clock icount and with --clock host (both with
    the default --verify hashes), with --clock icount --verify exits (every exit logged), and
    with --clock icount --images reference (the trace names the kernel and initrd, as QEMU's log
    does, instead of holding them).
For each: wall time until /init's marker line appears on the serial output (boot to user space),
total wall time, CPU time (user + system of the whole process, all threads), instructions
retired, and the trace or log size. rrvm's replay/record and record/run are also given "paired":
the median of the rounds' ratios, since a round runs them back to back.

How a run ends: rrvm ends by itself when the guest powers off (or, with a workload, writes its
status to isa-debug-exit). QEMU without ACPI halts on `poweroff -f` and keeps running, so on the
kernel's "reboot: System halted" line this script asks QEMU's monitor for `info replay` (the
instruction count) and then `quit`; the quit is recorded, and the replay ends by itself there.
Total wall time is from starting the process to its exit in every case.

Usage: tools/bench/linux_vs_qemu.py [BUILD_DIR] [ROUNDS] [--kernel VMLINUZ] [--busybox BUSYBOX]
       (defaults: build, 1, /var/cache/rrvm/linux/{vmlinuz,busybox})
"""
import lzma
import os
import re
import resource
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from qemu_comparison import (EXIT_MISSING, EXIT_USAGE, BenchError, Parser, check_rrvm_status,
                             embedded_image_bytes, fail, megabytes, paired_verdict,
                             read_output, retired_instructions, same_replay, sizes_text, spread,
                             tail, verdict, zstd19_bytes)

SOURCE_DIR = Path(__file__).resolve().parents[2]
LINUX_CACHE = Path("/var/cache/rrvm/linux")
MARKER = "rrvm benchmark: user space reached"
HALTED = b"reboot: System halted"
APPEND = "console=ttyS0 pci=off nokaslr"
MEMORY = "256M"
RUN_TIMEOUT_S = 900  # a boot takes ~10 s on an idle machine; generous for a shared one
# rrvm's recording modes: emu's default verification (--verify hashes: the trace holds inputs
# and a rolling hash of the exits) with each clock, and the per-exit log (--verify exits).
RRVM_MODES = {"icount": ["--clock", "icount"], "host": ["--clock", "host"],
              "icount, --verify exits": ["--clock", "icount", "--verify", "exits"],
              "icount, --images reference": ["--clock", "icount", "--images", "reference"]}
QEMU = ["-M", "microvm,x-option-roms=off,pit=on,pic=on,rtc=on,isa-serial=on,acpi=off",
        "-cpu", "qemu64,-apic,-x2apic,-tsc", "-m", MEMORY, "-nodefaults", "-display", "none",
        "-serial", "stdio", "-no-reboot"]


@dataclass
class Outcome:
    boot_s: float
    total_s: float
    cpu_s: float
    status: int
    serial: bytes
    instructions: int | None = None


@dataclass
class Measured:
    """One configuration over all rounds: the best times, the sizes and counts seen."""
    boot_s: list = field(default_factory=list)
    total_s: list = field(default_factory=list)
    cpu_s: list = field(default_factory=list)
    instructions: set = field(default_factory=set)
    sizes: dict = field(default_factory=dict)  # name → set of byte counts

    def add(self, outcome, **sizes):
        self.boot_s.append(outcome.boot_s)
        self.total_s.append(outcome.total_s)
        self.cpu_s.append(outcome.cpu_s)
        if outcome.instructions is not None:
            self.instructions.add(outcome.instructions)
        for name, value in sizes.items():
            self.sizes.setdefault(name, set()).add(value)

    def best_total(self):
        return min(self.total_s)

    def best_cpu(self):
        return min(self.cpu_s)

    def size(self, name):
        return min(self.sizes[name])


def children_cpu_s():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def monitor_quit(path):
    """QEMU's instruction count from `info replay`, then `quit`, through the HMP monitor."""
    try:
        return monitor_conversation(path)
    except OSError as e:
        fail(f"QEMU's monitor at {path}: {e}")


def monitor_conversation(path):
    with socket.socket(socket.AF_UNIX) as mon:
        mon.settimeout(30)
        mon.connect(str(path))
        mon.sendall(b"info replay\n")
        reply = b""
        while (found := re.search(rb"instruction count = (\d+)", reply)) is None:
            chunk = mon.recv(4096)
            if not chunk:
                fail(f"QEMU's monitor closed before answering 'info replay': {reply!r}")
            reply += chunk
        # Closing the connection at once can drop the command unread: wait for QEMU to go.
        mon.sendall(b"quit\n")
        while mon.recv(4096):
            pass
        return int(found.group(1))


def run_guest(what, argv, monitor=None):
    """Runs one boot, timing the marker line and the process's exit. With `monitor`, QEMU is
    stopped through it when the kernel says it halted."""
    cpu_before = children_cpu_s()
    start = time.monotonic()
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    boot_s, instructions = None, None
    marker = MARKER.encode()

    def on_serial(serial):
        nonlocal boot_s, instructions
        if boot_s is None and marker in serial:
            boot_s = time.monotonic() - start
        if monitor and instructions is None and HALTED in serial:
            instructions = monitor_quit(monitor)

    try:
        serial, errors = read_output(what, process, start, RUN_TIMEOUT_S, on_serial)
        status = process.wait()
        total_s = time.monotonic() - start
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if boot_s is None:
        fail(f"{what}: the guest never reached user space (no '{MARKER}' line; status "
             f"{status}).\n--- serial output, end ---\n{tail(serial)}\n--- stderr ---\n"
             f"{tail(errors)}")
    if status < 0:
        fail(f"{what}: killed by signal {-status}")
    if argv[0].endswith("rrvm"):
        check_rrvm_status(what, status, errors)
        instructions = retired_instructions(errors)
    elif status != 0:
        fail(f"{what}: QEMU exited with {status}: {tail(errors)}")
    return Outcome(boot_s, total_s, children_cpu_s() - cpu_before, status, serial, instructions)


def extract_vmlinux(bzimage, output):
    """The ELF vmlinux a bzImage carries (XZ-compressed in Debian's kernel), for QEMU's PVH entry."""
    data = Path(bzimage).read_bytes()
    setup_sectors = data[0x1F1] or 4
    payload_offset, payload_length = struct.unpack_from("<II", data, 0x248)
    start = (setup_sectors + 1) * 512 + payload_offset
    payload = data[start:start + payload_length]
    if not payload.startswith(b"\xfd7zXZ\x00"):
        return False
    elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(payload)
    if not elf.startswith(b"\x7fELF"):
        return False
    Path(output).write_bytes(elf)
    return True


def build_initramfs(build, busybox, output):
    """The default initramfs, or one that runs the workload program when make-initramfs.py knows
    --workload and the program is built. Returns a description of what was built."""
    make = SOURCE_DIR / "tools" / "make-initramfs.py"
    workload = build / "tests" / "guests" / "linux" / "workload"
    argv = ["python3", str(make)]
    if "--workload" in make.read_text() and workload.is_file():
        argv += ["--workload", str(workload)]
        described = f"busybox + workload {workload}"
    else:
        described = "default (busybox /init prints the marker and powers off; no workload "
        described += "program built)" if "--workload" in make.read_text() else "option yet)"
    made = subprocess.run(argv + [str(busybox), str(output), MARKER], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    if made.returncode != 0:
        raise BenchError(EXIT_MISSING, f"make-initramfs.py failed: {made.stderr.strip()}")
    return described


def parse_arguments():
    parser = Parser(description=__doc__.split("\n")[0])
    parser.add_argument("build", nargs="?", default="build", help="build directory (build)")
    parser.add_argument("rounds", nargs="?", type=int, default=1, help="best of ROUNDS (1)")
    parser.add_argument("--kernel", default=str(LINUX_CACHE / "vmlinuz"))
    parser.add_argument("--busybox", default=str(LINUX_CACHE / "busybox"))
    parser.add_argument("--qemu", default="qemu-system-x86_64")
    args = parser.parse_args()
    if args.rounds < 1:
        raise BenchError(EXIT_USAGE, f"ROUNDS must be at least 1, not {args.rounds}")
    return args


def check_inputs(args):
    rrvm = Path(args.build) / "tools" / "rrvm"
    needs = [(rrvm.is_file(), f"{rrvm} is not built (cmake --build {args.build})"),
             (shutil.which(args.qemu), f"{args.qemu} is not installed (tools/install-deps.sh)"),
             (shutil.which("zstd"), "zstd is not installed (tools/install-deps.sh)"),
             (Path(args.kernel).is_file(), f"no kernel at {args.kernel} (tools/fetch-linux.sh)"),
             (Path(args.busybox).is_file(), f"no busybox at {args.busybox} (tools/fetch-linux.sh)")]
    for present, message in needs:
        if not present:
            raise BenchError(EXIT_MISSING, message)
    return str(rrvm.resolve())


def measure(args, rrvm, work):
    build = Path(args.build)
    initrd = work / "initramfs.cpio.gz"
    initramfs = build_initramfs(build, args.busybox, initrd)
    vmlinux = work / "vmlinux"
    kernels = {"bzImage": args.kernel}
    if extract_vmlinux(args.kernel, vmlinux):
        kernels["vmlinux, PVH entry"] = str(vmlinux)
    else:
        print("(the kernel's payload is not XZ: QEMU boots the bzImage only)")
    load_before = os.getloadavg()
    print(f"linux_vs_qemu: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, best of "
          f"{args.rounds}, {os.cpu_count()} host CPUs, load average {load_before[0]:.2f}")
    print(f"kernel {args.kernel}, --append \"{APPEND}\", {MEMORY}; initramfs: {initramfs}")

    results = {}
    rrvm_boot = ["--engine", "emu", "--mem", MEMORY, "--initrd", str(initrd), "--append", APPEND,
                 "--stats"]
    for round_number in range(1, args.rounds + 1):
        print(f"round {round_number}/{args.rounds} ...", flush=True)
        for name, kernel in kernels.items():
            log, sock = work / "qemu.rr", work / "monitor.sock"
            sock.unlink(missing_ok=True)
            common = [args.qemu, *QEMU, "-monitor", f"unix:{sock},server=on,wait=off",
                      "-kernel", kernel, "-initrd", str(initrd), "-append", APPEND]
            icount = f"shift=auto,rrfile={log},rr="
            recorded = run_guest(f"QEMU record ({name})",
                                 common[:1] + ["-icount", icount + "record"] + common[1:], sock)
            results.setdefault(f"QEMU record ({name})", Measured()).add(
                recorded, raw=log.stat().st_size, zstd=zstd19_bytes(log))
            sock.unlink(missing_ok=True)
            replayed = run_guest(f"QEMU replay ({name})",
                                 common[:1] + ["-icount", icount + "replay"] + common[1:])
            same_replay(f"QEMU replay ({name})", recorded, replayed)
            replayed.instructions = recorded.instructions  # the same execution, by construction
            results.setdefault(f"QEMU replay ({name})", Measured()).add(replayed)

        ran = run_guest("rrvm run", [rrvm, "run", "--clock", "icount", *rrvm_boot, args.kernel])
        results.setdefault("rrvm run (icount)", Measured()).add(ran)
        for number, (mode, options) in enumerate(RRVM_MODES.items()):
            trace = work / f"{number}.trace"
            recorded = run_guest(f"rrvm record ({mode})",
                                 [rrvm, "record", "-o", str(trace), *options, *rrvm_boot,
                                  args.kernel])
            whole = trace.stat().st_size
            images = embedded_image_bytes(rrvm, trace)
            results.setdefault(f"rrvm record ({mode})", Measured()).add(
                recorded, whole=whole, images=images, events=whole - images)
            replayed = run_guest(f"rrvm replay ({mode})", [rrvm, "replay", str(trace)])
            same_replay(f"rrvm replay ({mode})", recorded, replayed)
            replayed.instructions = recorded.instructions
            results.setdefault(f"rrvm replay ({mode})", Measured()).add(replayed)
    load_after = os.getloadavg()
    print(f"load average at the end {load_after[0]:.2f} (1 min), {load_after[1]:.2f} (5 min)")
    return results, list(kernels)


def report(results, kernel_names):
    print()
    print(f"{'':34} {'boot to user space':>20} {'total wall time':>20} {'CPU time':>18} "
          f"{'instructions':>14}  trace / log")
    for name, m in results.items():
        instructions = (sizes_text(m.instructions, lambda n: f"{n / 1e9:.3f} G")
                        if m.instructions else "n/a")
        if "raw" in m.sizes:
            size = (f"{sizes_text(m.sizes['raw'], megabytes)} raw, "
                    f"{sizes_text(m.sizes['zstd'], megabytes)} after zstd -19")
        elif "whole" in m.sizes and m.size("images") == 0:
            size = f"{sizes_text(m.sizes['whole'], megabytes)}: kernel + initrd referenced"
        elif "whole" in m.sizes:
            size = (f"{sizes_text(m.sizes['whole'], megabytes)}: kernel + initrd "
                    f"{sizes_text(m.sizes['images'], megabytes)}, events and metadata "
                    f"{sizes_text(m.sizes['events'], megabytes)}")
        else:
            size = ""
        print(f"{name:34} {spread(m.boot_s, ' s'):>20} {spread(m.total_s, ' s'):>20} "
              f"{spread(m.cpu_s, ' s'):>18} {instructions:>14}  {size}")
    print("(times: best of the rounds, the worst in parentheses; QEMU replay's instruction count "
          "is its recording's)")

    record, replay = results["rrvm record (icount)"], results["rrvm replay (icount)"]
    referenced = results["rrvm record (icount, --images reference)"]
    for kernel in kernel_names:
        q_record, q_replay = results[f"QEMU record ({kernel})"], results[f"QEMU replay ({kernel})"]
        log = q_record.size("zstd")
        print(f"\ntargets against QEMU booting the {kernel} (rrvm --clock icount):")
        rows = [("record wall time <= QEMU's record", record.best_total() / q_record.best_total(),
                 1.0),
                ("record CPU time <= QEMU's record", record.best_cpu() / q_record.best_cpu(), 1.0),
                ("replay wall time <= 0.5x QEMU's replay",
                 replay.best_total() / q_replay.best_total(), 0.5),
                ("replay CPU time <= 0.5x QEMU's replay", replay.best_cpu() / q_replay.best_cpu(),
                 0.5),
                ("whole trace <= QEMU's log after zstd -19 (rrvm's holds kernel + initrd, "
                 "QEMU's does not)", record.size("whole") / log, 1.0),
                ("events and metadata only <= QEMU's log after zstd -19",
                 record.size("events") / log, 1.0),
                ("whole trace with --images reference (kernel + initrd named, as QEMU's log "
                 "needs them given) <= QEMU's log after zstd -19",
                 referenced.size("whole") / log, 1.0)]
        for what, ratio, target in rows:
            print(verdict(what, ratio, target))
    print("\nrrvm replay against its own record (wall time; CPU time in brackets), best of the "
          "rounds and paired (the rounds' ratios: a round runs record and replay back to back):")
    for mode in RRVM_MODES:
        mine, theirs = results[f"rrvm replay ({mode})"], results[f"rrvm record ({mode})"]
        print(verdict(f"replay faster than record, {mode}", mine.best_total() / theirs.best_total(),
                      1.0) + f" [{mine.best_cpu() / theirs.best_cpu():.3f}]")
        print(paired_verdict(f"replay faster than record, {mode}", mine.total_s, theirs.total_s,
                             1.0))
    run = results["rrvm run (icount)"]
    print(verdict("record / run <= 1.02, icount", record.best_total() / run.best_total(), 1.02) +
          f" [{record.best_cpu() / run.best_cpu():.3f}]")
    print(paired_verdict("record / run <= 1.02, icount", record.total_s, run.total_s, 1.02))


def main():
    def stop(signum, _frame):
        raise SystemExit(128 + signum)  # unwinds: the temporary directory is removed

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    try:
        args = parse_arguments()
        rrvm = check_inputs(args)
        with tempfile.TemporaryDirectory(prefix="linux_vs_qemu.") as work:
            results, kernels = measure(args, rrvm, Path(work))
        report(results, kernels)
    except BenchError as e:
        print(f"linux_vs_qemu: {e}", file=sys.stderr)
        return e.status
    return 0


if __name__ == "__main__":
    sys.exit(main())
