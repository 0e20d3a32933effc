#!/bin/bash
# Record/replay benchmarks (issues 5 and 12), measured in one run as ratios of the best of ROUNDS
# wall times, and as the median of the ratios round by round ("paired", with its quartiles):
#   - `record` vs `run` and `replay` vs `record` on an exit-heavy guest (io_loop_real patched to
#     200 000 port exits), on emu in its default mode (--verify hashes, adaptive clock), with
#     --clock icount and with --verify exits; on emu in its default mode also for a guest whose
#     every exit reads a port (port_poll_real, 2 000 000 reads); `record` vs `run` on a
#     compute-bound guest (compute_long: most of a second of computation, no exits, no timer);
#   - where valgrind is installed, the host instructions of an exit in each of the three (run,
#     record, replay): callgrind's count is the same in every run, while wall times on a shared
#     host vary by more than the 2 % the record/run target allows;
#   - trace bytes on disk per exit for the exit-heavy guest;
#   - replay vs record of a guest that idles nearly all the time (idle_pit_long: 500 PIT ticks
#     at 1 kHz with HLT between them);
#   - beside them, QEMU's own record/replay (-icount shift=auto,rr=record|replay) and rrvm's on
#     the same multiboot guests: wall time and log size.
# Each on emu, and on kvm where /dev/kvm is usable.
# Usage: tools/bench/record_bench.sh [BUILD_DIR] [ROUNDS]   (default build, 3)
set -euo pipefail

build=${1:-build}
rounds=${2:-3}
rrvm=$build/tools/rrvm
guests=$build/tests/guests
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Wall time of one command in seconds, its output discarded; rrvm's guest status 1 is a pass.
wall() {
  local start end status=0
  start=$(date +%s%N)
  "$@" >/dev/null 2>&1 || status=$?
  end=$(date +%s%N)
  if [ "$status" -gt 1 ]; then
    echo "record_bench: '$*' exited with $status" >&2
    exit 1
  fi
  echo "scale=4; ($end - $start) / 1000000000" | bc
}

min() { printf '%s\n' "$@" | sort -g | head -1; }
ratio() { echo "scale=3; $1 / $2" | bc; }

# Best wall times of up to three commands, run in turn round by round so that load from other
# processes on the host falls on all alike, the order reversed every other round: sets A, B and C,
# and in TA, TB and TC every round's time (for `paired`). The arguments come in pairs: a file the
# command writes (removed before it, untimed: replacing a file costs its deletion, which on a file
# system mounted with `discard`, ext4 here, waits for the device, ~0.2 ms; "" for none), then the
# command.
best_of_turns() {
  local -a outs=() cmds=() times=()
  while [ $# -gt 0 ]; do
    outs+=("$1") cmds+=("$2") times+=("")
    shift 2
  done
  local i round=0 order
  for _ in $(seq "$rounds"); do
    order=("${!cmds[@]}")
    if ((round++ % 2)); then
      order=()
      for i in "${!cmds[@]}"; do order=("$i" "${order[@]}"); done
    fi
    for i in "${order[@]}"; do
      [ -n "${outs[$i]}" ] && rm -f "${outs[$i]}"
      times[i]+="$(eval wall "${cmds[$i]}") "
    done
  done
  local -a names=(A B C)
  for i in "${!cmds[@]}"; do
    # shellcheck disable=SC2086 # the times are words
    printf -v "${names[$i]}" '%s' "$(min ${times[$i]})"
    printf -v "T${names[$i]}" '%s' "${times[$i]}"
  done
}

# The ratio of two commands' times round by round (second / first, from best_of_turns' TA, TB or
# TC): its median and, in brackets, its quartiles. Rounds run back to back share the host's load
# of the moment, so on a noisy host this resolves 1 % where two best-of times do not.
paired() {
  # shellcheck disable=SC2086 # the times are words
  paste -d' ' <(printf '%s\n' $1) <(printf '%s\n' $2) | awk '{ print $2 / $1 }' | sort -g |
    awk '{ r[NR] = $1 }
      END { printf "%.3f [%.3f-%.3f]", r[int((NR + 1) / 2)], r[int((NR - 1) / 4) + 1],
                   r[int(3 * (NR - 1) / 4) + 1] }'
}

# Host instructions one command executes, all its threads together, under valgrind's callgrind.
instructions() {
  local status=0
  valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" "$@" \
    >/dev/null 2>"$work/callgrind.log" || status=$?
  if [ "$status" -gt 1 ]; then
    echo "record_bench: callgrind of '$*' exited with $status" >&2
    exit 1
  fi
  sed -n 's/^==[0-9]*== Collected : \([0-9]*\)$/\1/p' "$work/callgrind.log"
}

# The host instructions of one exit: (instructions at 200 000 exits - at 20 000) / 180 000, for
# `run` and `record` with the options given (@LOOP@ stands for the guest: the loop patched to
# 20 000 and 200 000 iterations, the first two arguments) and the replay of the recording; sets IA,
# IB and IC (run, record, replay).
instructions_per_exit() {
  local -a at_20k at_200k
  local loop small=$1 large=$2
  shift 2
  for loop in "$small" "$large"; do
    local -a counts=()
    # shellcheck disable=SC2086 # the options are words
    counts+=("$(instructions "$rrvm" run ${1//@LOOP@/$loop})")
    # shellcheck disable=SC2086
    counts+=("$(instructions "$rrvm" record -o "$trace" ${2//@LOOP@/$loop})")
    counts+=("$(instructions "$rrvm" replay --serial none "$trace")")
    if [ "$loop" = "$small" ]; then at_20k=("${counts[@]}"); else at_200k=("${counts[@]}"); fi
  done
  local -a per_exit=()
  local i
  for i in 0 1 2; do
    per_exit+=("$(echo "scale=1; (${at_200k[$i]} - ${at_20k[$i]}) / 180000" | bc)")
  done
  IA=${per_exit[0]} IB=${per_exit[1]} IC=${per_exit[2]}
}

# A loop guest's (io_loop_real's, port_poll_real's) iteration count is its image's last dword
# (little-endian): patch_iterations GUEST COUNT OUT.
patch_iterations() {
  cp "$guests/$1.bin" "$3"
  local size
  size=$(stat -c %s "$3")
  printf '%08x' "$2" | sed 's/\(..\)\(..\)\(..\)\(..\)/\\x\4\\x\3\\x\2\\x\1/' | xargs -0 printf |
    dd of="$3" bs=1 seek=$((size - 4)) conv=notrunc status=none
}
patch_iterations io_loop_real 20000 "$work/io_loop_20k.bin"
patch_iterations io_loop_real 200000 "$work/io_loop_200k.bin"
patch_iterations io_loop_real 2000000 "$work/io_loop_2m.bin"
patch_iterations port_poll_real 20000 "$work/port_poll_20k.bin"
patch_iterations port_poll_real 200000 "$work/port_poll_200k.bin"
patch_iterations port_poll_real 2000000 "$work/port_poll_2m.bin"
io_loop_20k="--flat 0x7c00 $work/io_loop_20k.bin"
io_loop="--flat 0x7c00 $work/io_loop_200k.bin"
io_loop_2m="--flat 0x7c00 $work/io_loop_2m.bin"
port_poll_2m="--flat 0x7c00 $work/port_poll_2m.bin"

engines=(emu)
if "$rrvm" run --engine kvm --serial none --flat 0x7c00 "$guests/hang_real.bin" >/dev/null 2>&1 ||
  [ $? -eq 72 ]; then
  engines+=(kvm)
else
  echo "(/dev/kvm is not usable: emu only)"
fi

echo "record_bench: best of $rounds wall times, $(date -u +%Y-%m-%d), $(nproc) host CPUs"
for engine in "${engines[@]}"; do
  trace=$work/$engine.trace
  echo
  echo "== $engine"

  # emu's default trace holds only inputs and a rolling hash of the exits (--verify hashes, with
  # the adaptive clock); --clock icount ties no guest time to host time; --verify exits logs every
  # exit as kvm always does. kvm has only its default.
  if [ "$engine" = emu ]; then
    modes=("" "--clock icount" "--verify exits")
  else
    modes=("")
  fi
  for mode in "${modes[@]}"; do
    if [ -z "$mode" ]; then
      label="default"
      [ "$engine" = emu ] && label="default (--verify hashes, adaptive clock)"
    else
      label=$mode
    fi
    clock=""
    [[ $mode == --clock* ]] && clock=$mode # run takes the clock but not --verify
    best_of_turns "" "$rrvm run --engine $engine --serial none $clock $io_loop" \
      "$trace" "$rrvm record -o $trace --engine $engine --serial none $mode $io_loop" \
      "" "$rrvm replay --serial none $trace"
    run_200k=$A record_200k=$B replay_200k=$C
    record_run=$(paired "$TA" "$TB") replay_record=$(paired "$TB" "$TC")
    # The exit count comes from the footer's statistics: a --verify hashes trace logs no exits.
    exits=$("$rrvm" dump --count 0 "$trace" | sed -n 's/^stat total number of vm exits *\t\([0-9]*\)$/\1/p')
    events=$("$rrvm" dump --count 0 "$trace" | sed -n 's/^footer: \([0-9]*\) events.*/\1/p')
    bytes=$(stat -c %s "$trace")
    echo "exit-heavy (io_loop_real, $exits exits), $label: run ${A}s, record ${B}s," \
      "record/run $(ratio "$B" "$A"), paired $record_run (target <= 1.02), replay" \
      "${replay_200k}s, replay/record $(ratio "$replay_200k" "$B"), paired $replay_record (target < 1)"
    echo "  trace $events events, $bytes bytes, $(echo "scale=2; $bytes / $exits" | bc) bytes/exit" \
      "(target <= 4)"
    if [ "$engine" = emu ]; then
      # An emu exit is cheap enough that fixed costs show at 200 000 exits: ten times as many
      # separate the cost of each exit from the cost of starting and finishing a trace.
      best_of_turns "" "$rrvm run --engine $engine --serial none $clock $io_loop_2m" \
        "$trace" "$rrvm record -o $trace --engine $engine --serial none $mode $io_loop_2m" \
        "" "$rrvm replay --serial none $trace"
      replay_2m=$C
      echo "  at 2 000 000 exits (~100 ms, steadier): run ${A}s, record ${B}s," \
        "record/run $(ratio "$B" "$A"), paired $(paired "$TA" "$TB"), replay ${replay_2m}s," \
        "replay/record $(ratio "$replay_2m" "$B"), paired $(paired "$TB" "$TC")"
      echo "  per exit, from 200 000 to 2 000 000 exits: run" \
        "$(echo "scale=1; ($A - $run_200k) * 1000000000 / 1800000" | bc) ns, record" \
        "$(echo "scale=1; ($B - $record_200k) * 1000000000 / 1800000" | bc) ns, replay" \
        "$(echo "scale=1; ($replay_2m - $replay_200k) * 1000000000 / 1800000" | bc) ns"
      if command -v valgrind >/dev/null; then
        instructions_per_exit "$io_loop_20k" "$io_loop" "--engine emu --serial none $clock @LOOP@" \
          "--engine emu --serial none $mode @LOOP@"
        echo "  host instructions per exit (callgrind, from 20 000 to 200 000 exits): run $IA," \
          "record $IB, replay $IC; record/run $(ratio "$IB" "$IA") (target <= 1.02)," \
          "replay/record $(ratio "$IC" "$IB")"
      fi
    fi
  done

  # A guest whose every exit reads a port (a driver polling its device): under --verify hashes
  # the read is folded into the digest beside the exit.
  if [ "$engine" = emu ]; then
    best_of_turns "" "$rrvm run --engine emu --serial none $port_poll_2m" \
      "$trace" "$rrvm record -o $trace --engine emu --serial none $port_poll_2m" \
      "" "$rrvm replay --serial none $trace"
    echo "port-read-heavy (port_poll_real, 2 000 000 port reads), default: run ${A}s, record ${B}s," \
      "record/run $(ratio "$B" "$A"), paired $(paired "$TA" "$TB") (target <= 1.02), replay ${C}s," \
      "replay/record $(ratio "$C" "$B"), paired $(paired "$TB" "$TC") (target < 1)"
    if command -v valgrind >/dev/null; then
      instructions_per_exit "--flat 0x7c00 $work/port_poll_20k.bin" \
        "--flat 0x7c00 $work/port_poll_200k.bin" "--engine emu --serial none @LOOP@" \
        "--engine emu --serial none @LOOP@"
      echo "  host instructions per exit (callgrind, from 20 000 to 200 000 reads): run $IA," \
        "record $IB, replay $IC; record/run $(ratio "$IB" "$IA") (target <= 1.02)," \
        "replay/record $(ratio "$IC" "$IB")"
    fi
  fi

  # Most of a second of computation on each engine (emu's translator ~4 G, PVM's ring-0
  # emulation ~1.5 M guest instructions/s; the loop is 10 instructions), so that a recording's
  # fixed costs (the trace's set-up, the image compressed at zstd's level 19: ~2 ms) weigh as
  # little in the ratio as they do in a real recording.
  if [ "$engine" = emu ]; then iterations=300000000; else iterations=150000; fi
  best_of_turns "" "$rrvm run --engine $engine --serial none --append $iterations $guests/compute_long.elf" \
    "$trace" "$rrvm record -o $trace --engine $engine --serial none --append $iterations $guests/compute_long.elf"
  echo "compute-bound (compute_long, $iterations iterations): run ${A}s, record ${B}s," \
    "record/run $(ratio "$B" "$A"), paired $(paired "$TA" "$TB") (target <= 1.02)"

  "$rrvm" record -o "$trace" --engine "$engine" --serial none "$guests/idle_pit_long.elf" \
    >/dev/null 2>&1 || true
  best_of_turns "$work/idle.trace" \
    "$rrvm record -o $work/idle.trace --engine $engine --serial none $guests/idle_pit_long.elf" \
    "" "$rrvm replay --serial none $trace"
  echo "idle (idle_pit_long, 500 ticks with HLT): record ${A}s, replay ${B}s," \
    "record/replay $(ratio "$A" "$B"), paired $(paired "$TB" "$TA") (target >= 5)"
done

if command -v qemu-system-i386 >/dev/null; then
  echo
  echo "== QEMU record/replay (TCG, -icount shift=auto) vs rrvm emu, same multiboot guests"
  # shellcheck disable=SC2054 # the commas are inside one -device argument
  qemu=(qemu-system-i386 -nodefaults -display none -machine pc -serial none
    -device isa-debug-exit,iobase=0xf4,iosize=4)
  for guest in hello_multiboot pit_multiboot; do
    kernel=$guests/$guest.elf
    best_of_turns "$work/q.rr" "${qemu[*]} -icount shift=auto,rr=record,rrfile=$work/q.rr -kernel $kernel" \
      "" "${qemu[*]} -icount shift=auto,rr=replay,rrfile=$work/q.rr -kernel $kernel"
    qemu_record=$A qemu_replay=$B qemu_bytes=$(stat -c %s "$work/q.rr")
    best_of_turns "$work/r.trace" "$rrvm record -o $work/r.trace --engine emu --serial none $kernel" \
      "" "$rrvm replay --serial none $work/r.trace"
    echo "$guest: QEMU record ${qemu_record}s, replay ${qemu_replay}s, log $qemu_bytes bytes;" \
      "rrvm emu record ${A}s, replay ${B}s, trace $(stat -c %s "$work/r.trace") bytes"
  done
fi
