#include "vmm/machine.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <sched.h>

#include "vmm/boot/kernel_loader.h"
#include "vmm/boot/rng_seed.h"
#include "vmm/disassembler.h"
#include "vmm/hex_text.h"
#include "vmm/kick_tracker.h"
#include "vmm/live_gate.h"
#include "vmm/msr_index.h"
#include "vmm/msr_model.h"
#include "vmm/page_walker.h"
#include "vmm/register_dump.h"
#include "vmm/state_hash.h"

namespace rrvm {

namespace {

// Instructions an instruction-counting engine runs between looks at the clock: about 1 ms of
// guest execution at emu's speed, which bounds timer-interrupt latency for a busy guest.
constexpr uint64_t kEmuQuantum = 100000;

// Exits between two looks at the host CPU the vCPU runs on (count_host_cpu).
constexpr uint64_t kExitsPerCpuLook = 64;

uint64_t thread_cpu_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

} // namespace

Machine::Machine(const MachineConfig& config, GuestMemory& memory, EngineChoice engine, Gate& gate)
    : config_(config), gate_(gate), memory_(memory), engine_(std::move(engine.engine)),
      engine_choice_(std::move(engine.why)),
      counts_instructions_(engine_->instruction_count().has_value()), debug_registers_(*engine_),
      platform_(clock_, memory.size(), config.rtc_base_unix_seconds, config.serial_output) {
  platform_.attach(ports_, mmio_);
  // The gates that track kicks are the ones that record or replay: both need every read of a
  // clock-derived MSR to pass through the machine, or the trace cannot reproduce it.
  if (gate_.tracks_kicks() && !engine_->machine_answers_msrs())
    throw Error(ExitCode::kNoHost,
                std::string(engine_->name()) +
                    ": this KVM cannot route MSR accesses to rrvm (no KVM_CAP_X86_MSR_FILTER), so "
                    "the guest would read the host's TSC MSRs unrecorded; record and replay with "
                    "--engine emu");
  // The kick seek's breakpoint slot is kept from the start: a debugger's breakpoints must not
  // fill it before the first kick comes (gdb gets an error for one too many instead).
  if (gate_.tracks_kicks() && engine_->dirty_page_log())
    debug_registers_.reserve(DebugClient::kKickSeek, KickTracker::kBreakpointSlots);
  clock_line_.rate = config_.clock_mode == ClockMode::kAdaptive ? kAdaptiveStartRate : kIcountRate;
  if (counts_time()) engine_->set_tsc_clock(clock_line_, tsc_offset_);
}

Machine::~Machine() {
  VcpuKicker::forget(engine_.get());
}

const BootImage& Machine::boot(BootOptions options, std::optional<std::vector<uint8_t>> file) {
  if (options.linux_rng_seed.empty())
    options.linux_rng_seed = linux_rng_seed(config_.rtc_base_unix_seconds);
  BootResult result =
      file ? load_kernel(memory_, options, std::move(*file)) : load_kernel(memory_, options);
  engine_->set_state(result.cpu);
  image_ = std::move(result.image);
  return image_;
}

RunOutcome Machine::run() {
  RunOutcome outcome = run_to_outcome();
  switch (outcome.kind) {
  case RunOutcome::Kind::kStopped:
  case RunOutcome::Kind::kDebugStop:
  case RunOutcome::Kind::kPositionReached:
    break;
  default:
    gate_.on_run_end();
  }
  return outcome;
}

RunOutcome Machine::run_to_outcome() {
  // The kicker's timer signals the thread that runs the vCPU, so it is created here.
  if (!kicker_) kicker_ = std::make_unique<VcpuKicker>();
  VcpuKicker::attach(engine_.get());
  run_start_host_ns_ = thread_cpu_ns();
  folded_ = gate_.folded_reports();
  if (gate_.tracks_kicks() && !kicks_) {
    if (DirtyPageLog* dirty_log = engine_->dirty_page_log())
      kicks_ =
          std::make_unique<KickTracker>(*engine_, debug_registers_, *dirty_log, memory_, gate_);
  }
  if (!sampler_) sampler_.emplace();
  if (config_.clock_mode == ClockMode::kAdaptive && *engine_->instruction_count() == 0 &&
      clock_.now_ns() == 0) {
    if (auto tie = gate_.clock_tie(ClockTiePoint::kStart, 0, 0, clock_line_.rate))
      move_clock_line(tie->ns, tie->rate);
  }
  RunOutcome outcome{RunOutcome::Kind::kStopped, 0, ""};
  for (;;) {
    if (halted_ && !wait_while_halted(outcome)) return outcome;
    // An instruction-counting engine stops at every multiple of kEmuQuantum instructions to look
    // at the clock and the timers, instead of being kicked by a host timer at a nondeterministic
    // point: its asynchronous events then need no logged position at all. A debugger's stop
    // position may come first; it is invisible to the gate.
    // In icount mode it also stops at the count where the next timer deadline falls, so the
    // timer's interrupt is raised at exactly that instruction.
    const MaybeCount count = engine_->instruction_count();
    if (count) {
      if (stop_at_ && *stop_at_ == *count) return {RunOutcome::Kind::kPositionReached, 0, ""};
      if (owed_limit_exit_ != *count) limit_ = next_instruction_limit(*count);
      owed_limit_exit_ = std::nullopt;
      engine_->set_instruction_limit(limit_);
    }
    std::optional<KickPoint> sought;
    if (kicks_ || !config_.instruction_quanta) sought = seek_kick();
    Exit& exit = engine_->run();
    // The kick of a stop request is no event of the guest's: neither logged nor replayed, so
    // it may interrupt any engine, recording or replaying, anywhere.
    if (exit.reason == ExitReason::kKicked && gate_.stop_requested()) {
      kicker_->disarm();
      return {RunOutcome::Kind::kStopped, 0, "stopped by the user"};
    }
    // A debug stop goes to whoever it belongs to (a stop nobody claims to the kick seek while it
    // seeks, else to the debugger); a point both set is both's: the kick is handled first, and
    // the debugger stops after it, at the same instruction.
    std::optional<DebugEvent> debugger_stop;
    if (exit.reason == ExitReason::kDebug) {
      const bool debugger = debug_registers_.owns(DebugClient::kDebugger, exit.debug);
      const bool seek =
          sought && (debug_registers_.owns(DebugClient::kKickSeek, exit.debug) || !debugger);
      if (!seek) return debug_stop(exit.debug);
      if (debugger) debugger_stop = exit.debug;
      if (!kicks_->found(*sought, stats_)) { // a hit whose state does not match
        if (debugger_stop) return debug_stop(*debugger_stop);
        continue;
      }
      exit.reason = ExitReason::kKicked;
    }
    // Asked once: an exit is cheap on emu, and every question to the engine is a virtual call.
    const MaybeCount exit_count = engine_->instruction_count();
    bool quantum_boundary = false;
    if (exit.reason == ExitReason::kInstructionLimit) {
      quantum_boundary = config_.instruction_quanta && *exit_count % kEmuQuantum == 0;
      if (!quantum_boundary && *exit_count != deadline_count_)
        return {RunOutcome::Kind::kPositionReached, 0, ""};
    }
    exits_.add(exit.reason);
    if (exit.reason == ExitReason::kKicked && kicks_) kicks_->report();
    if (report_exit(gate_, folded_, exit.reason, engine_->exit_rip(), exit_count))
      gate_.on_register_hash(hash_cpu_state(engine_->state()));
    update_clock(quantum_boundary, exit_count);
    count_host_cpu();
    if (clock_.now_ns() >= next_sample_ns_) [[unlikely]]
      take_sample();
    switch (exit.reason) {
    case ExitReason::kIo:
      handle_io(exit.io);
      if (const auto& request = platform_.end_request()) {
        kicker_->disarm();
        return end_by_request(*request);
      }
      break;
    case ExitReason::kMmio:
      handle_mmio(exit.mmio);
      break;
    case ExitReason::kHlt:
      halted_ = true;
      // Only an NMI, SMI or INIT could wake it, and rrvm has none: this is how a PC without
      // ACPI powers off (Linux's halt and `poweroff -f` end in cli; hlt).
      if (!engine_->interrupts_enabled()) {
        kicker_->disarm();
        return powered_off();
      }
      break;
    case ExitReason::kMsrRead:
    case ExitReason::kMsrWrite:
      handle_msr(exit, exit.reason == ExitReason::kMsrRead);
      break;
    case ExitReason::kInterruptWindow:
    case ExitReason::kKicked:
    case ExitReason::kInstructionLimit:
    case ExitReason::kDebug: // returned above
      break;
    case ExitReason::kShutdown:
      kicker_->disarm();
      // The CPU's shutdown cycle, which a PC's chipset turns into a reset.
      return {RunOutcome::Kind::kReset, 0,
              explain_failure("guest reset by a triple fault (the CPU shut down)")};
    case ExitReason::kInternalError:
    case ExitReason::kUnsupported:
      kicker_->disarm();
      return {RunOutcome::Kind::kEngineError, 0, explain_failure(exit.detail)};
    }
    if (gate_.stop_requested()) {
      kicker_->disarm();
      return {RunOutcome::Kind::kStopped, 0, "stopped by the user"};
    }
    service_devices();
    deliver_interrupts(exit.reason == ExitReason::kKicked);
    arm_kicker();
    if (debugger_stop) return debug_stop(*debugger_stop);
  }
}

MaybeCount Machine::next_instruction_limit(uint64_t count) {
  MaybeCount limit;
  if (config_.instruction_quanta) limit = (count / kEmuQuantum + 1) * kEmuQuantum;
  deadline_count_ = TimerSource::kNever;
  if (counts_time()) {
    const uint64_t deadline = platform_.next_deadline_ns();
    if (deadline != TimerSource::kNever) {
      // The first instruction count whose time reaches the deadline; a deadline already passed
      // (its interrupt is still pending) is looked at again after the next instruction.
      if (deadline != counted_deadline_ns_) {
        counted_deadline_ns_ = deadline;
        counted_deadline_icount_ = clock_line_.icount_at(deadline);
      }
      deadline_count_ = std::max(count + 1, counted_deadline_icount_);
      limit = std::min(limit.value_or(UINT64_MAX), deadline_count_);
    }
  }
  if (stop_at_ && *stop_at_ > count) limit = std::min(limit.value_or(UINT64_MAX), *stop_at_);
  return limit;
}

void Machine::update_clock(bool quantum_boundary, MaybeCount exit_count) {
  if (!counts_time()) {
    clock_.advance_to(gate_.sample_clock());
    return;
  }
  const uint64_t count = *exit_count;
  if (quantum_boundary && config_.clock_mode == ClockMode::kAdaptive) {
    if (auto tie = gate_.clock_tie(ClockTiePoint::kQuantum, count, clock_line_.ns_at(count),
                                   clock_line_.rate))
      move_clock_line(tie->ns, tie->rate);
  }
  clock_.advance_to(clock_line_.ns_at(count));
}

void Machine::fast_forward_to(uint64_t deadline_ns) {
  if (deadline_ns > clock_.now_ns()) move_clock_line(deadline_ns, clock_line_.rate);
}

void Machine::wake_adaptive(uint64_t deadline_ns) {
  const uint64_t count = *engine_->instruction_count();
  const std::optional<ClockTie> tie =
      gate_.clock_tie(ClockTiePoint::kWake, count, clock_.now_ns(), clock_line_.rate);
  if (!tie) {
    if (deadline_ns != TimerSource::kNever) fast_forward_to(deadline_ns);
    return;
  }
  move_clock_line(tie->ns, tie->rate);
}

void Machine::move_clock_line(uint64_t ns, uint64_t rate) {
  const uint64_t count = *engine_->instruction_count();
  clock_line_ = {count, std::max(ns, std::max(clock_.now_ns(), clock_line_.ns_at(count))),
                 ClockLine::clamp_rate(rate)};
  clock_.advance_to(clock_line_.base_ns);
  counted_deadline_ns_ = TimerSource::kNever;
  engine_->set_tsc_clock(clock_line_, tsc_offset_);
}

std::optional<KickPoint> Machine::seek_kick() {
  if (kicks_) return kicks_->seek();
  // emu replaying a kvm recording stops only where kvm exited; a kick in between has no
  // instruction count to stop at, so such a recording replays only on kvm.
  if (!config_.instruction_quanta && gate_.tracks_kicks()) {
    if (auto kick = gate_.next_kick()) {
      throw Error(ExitCode::kDivergence,
                  "the recording was interrupted by a host-timer kick at rip " +
                      hex_text(kick->rip) +
                      "; a kvm recording with kicks cannot replay on emu (replay it on kvm)");
    }
  }
  return std::nullopt;
}

RunOutcome Machine::debug_stop(const DebugEvent& event) {
  // A watchpoint or single step that stopped on the instruction reaching a quantum or a timer
  // deadline came before that limit's exit, which a run without the stop takes there: it is
  // still owed.
  const MaybeCount count = engine_->instruction_count();
  if (count && limit_ == *count &&
      ((config_.instruction_quanta && *count % kEmuQuantum == 0) || *count == deadline_count_))
    owed_limit_exit_ = *count;
  RunOutcome outcome{RunOutcome::Kind::kDebugStop, 0, ""};
  outcome.debug = event;
  return outcome;
}

MachineSnapshot Machine::snapshot() {
  MachineSnapshot s;
  s.cpu = engine_->state();
  StateWriter tlb;
  engine_->save_tlb(tlb);
  s.tlb = tlb.take();
  if (!engine_->marks_written_pages()) memory_.mark_all_written();
  s.memory = MemoryImage::capture(memory_, memory_image_.get());
  memory_image_ = s.memory;
  StateWriter devices;
  platform_.save(devices);
  s.devices = devices.take();
  s.clock_ns = clock_.now_ns();
  s.tsc_offset = tsc_offset_;
  s.clock_line = clock_line_;
  s.owed_limit_exit = owed_limit_exit_;
  s.deadline_count = deadline_count_;
  s.halted = halted_;
  s.interrupt_window_requested = window_requested_;
  s.instruction_count = engine_->instruction_count().value_or(0);
  s.stats = stats_;
  s.exits = exits_;
  return s;
}

size_t Machine::restore(const MachineSnapshot& s) {
  if (!engine_->marks_written_pages()) memory_.mark_all_written();
  const size_t copied = s.memory->apply(memory_, memory_image_.get());
  memory_image_ = s.memory;
  engine_->set_state(s.cpu); // also drops decoded code: memory changed under the engine
  if (!s.tlb.empty()) {      // empty: an engine that saves none
    StateReader tlb(s.tlb);
    engine_->restore_tlb(tlb);
  }
  StateReader devices(s.devices);
  platform_.restore(devices);
  clock_.reset(s.clock_ns);
  tsc_offset_ = s.tsc_offset;
  clock_line_ = s.clock_line;
  counted_deadline_ns_ = TimerSource::kNever;
  owed_limit_exit_ = s.owed_limit_exit;
  limit_ = s.owed_limit_exit;
  deadline_count_ = s.deadline_count;
  if (counts_time()) engine_->set_tsc_clock(clock_line_, tsc_offset_);
  halted_ = s.halted;
  request_window(s.interrupt_window_requested);
  engine_->set_instruction_count(s.instruction_count);
  stats_ = s.stats;
  exits_ = s.exits;
  armed_deadline_ = TimerSource::kNever;
  return copied;
}

void Machine::handle_io(IoExit& io) {
  for (uint32_t i = 0; i < io.count; ++i) {
    uint8_t* data = io.data + size_t(i) * io.size;
    if (io.write) {
      uint64_t value = 0;
      std::memcpy(&value, data, io.size);
      if (!ports_.write(io.port, io.size, value)) stats_.add(VmStat::RRVM_UNHANDLED_PORT_WRITES);
    } else {
      uint64_t value = ~0ull;
      if (!ports_.read(io.port, io.size, value)) stats_.add(VmStat::RRVM_UNHANDLED_PORT_READS);
      std::memcpy(data, &value, io.size);
      report_read<&ReportDigest::port_read, &Gate::on_port_read>(gate_, folded_, io.port, io.size,
                                                                 static_cast<uint32_t>(value));
    }
  }
}

void Machine::handle_mmio(MmioExit& mmio) {
  if (mmio.write) {
    uint64_t value = 0;
    std::memcpy(&value, mmio.data, mmio.size);
    if (!mmio_.write(mmio.gpa, mmio.size, value)) stats_.add(VmStat::RRVM_UNHANDLED_MMIO);
  } else {
    uint64_t value = ~0ull;
    if (!mmio_.read(mmio.gpa, mmio.size, value)) stats_.add(VmStat::RRVM_UNHANDLED_MMIO);
    std::memcpy(mmio.data, &value, mmio.size);
    report_read<&ReportDigest::mmio_read, &Gate::on_mmio_read>(gate_, folded_, mmio.gpa, mmio.size,
                                                               value);
  }
}

void Machine::handle_msr(Exit& exit, bool read) {
  const MsrModel* model = find_msr_model(exit.msr.index);
  if (!model || model->owner == MsrOwner::kEngine) { // the engine's own never exit
    stats_.add(VmStat::RRVM_UNKNOWN_MSRS);
    *exit.msr.fault = true;
    return;
  }
  uint64_t& value = *exit.msr.value;
  if (model->owner == MsrOwner::kConstant) {
    if (read) value = model->value; // writes are accepted and change nothing
  } else {
    answer_clock_msr(model->index, read, value);
  }
  if (read)
    report_read<&ReportDigest::msr_read, &Gate::on_msr_read>(gate_, folded_, exit.msr.index, value);
}

void Machine::answer_clock_msr(uint32_t index, bool read, uint64_t& value) {
  // The TSC ticks once per guest nanosecond of the virtual clock; MPERF and APERF follow it (the
  // CPU always runs at its nominal frequency); no adjustment and no deadline timer.
  const uint64_t tsc = clock_.now_ns() + tsc_offset_;
  switch (index) {
  case msr::kTsc:
    if (read)
      value = tsc;
    else
      tsc_offset_ = value - clock_.now_ns();
    if (counts_time()) engine_->set_tsc_clock(clock_line_, tsc_offset_);
    break;
  case msr::kMperf:
  case msr::kAperf:
    if (read) value = tsc;
    break;
  default: // IA32_TSC_ADJUST, IA32_TSC_DEADLINE
    if (read) value = 0;
    break;
  }
}

void Machine::service_devices() {
  uint8_t input[64];
  if (size_t n = poll_input(gate_, folded_, input)) platform_.serial().receive({input, n});
  platform_.expire_timers();
}

void Machine::count_host_cpu() {
  // sched_getcpu() is a vDSO call (rseq/getcpu), yet 30 instructions: a few percent of an emu
  // exit. Looking every 64th exit misses only a thread moved away and back within 64 exits
  // (microseconds on emu), which the count of migrations may well forget.
  if (exits_.total() % kExitsPerCpuLook != 0) return;
  const int cpu = sched_getcpu();
  if (cpu != host_cpu_) {
    if (host_cpu_ >= 0) stats_.add(VmStat::VCPU_MIGRATIONS);
    host_cpu_ = cpu;
  }
}

void Machine::set_sample_sink(uint64_t interval_ns, std::function<void(const HostSample&)> sink) {
  sample_interval_ns_ = interval_ns;
  sample_sink_ = std::move(sink);
  next_sample_ns_ = sample_sink_ ? clock_.now_ns() + interval_ns : TimerSource::kNever;
}

void Machine::take_sample() {
  sample_sink_(host_sample());
  next_sample_ns_ = clock_.now_ns() + sample_interval_ns_;
}

HostSample Machine::host_sample() const {
  const HostSampler::Reading now = sampler_->now();
  return {now.elapsed_ns, now.run_ns, now.wait_ns, stats_.get(VmStat::VCPU_IDLE_TICKS), exits_};
}

void Machine::deliver_interrupts(bool at_kick) {
  if (!platform_.pic().interrupt_pending()) {
    if (window_requested_) request_window(false);
    return;
  }
  if (engine_->can_inject()) {
    uint8_t vector = platform_.pic().acknowledge();
    gate_.on_injection(vector, exits_.total(), engine_->instruction_count());
    engine_->inject_interrupt(vector);
    stats_.add(VmStat::VCPU_EXTINT_COUNT);
    stats_.add(at_kick ? VmStat::RRVM_INJECT_AT_KICK : VmStat::RRVM_INJECT_AT_EXIT);
    halted_ = false;
    request_window(false);
  } else {
    // A replay asks for the window only where the recording's next exit may be the window's.
    // Where KVM takes that exit inexactly (PVM, at the end of an emulation batch), asking for it
    // anyway may meet it before the exit the recording met first; where KVM is exact, a window
    // the recording did not exit for stays shut until that exit, asked for or not.
    const std::optional<ExitReason> next = gate_.next_exit_reason();
    const bool ask = !next || *next == ExitReason::kInterruptWindow;
    if (ask || window_requested_) request_window(ask);
  }
}

void Machine::request_window(bool enable) {
  window_requested_ = enable;
  engine_->request_interrupt_window(enable);
}

bool Machine::wait_while_halted(RunOutcome& outcome) {
  while (halted_) {
    uint64_t deadline = platform_.next_deadline_ns();
    if (deadline == TimerSource::kNever && !gate_.input_possible()) {
      outcome = {RunOutcome::Kind::kHung, 0,
                 explain_failure("guest hung: halted with no timer armed and no input possible, "
                                 "nothing can wake it")};
      return false;
    }
    // The wait serves the deadline itself; a kick armed for it would only interrupt the guest
    // needlessly (and, when recording on kvm, at a point replay must then search for).
    if (kicker_) kicker_->disarm();
    armed_deadline_ = TimerSource::kNever;
    if (config_.clock_mode == ClockMode::kIcount && deadline != TimerSource::kNever) {
      // Guest time owes host time nothing: no waiting at all, and the time skipped is the idle.
      stats_.add(VmStat::VCPU_IDLE_TICKS, deadline - std::min(deadline, clock_.now_ns()));
      fast_forward_to(deadline);
    } else {
      // Host and adaptive modes wait for the deadline (a replay does not); icount mode only for
      // input (the clock stands still).
      uint64_t idle_start = host_monotonic_ns();
      gate_.wait_idle(deadline);
      engine_->cancel_kick();
      stats_.add(VmStat::VCPU_IDLE_TICKS, host_monotonic_ns() - idle_start);
      if (config_.clock_mode == ClockMode::kHost) clock_.advance_to(gate_.sample_clock());
      if (config_.clock_mode == ClockMode::kAdaptive) wake_adaptive(deadline);
    }
    if (clock_.now_ns() >= next_sample_ns_) take_sample();
    if (gate_.stop_requested()) {
      outcome = {RunOutcome::Kind::kStopped, 0, "stopped by the user"};
      return false;
    }
    service_devices();
    deliver_interrupts(false); // the wake-up of a HLT exit
  }
  arm_kicker();
  return true;
}

void Machine::arm_kicker() {
  if (counts_instructions_) return; // emu: quanta, not kicks
  uint64_t deadline = platform_.next_deadline_ns();
  if (deadline == armed_deadline_) return;
  armed_deadline_ = deadline;
  uint64_t host = deadline == TimerSource::kNever ? 0 : gate_.host_deadline(deadline);
  // A guest that exits on its own within the bound takes the interrupt at that exit, which
  // replays for free; only a guest that keeps running is kicked.
  if (host != 0) host += config_.kick_bound_ns;
  if (host == 0)
    kicker_->disarm();
  else
    kicker_->arm_at(host);
}

VmStats Machine::stats() const {
  VmStats stats = stats_;
  exits_.add_to(stats);
  return stats;
}

VmStats Machine::final_stats() {
  stats_.set(VmStat::VCPU_TOTAL_RUNTIME, thread_cpu_ns() - run_start_host_ns_);
  stats_.set(VmStat::VMM_MEM_RESIDENT, memory_.resident_bytes());
  stats_.set(VmStat::PIT_TIMER_INTERRUPTS, platform_.pit_interrupts());
  stats_.set(VmStat::RTC_TIMER_INTERRUPTS, platform_.rtc_interrupts());
  stats_.set(VmStat::HPET_TIMER_INTERRUPTS, platform_.hpet_interrupts());
  // Not deterministic across engines: a kvm recording, which counts none, replays on emu too.
  stats_.set(VmStat::RRVM_INSTRUCTIONS_RETIRED, engine_->instruction_count().value_or(0));
  if (sampler_) {
    const HostSample sample = host_sample();
    stats_.set(VmStat::RRVM_CPU_READY_NS, sample.ready_ns);
    stats_.set(VmStat::RRVM_CPU_READY_PCT100,
               std::llround(ready_percent(sample.ready_ns, sample.host_ns) * 100));
    if (sample_sink_) {
      sample_sink_(sample);
      set_sample_sink(0, nullptr);
    }
  }
  return stats();
}

RunOutcome Machine::powered_off() {
  const CpuState cpu = engine_->state();
  char where[96];
  std::snprintf(where, sizeof where, "cs:rip %04x:%llx in %s", cpu.cs.selector,
                static_cast<unsigned long long>(cpu.rip), cpu.mode_name());
  std::string message = "guest powered off (halted with interrupts disabled at ";
  message += where;
  message += ")";
  return {RunOutcome::Kind::kPoweredOff, 0, message};
}

RunOutcome Machine::end_by_request(const EndRequest& request) {
  if (request.kind == EndRequest::Kind::kGuestExit) {
    gate_.on_guest_exit(request.status);
    return {RunOutcome::Kind::kGuestExit, request.status, ""};
  }
  std::string message = "guest reset by ";
  message += describe_reset(request);
  return {RunOutcome::Kind::kReset, 0, message};
}

ExitCode end_status(RunOutcome::Kind kind) {
  switch (kind) {
  case RunOutcome::Kind::kPoweredOff:
    return ExitCode::kPoweredOff;
  case RunOutcome::Kind::kReset:
    return ExitCode::kReset;
  case RunOutcome::Kind::kHung:
    return ExitCode::kGuestHung;
  default:
    return ExitCode::kGuestFault;
  }
}

std::string Machine::explain_failure(const std::string& what) {
  CpuState cpu = engine_->state();
  return what + "\n" + describe_instruction_at(memory_, cpu) + "\n" + register_dump(cpu);
}

} // namespace rrvm
