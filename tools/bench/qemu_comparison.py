"""What the scripts that run guests under QEMU and rrvm side by side share: exit statuses and
errors, reading a guest process's output, rrvm's statuses and statistics, trace and log sizes,
and the way figures are printed."""
import argparse
import os
import re
import selectors
import subprocess
import time

EXIT_USAGE, EXIT_MISSING, EXIT_GUEST_FAILED = 64, 66, 1
# rrvm statuses that are failures (see `rrvm help`); the others are the guest's own ending.
RRVM_FAILURES = {3: "replay divergence", 64: "usage", 66: "bad kernel or trace", 68: "no kvm",
                 70: "guest fault", 74: "internal error", 76: "host I/O", 78: "stopped by a signal"}
RRVM_RETIRED = "instructions retired (0 on kvm)"


class BenchError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise BenchError(EXIT_USAGE, message)


def fail(message):
    raise BenchError(EXIT_GUEST_FAILED, message)


def tail(data, characters=1500):
    return data.decode(errors="replace")[-characters:]


def read_output(what, process, start, timeout_s, on_serial=None):
    """Reads the process's stdout (the guest's serial output) and stderr until both close, or
    fails after timeout_s from `start`. Calls on_serial(serial so far) after each stdout chunk.
    Returns (serial, errors)."""
    serial, errors = b"", b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        selector.register(process.stderr, selectors.EVENT_READ)
        open_streams = 2
        while open_streams:
            left = timeout_s - (time.monotonic() - start)
            if left <= 0:
                fail(f"{what}: still running after {timeout_s} s; serial output, end:\n"
                     f"{tail(serial)}")
            for key, _ in selector.select(timeout=left):
                chunk = os.read(key.fd, 65536)
                if not chunk:
                    selector.unregister(key.fileobj)
                    open_streams -= 1
                elif key.fileobj is process.stderr:
                    errors += chunk
                else:
                    serial += chunk
                    if on_serial:
                        on_serial(serial)
    return serial, errors


def check_rrvm_status(what, status, errors):
    if status in RRVM_FAILURES:
        fail(f"{what}: exit status {status} ({RRVM_FAILURES[status]}):\n{tail(errors)}")


def retired_instructions(errors):
    """The instruction count `rrvm --stats` printed on stderr, or None."""
    retired = re.search(re.escape(RRVM_RETIRED).encode() + rb"\s+(\d+)", errors)
    return int(retired.group(1)) if retired else None


def same_replay(what, recorded, replayed):
    if replayed.serial != recorded.serial or replayed.status != recorded.status:
        fail(f"{what}: the replay's serial output or status (status {replayed.status}, "
             f"{len(replayed.serial)} bytes) differs from the recording's (status "
             f"{recorded.status}, {len(recorded.serial)} bytes)")


def zstd19_bytes(path):
    return len(subprocess.run(["zstd", "-19", "-q", "-c", str(path)], check=True,
                              stdout=subprocess.PIPE).stdout)


def embedded_image_bytes(rrvm, trace):
    """The compressed size of the kernel and initrd inside an rrvm trace, from `rrvm dump`: 0 for
    the images a trace recorded with --images reference names without holding."""
    dump = subprocess.run([rrvm, "dump", "--count", "0", str(trace)], check=True, text=True,
                          stdout=subprocess.PIPE).stdout
    image_line = r"^image \d+: .*, \d+ bytes \((?:(\d+) compressed|referenced, not in the trace)"
    sizes = re.findall(image_line, dump, re.M)
    if not sizes:
        fail(f"rrvm dump shows no images in {trace}:\n{dump[:2000]}")
    return sum(int(s or 0) for s in sizes)


def megabytes(n):
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} KB"


def spread(values, unit=""):
    low, high = min(values), max(values)
    return f"{low:.2f}{unit}" if len(values) == 1 else f"{low:.2f}{unit} (max {high:.2f})"


def sizes_text(values, show):
    low, high = min(values), max(values)
    return show(low) if low == high else f"{show(low)}-{show(high)}"


def verdict(what, ratio, target):
    return f"  {what}: {ratio:.3f} (target <= {target}) {'met' if ratio <= target else 'MISSED'}"


def paired(mine, theirs):
    """The ratios of two configurations' times round by round (mine / theirs, the lists in round
    order): their median and quartiles. Rounds run back to back share the host's load of the
    moment, so on a noisy host these resolve differences two best-of times do not."""
    ratios = sorted(m / t for m, t in zip(mine, theirs, strict=True))
    n = len(ratios)
    return ratios[(n - 1) // 2], ratios[(n - 1) // 4], ratios[3 * (n - 1) // 4]


def paired_verdict(what, mine, theirs, target):
    median, low, high = paired(mine, theirs)
    return (f"  {what}: paired {median:.3f} [{low:.3f}-{high:.3f}] over {len(mine)} rounds "
            f"(target <= {target}) {'met' if median <= target else 'MISSED'}")
