#!/usr/bin/env python3
"""The mixed guest of issues 12 and 13, rrvm beside QEMU 7.2, in one run on the same kernel.

tests/guests/mixed_multiboot.elf (a multiboot kernel: 20 000 lines of serial output, 300 RTC
reads, ~1.2 G instructions of integer computation, 200 idle PIT ticks, then isa-debug-exit) runs,
best of ROUNDS, under:
  - QEMU TCG (`-accel tcg`), and QEMU's record/replay (`-icount shift=auto,rr=record|replay`),
    also with sleep=off (see QEMU_RR);
  - rrvm `run`, `record` and `replay` on emu, with --clock host and with --clock icount.
Not on rrvm's kvm engine: the guest's timer handler returns with a 32-bit IRET, which KVM's PVM
module (the build machines' /dev/kvm) cannot run, and PVM emulates 32-bit ring 0 at ~2 M
instructions/s (10 minutes for this guest).
For each: wall time and CPU time (user + system, all threads) of the whole process, the
instructions rrvm retired, the trace or log size; then the ratios against the issues' targets.
rrvm's record/run and replay/record are also given as the median of the ratios of --pairs more
rounds of rrvm alone (run, record and replay back to back, the run last every other round).
Every run must end with the guest's pass status and print the same serial output (its last line
holds the computation's checksum); every replay must print its recording's.

Usage: tools/bench/mixed_vs_qemu.py [BUILD_DIR] [ROUNDS] [--guest ELF] [--qemu QEMU] [--pairs N]
       (defaults: build, 1, BUILD_DIR/tests/guests/mixed_multiboot.elf, qemu-system-i386, 9)
"""
import os
import re
import resource
import shutil
import signal
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

RUN_TIMEOUT_S = 900  # a run takes 1-5 s on an idle machine; generous for a shared one
GUEST_PASS_STATUS = 1  # isa-debug-exit's (0 << 1) | 1, under QEMU and rrvm alike
SUMMARY = re.compile(rb"^mixed: checksum ([0-9a-f]{8}).*$", re.M)
QEMU = ["-M", "pc", "-accel", "tcg", "-nodefaults", "-display", "none", "-serial", "stdio",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]
CLOCKS = ("host", "icount")
# QEMU's record/replay as the issues measure it, and without sleeping while the guest halts:
# shift=auto lets guest time run ahead of host time while the guest computes, and a halted
# guest then waits in host time until host time catches up (QEMU's icount_warp_rt), so with
# sleep=on the wall time of a guest that computes and then idles is mostly sleep.
QEMU_RR = {"QEMU rr": "shift=auto", "QEMU rr, sleep=off": "shift=auto,sleep=off"}


@dataclass
class Run:
    wall_s: float
    cpu_s: float
    status: int
    serial: bytes
    errors: bytes
    instructions: int | None


@dataclass
class Measured:
    """One configuration over all rounds: its times, and the counts and sizes seen."""
    wall_s: list = field(default_factory=list)
    cpu_s: list = field(default_factory=list)
    instructions: set = field(default_factory=set)
    sizes: dict = field(default_factory=dict)  # name → set of values

    def add(self, run, **sizes):
        self.wall_s.append(run.wall_s)
        self.cpu_s.append(run.cpu_s)
        if run.instructions is not None:
            self.instructions.add(run.instructions)
        for name, value in sizes.items():
            self.sizes.setdefault(name, set()).add(value)

    def wall(self):
        return min(self.wall_s)

    def cpu(self):
        return min(self.cpu_s)

    def size(self, name):
        return min(self.sizes[name])


def children_cpu_s():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_guest(what, argv):
    """Runs the guest to its exit, timing the whole process."""
    cpu_before = children_cpu_s()
    start = time.monotonic()
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    try:
        serial, errors = read_output(what, process, start, RUN_TIMEOUT_S)
        status = process.wait()
        wall_s = time.monotonic() - start
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    cpu_s = children_cpu_s() - cpu_before
    if status < 0:
        fail(f"{what}: killed by signal {-status}")
    is_rrvm = argv[0].endswith("rrvm")
    if is_rrvm:
        check_rrvm_status(what, status, errors)
    if status != GUEST_PASS_STATUS:
        fail(f"{what}: exit status {status}, not the guest's pass ({GUEST_PASS_STATUS}); "
             f"serial output, end:\n{tail(serial)}\n--- stderr ---\n{tail(errors)}")
    return Run(wall_s, cpu_s, status, serial, errors,
               retired_instructions(errors) if is_rrvm else None)


def trace_counts(rrvm, trace):
    """Events in an rrvm trace, the exits the guest made and the exits the trace logs (none under
    --verify hashes, emu's default), from the footer `rrvm dump` shows and its statistics."""
    dump = subprocess.run([rrvm, "dump", "--count", "0", str(trace)], check=True, text=True,
                          stdout=subprocess.PIPE).stdout
    footer = re.search(r"^footer: (\d+) events in [^;\n]*", dump, re.M)
    made = re.search(r"^stat total number of vm exits\s+(\d+)$", dump, re.M)
    if footer is None or made is None:
        fail(f"rrvm dump shows no footer or no exit count for {trace}:\n{dump[:2000]}")
    logged = re.search(r", (\d+) exit\b", footer.group(0))
    return int(footer.group(1)), int(made.group(1)), int(logged.group(1)) if logged else 0


def first_difference(a, b):
    for number, (line_a, line_b) in enumerate(zip(a.splitlines(), b.splitlines()), 1):
        if line_a != line_b:
            return f"line {number}: {line_a!r} against {line_b!r}"
    return f"one output is a prefix of the other ({len(a)} and {len(b)} bytes)"


class Bench:
    """The configurations of one run, the commands they ran and what they measured."""

    def __init__(self, args, rrvm, work):
        self.args, self.rrvm, self.work = args, rrvm, work
        self.results = {}
        self.pairs = {}  # the rrvm-only rounds behind the paired ratios
        self.commands = {}
        self.reference = None  # the first run's serial output, which every run must print

    def run(self, name, argv):
        self.commands.setdefault(name, " ".join(argv).replace(str(self.work), "$WORK"))
        outcome = run_guest(name, argv)
        if self.reference is None:
            if SUMMARY.search(outcome.serial) is None:
                fail(f"{name}: no 'mixed: checksum' line; serial output, end:\n"
                     f"{tail(outcome.serial)}\n--- stderr ---\n{tail(outcome.errors)}")
            self.reference = outcome.serial
        elif outcome.serial != self.reference:
            fail(f"{name} printed a different serial output than the first run: "
                 f"{first_difference(outcome.serial, self.reference)}")
        return outcome

    def add(self, name, outcome, **sizes):
        self.results.setdefault(name, Measured()).add(outcome, **sizes)

    def round(self):
        guest = self.args.guest
        qemu = [self.args.qemu, *QEMU, "-kernel", guest]
        self.add("QEMU TCG run", self.run("QEMU TCG run", qemu))
        log = self.work / "qemu.rr"
        for rr, shift in QEMU_RR.items():
            icount = f"{shift},rrfile={log},rr="
            recorded = self.run(f"{rr} record", qemu + ["-icount", icount + "record"])
            self.add(f"{rr} record", recorded, raw=log.stat().st_size, zstd=zstd19_bytes(log))
            replayed = self.run(f"{rr} replay", qemu + ["-icount", icount + "replay"])
            same_replay(f"{rr} replay", recorded, replayed)
            self.add(f"{rr} replay", replayed)

        for clock in CLOCKS:
            self.rrvm_round(clock, self.results)

    def rrvm_round(self, clock, results, run_last=False):
        """rrvm's run, record and replay with one clock, into `results`; `run_last` moves the
        run after the replay, so that rounds in both orders cancel a drift of the host's speed."""
        guest = self.args.guest
        machine = ["--engine", "emu", "--clock", clock, "--stats"]

        def run():
            name = f"rrvm run, {clock} clock"
            results.setdefault(name, Measured()).add(
                self.run(name, [self.rrvm, "run", *machine, guest]))

        if not run_last:
            run()
        trace = self.work / f"{clock}.trace"
        name = f"rrvm record, {clock} clock"
        recorded = self.run(name, [self.rrvm, "record", "-o", str(trace), *machine, guest])
        whole = trace.stat().st_size
        images = embedded_image_bytes(self.rrvm, trace)
        events, exits, logged = trace_counts(self.rrvm, trace)
        results.setdefault(name, Measured()).add(
            recorded, whole=whole, events_only=whole - images, events=events, exits=exits,
            logged_exits=logged)
        name = f"rrvm replay, {clock} clock"
        replayed = self.run(name, [self.rrvm, "replay", str(trace)])
        same_replay(name, recorded, replayed)
        results.setdefault(name, Measured()).add(replayed)
        if run_last:
            run()


def parse_arguments():
    parser = Parser(description=__doc__.split("\n")[0])
    parser.add_argument("build", nargs="?", default="build", help="build directory (build)")
    parser.add_argument("rounds", nargs="?", type=int, default=1, help="best of ROUNDS (1)")
    parser.add_argument("--guest", help="the kernel (BUILD_DIR/tests/guests/mixed_multiboot.elf)")
    parser.add_argument("--qemu", default="qemu-system-i386")
    parser.add_argument("--pairs", type=int, default=9, metavar="N",
                        help="rounds of rrvm alone behind the paired record/run and "
                             "replay/record ratios (9)")
    args = parser.parse_args()
    if args.rounds < 1:
        raise BenchError(EXIT_USAGE, f"ROUNDS must be at least 1, not {args.rounds}")
    if args.pairs < 0:
        raise BenchError(EXIT_USAGE, f"--pairs must not be negative, not {args.pairs}")
    if args.guest is None:
        args.guest = str(Path(args.build) / "tests" / "guests" / "mixed_multiboot.elf")
    return args


def check_inputs(args):
    rrvm = Path(args.build) / "tools" / "rrvm"
    needs = [(rrvm.is_file(), f"{rrvm} is not built (cmake --build {args.build})"),
             (Path(args.guest).is_file(), f"no guest at {args.guest} (cmake --build {args.build})"),
             (shutil.which(args.qemu), f"{args.qemu} is not installed (tools/install-deps.sh)"),
             (shutil.which("zstd"), "zstd is not installed (tools/install-deps.sh)")]
    for present, message in needs:
        if not present:
            raise BenchError(EXIT_MISSING, message)
    return str(rrvm.resolve())


def measure(args, rrvm, work):
    load = os.getloadavg()
    print(f"mixed_vs_qemu: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, best of "
          f"{args.rounds}, {os.cpu_count()} host CPUs, load average {load[0]:.2f}")
    bench = Bench(args, rrvm, work)
    for round_number in range(1, args.rounds + 1):
        print(f"round {round_number}/{args.rounds} ...", flush=True)
        bench.round()
    # A run of this guest takes under a second, its record/run and replay/record ratios a few
    # percent: more rounds than QEMU's minutes allow, kept apart from the best-of rows above.
    for pair in range(args.pairs):
        print(f"rrvm round {pair + 1}/{args.pairs} ...", flush=True)
        for clock in CLOCKS:
            bench.rrvm_round(clock, bench.pairs, run_last=pair % 2 == 1)
    load = os.getloadavg()
    print(f"load average at the end {load[0]:.2f} (1 min), {load[1]:.2f} (5 min)")
    print("commands ($WORK: a temporary directory):")
    for name, command in bench.commands.items():
        print(f"  {name}: {command}")
    return bench


def count(n):
    if n >= 1e6:
        return f"{n / 1e6:.2f} M"
    return f"{n / 1e3:.1f} K" if n >= 1e3 else str(n)


def report(bench):
    print()
    checksum = SUMMARY.search(bench.reference)
    lines = bench.reference.count(b"\n")
    print(f"every run printed the same {lines} lines, the last: {checksum.group(0).decode()}")
    print(f"{'':28} {'wall time':>18} {'CPU time':>18} {'instructions':>14}  trace / log")
    for name, m in bench.results.items():
        instructions = (sizes_text(m.instructions, lambda n: f"{n / 1e9:.3f} G")
                        if m.instructions else "")
        if "raw" in m.sizes:
            size = (f"{sizes_text(m.sizes['raw'], megabytes)} raw, "
                    f"{sizes_text(m.sizes['zstd'], megabytes)} after zstd -19")
        elif "whole" in m.sizes:
            size = (f"{sizes_text(m.sizes['whole'], megabytes)}, without the kernel image "
                    f"{sizes_text(m.sizes['events_only'], megabytes)}; "
                    f"{sizes_text(m.sizes['events'], count)} events, "
                    f"{sizes_text(m.sizes['exits'], count)} exits, "
                    f"{sizes_text(m.sizes['logged_exits'], count)} of them logged")
        else:
            size = ""
        print(f"{name:30} {spread(m.wall_s, ' s'):>18} {spread(m.cpu_s, ' s'):>18} "
              f"{instructions:>14}  {size}")
    print("(times: best of the rounds, the worst in parentheses)")

    r = bench.results
    tcg = r["QEMU TCG run"]
    for clock in CLOCKS:
        run = r[f"rrvm run, {clock} clock"]
        record = r[f"rrvm record, {clock} clock"]
        replay = r[f"rrvm replay, {clock} clock"]
        timed = [("issue 13: run <= QEMU TCG", run, tcg, 1.0)]
        for rr in QEMU_RR:
            timed += [(f"issue 13: record <= 0.5x {rr} record", record, r[f"{rr} record"], 0.5),
                      (f"issue 12: replay <= 0.5x {rr} replay", replay, r[f"{rr} replay"], 0.5)]
        timed += [("issue 12: record / run <= 1.02", record, run, 1.02),
                  ("issue 12: replay faster than record", replay, record, 1.0)]
        print(f"\ntargets, rrvm on emu with --clock {clock} (wall time; CPU time in brackets):")
        for what, mine, theirs, target in timed:
            print(verdict(what, mine.wall() / theirs.wall(), target) +
                  f" [{mine.cpu() / theirs.cpu():.3f}]")
        for rr in QEMU_RR:
            log = r[f"{rr} record"].size("zstd")
            print(verdict(f"issue 12: trace <= {rr} log after zstd -19",
                          record.size("whole") / log, 1.0))
            print(verdict(f"issue 12: trace without the kernel image <= {rr} log after zstd -19",
                          record.size("events_only") / log, 1.0))
        if bench.pairs:
            report_pairs(bench.pairs, clock)


def report_pairs(pairs, clock):
    run, record, replay = (pairs[f"rrvm {what}, {clock} clock"]
                           for what in ("run", "record", "replay"))
    for kind, times in (("wall time", lambda m: m.wall_s), ("CPU time", lambda m: m.cpu_s)):
        print(paired_verdict(f"issue 12: record / run <= 1.02, {kind}", times(record), times(run),
                             1.02))
        print(paired_verdict(f"issue 12: replay faster than record, {kind}", times(replay),
                             times(record), 1.0))


def main():
    def stop(signum, _frame):
        raise SystemExit(128 + signum)  # unwinds: the temporary directory is removed

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    try:
        args = parse_arguments()
        rrvm = check_inputs(args)
        with tempfile.TemporaryDirectory(prefix="mixed_vs_qemu.") as work:
            bench = measure(args, rrvm, Path(work))
        report(bench)
    except BenchError as e:
        print(f"mixed_vs_qemu: {e}", file=sys.stderr)
        return e.status
    return 0


if __name__ == "__main__":
    sys.exit(main())
