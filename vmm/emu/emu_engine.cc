#include "vmm/emu/emu_engine.h"

#include <algorithm>
#include <utility>

#include "vmm/emu/code_cache.h"
#include "vmm/emu/cpu.h"
#include "vmm/emu/jit/translator.h"

namespace rrvm {

namespace {

// An exit that asks the machine for data (StopRun and Cpu::unretired carry only reads; writes
// retire first). Exits whose instruction runs again with the machine's answer: port and MMIO
// reads, and every RDMSR/WRMSR of an MSR the machine answers (a write may be refused with #GP).
bool is_read_exit(const Exit& e) {
  return (e.reason == ExitReason::kIo && !e.io.write) ||
         (e.reason == ExitReason::kMmio && !e.mmio.write) || e.reason == ExitReason::kMsrRead ||
         e.reason == ExitReason::kMsrWrite;
}

} // namespace

using emu::Cpu;
using emu::GuestFault;
using emu::StopRun;

EmuEngine::EmuEngine(GuestMemory& memory, CpuidTable cpuid, bool translate,
                     size_t code_buffer_bytes)
    : cpu_(std::make_unique<Cpu>(memory, std::move(cpuid))) {
  if (translate) translator_ = std::make_unique<emu::Translator>(*cpu_, code_buffer_bytes);
}

EmuEngine::~EmuEngine() = default;

Exit& EmuEngine::finish(ExitReason reason) {
  cpu_->exit = Exit{};
  cpu_->exit.reason = reason;
  return cpu_->exit;
}

Exit& EmuEngine::finish_debug(DebugCause cause, uint64_t address) {
  Exit& e = finish(ExitReason::kDebug);
  e.debug = DebugEvent{cause, address};
  return e;
}

// The machine filled the data of the read that stopped the last run; the instruction (or the
// event delivery) runs again and takes it, with the values earlier attempts took. False when the
// log is full: the run stops as unsupported.
bool EmuEngine::record_input() {
  Cpu& c = *cpu_;
  emu::InputLog& log = c.inputs;
  if (log.icount != c.icount) {
    log.clear();
    log.icount = c.icount;
  }
  log.count = log.next; // an attempt that read differently than before starts the log over there
  if (log.count == emu::InputLog::kCapacity) {
    finish(ExitReason::kUnsupported).detail =
        "an instruction or event delivery at rip " + hex_text(c.rip) + " reads more than " +
        std::to_string(emu::InputLog::kCapacity) + " device registers";
    return false;
  }
  const Exit& e = c.exit;
  emu::DeviceInput& in = log.entries[log.count++];
  in = emu::DeviceInput{};
  in.msr = e.reason == ExitReason::kMsrRead || e.reason == ExitReason::kMsrWrite;
  if (in.msr) {
    in.address = e.msr.index;
    in.value = c.msr_buffer;
    in.fault = c.msr_fault;
  } else {
    in.io = e.reason == ExitReason::kIo;
    in.address = in.io ? e.io.port : e.mmio.gpa;
    in.size = in.io ? e.io.size : e.mmio.size;
    std::memcpy(&in.value, in.io ? c.io_buffer : c.mmio_buffer, in.size);
  }
  retry_pending_ = true;
  return true;
}

Exit& EmuEngine::run() {
  Cpu& c = *cpu_;
  if (read_exit_pending_) {
    read_exit_pending_ = false;
    if (!record_input()) return c.exit;
  }
  c.exit_pending = false;
  c.watch_hit.reset();
  if (watch_exit_pending_) {
    step_exit_pending_ = false; // the watch stop is the step's stop too
    Exit& e = finish(ExitReason::kDebug);
    e.debug = *std::exchange(watch_exit_pending_, std::nullopt);
    return e;
  }
  if (step_exit_pending_) {
    step_exit_pending_ = false;
    return finish_debug(DebugCause::kStep, c.linear(emu::kCS, c.rip));
  }
  for (;;) {
    // Looked at before it is cleared: the exchange is a locked instruction, which cost about a
    // tenth of a port exit when it ran at every entry.
    if (c.kicked.load(std::memory_order_relaxed) && c.kicked.exchange(false))
      return finish(ExitReason::kKicked);
    if (trap_pending_) {
      if (!deliver_single_step_trap()) return c.exit;
      if (Exit* stop = stop_after_delivery()) return *stop;
    }
    if (pending_irq_) {
      retry_pending_ = false;
      c.inputs.next = 0;
      const bool delivered =
          c.deliver_event(*pending_irq_, Cpu::EventKind::kExternal, std::nullopt, c.rip);
      read_exit_pending_ = !delivered && is_read_exit(c.exit);
      // A delivery waiting for a device read is tried again; any other outcome consumes the event.
      if (!read_exit_pending_) pending_irq_.reset();
      if (!delivered) return c.exit;
      c.inputs.clear();
      count_delivery();
      if (Exit* stop = stop_after_delivery()) return *stop;
    }
    if (c.halted) return finish(ExitReason::kHlt);
    if (c.icount >= user_limit_) return finish(ExitReason::kInstructionLimit);
    if (window_ && can_inject()) return finish(ExitReason::kInterruptWindow);
    if (!exec_breakpoints_.empty()) {
      const uint64_t la = c.linear(emu::kCS, c.rip);
      if (breakpoint_resume_ == la) {
        breakpoint_resume_.reset();
      } else if (std::find(exec_breakpoints_.begin(), exec_breakpoints_.end(), la) !=
                 exec_breakpoints_.end()) {
        breakpoint_resume_ = la;
        return finish_debug(DebugCause::kBreakpoint, la);
      }
    }
    const bool one = single_step_ || c.interrupt_shadow || (c.flags_raw & rflags::kTF);
    if (!execute(one)) return c.exit;
    c.code->release_retired();
    if (c.exit_pending) return exit_after_completion();
    if (c.watch_hit) {
      Exit& e = finish(ExitReason::kDebug);
      e.debug = *c.watch_hit;
      c.watch_hit.reset();
      return e;
    }
    if (single_step_) return finish_debug(DebugCause::kStep, c.linear(emu::kCS, c.rip));
  }
}

bool EmuEngine::execute(bool one) {
  Cpu& c = *cpu_;
  const bool tf = c.flags_raw & rflags::kTF;
  c.stop = false;
  c.unretired = false;
  // An instruction under an interrupt shadow runs alone; the shadow ends with it unless the
  // instruction (MOV SS, STI) raises it again.
  if (one) c.interrupt_shadow = false;
  c.limit = one ? std::min(user_limit_, c.icount + 1) : user_limit_;
  retry_pending_ = false;
  c.inputs.next = 0;
  if (translator_)
    translator_->set_chaining(!single_step_ && !trap_pending_ && !pending_irq_ && !window_ &&
                              exec_breakpoints_.empty() && !c.watch_active());
  try {
    for (;;) {
      uint64_t phys;
      const uint64_t la = c.linear(emu::kCS, c.rip);
      const uint8_t* host = c.fetch_page(la, &phys);
      if (!host) {
        finish(ExitReason::kUnsupported).detail =
            "executing code outside RAM at guest-physical " + hex_text(phys);
        return false;
      }
      emu::Block* b = c.code->block(la, phys, host, c.code_bits);
      // A block decoded into the next page runs there only while the TLB maps that page as then.
      size_t runnable = !b                                                    ? 0
                        : b->spans() && !c.next_page_maps(la, b->second_page) ? b->first_page_insns
                                                                              : b->insns.size();
      // A block runs up to the first breakpoint inside it; run() stops there.
      if (runnable && !exec_breakpoints_.empty())
        runnable = std::min(runnable, insns_before_breakpoint(*b, la));
      if (runnable == 0) {
        if (!execute_cross_page()) return false;
        break;
      }
      if (one || runnable < b->insns.size() || !translator_ || !translator_->run(*b)) {
        interpret(*b, one ? 1 : runnable);
        break;
      }
      if (!next_block_follows()) break;
      // What run()'s loop does between two blocks, and execute()'s start for the next.
      c.code->release_retired();
      c.stop = false;
      retry_pending_ = false;
      c.inputs.next = 0;
    }
  } catch (const GuestFault& f) {
    const bool delivered = c.raise(f);
    read_exit_pending_ = !delivered && is_read_exit(c.exit);
    if (!delivered) return false;
    c.inputs.clear(); // the handler's first instruction has the same count
    count_delivery();
    return true;
  } catch (const StopRun&) {
    read_exit_pending_ = is_read_exit(c.exit);
    return false;
  }
  if (c.unretired) {
    read_exit_pending_ = is_read_exit(c.exit);
    return false;
  }
  if (tf && !c.exit_pending) {
    trap_pending_ = true;
    // The instruction's end and the trap's delivery are two positions: a debugger's step or a
    // watch hit stops at the first, and the trap comes with the next run.
    if (single_step_ || c.watch_hit) return true;
    return deliver_single_step_trap();
  }
  return true;
}

size_t EmuEngine::insns_before_breakpoint(const emu::Block& b, uint64_t la) const {
  for (size_t i = 1; i < b.insns.size(); ++i) {
    la += b.insns[i - 1].len;
    if (std::find(exec_breakpoints_.begin(), exec_breakpoints_.end(), la) !=
        exec_breakpoints_.end())
      return i;
  }
  return b.insns.size();
}

void EmuEngine::interpret(const emu::Block& b, size_t count) {
  Cpu& c = *cpu_;
  const emu::Insn* in = b.insns.data();
  const emu::Insn* end = in + count;
  for (;;) {
    c.next_rip = c.rip + in->len;
    in->fn(c, *in);
    if (c.stop) [[unlikely]] {
      if (!c.unretired) {
        c.rip = c.next_rip;
        ++c.icount;
      }
      return;
    }
    c.rip = c.next_rip;
    ++c.icount;
    if (++in == end || c.icount >= c.limit) return;
  }
}

// Mirrors run()'s checks after execute() and before the next execute(false); a translated block
// is entered only with TF clear, so no single-step trap is due.
bool EmuEngine::next_block_follows() {
  const Cpu& c = *cpu_;
  return !c.exit_pending && !c.unretired && !c.watch_hit && !single_step_ &&
         !c.kicked.load(std::memory_order_relaxed) && !trap_pending_ && !pending_irq_ &&
         !c.halted && c.icount < user_limit_ && !(window_ && can_inject()) &&
         exec_breakpoints_.empty() && !c.interrupt_shadow && !(c.flags_raw & rflags::kTF);
}

void EmuEngine::count_delivery() {
  const uint64_t now = cpu_->icount;
  if (delivery_icount_ != now) {
    delivery_icount_ = now;
    deliveries_ = 0;
  }
  ++deliveries_;
}

Exit* EmuEngine::stop_after_delivery() {
  Cpu& c = *cpu_;
  if (c.exit_pending) return &exit_after_completion();
  if (c.watch_hit) {
    Exit& e = finish(ExitReason::kDebug);
    e.debug = *std::exchange(c.watch_hit, std::nullopt);
    return &e;
  }
  if (single_step_) return &finish_debug(DebugCause::kStep, c.linear(emu::kCS, c.rip));
  return nullptr;
}

Exit& EmuEngine::exit_after_completion() {
  Cpu& c = *cpu_;
  if (c.watch_hit)
    watch_exit_pending_ = std::exchange(c.watch_hit, std::nullopt);
  else if (single_step_)
    step_exit_pending_ = true;
  return c.exit;
}

// An instruction that crosses into a page the TLB does not map (or no longer maps as when its
// block was decoded) is fetched through the page tables, uncached; the fetch fills the TLB, so the
// next run finds it in a block.
bool EmuEngine::execute_cross_page() {
  Cpu& c = *cpu_;
  uint8_t bytes[15];
  size_t n = 0;
  emu::Insn in;
  for (;;) {
    if (n < sizeof bytes) {
      bytes[n] = c.read_as<uint8_t>(c.linear(emu::kCS, c.rip + n), c.acc_exec);
      ++n;
    }
    if (c.code->decode(bytes, n, c.code_bits, in)) break;
  }
  ++uncached_;
  c.next_rip = c.rip + in.len;
  in.fn(c, in);
  if (c.unretired) return true;
  c.rip = c.next_rip;
  ++c.icount;
  return true;
}

// RFLAGS.TF traps after the instruction it was set for. A delivery waiting for a device read
// stays pending and is tried again before the next instruction.
bool EmuEngine::deliver_single_step_trap() {
  Cpu& c = *cpu_;
  c.dr6 |= 0x4000;
  retry_pending_ = false;
  c.inputs.next = 0;
  const bool delivered =
      c.deliver_event(emu::vec::kDB, Cpu::EventKind::kException, std::nullopt, c.rip);
  read_exit_pending_ = !delivered && is_read_exit(c.exit);
  if (!read_exit_pending_) trap_pending_ = false;
  if (!delivered) return false;
  c.inputs.clear();
  count_delivery();
  return true;
}

void EmuEngine::kick() {
  cpu_->kicked.store(true, std::memory_order_relaxed);
}

CpuState EmuEngine::state() {
  CpuState state = cpu_->get_state();
  state.pending_interrupt = pending_irq_ ? *pending_irq_ : -1;
  return state;
}

uint64_t EmuEngine::exit_rip() {
  return cpu_->rip;
}

void EmuEngine::set_state(const CpuState& state) {
  cpu_->put_state(state);
  pending_irq_.reset();
  if (state.pending_interrupt >= 0) pending_irq_ = static_cast<uint8_t>(state.pending_interrupt);
  cpu_->code->clear();
  cpu_->inputs.clear();
  read_exit_pending_ = false;
  retry_pending_ = false;
  trap_pending_ = false;
  step_exit_pending_ = false;
  watch_exit_pending_.reset();
}

bool EmuEngine::can_inject() {
  const Cpu& c = *cpu_;
  // An instruction waiting for a device read has not finished: no interrupt comes before it.
  return (c.flags_raw & rflags::kIF) && !c.interrupt_shadow && !pending_irq_ &&
         !read_exit_pending_ && !retry_pending_;
}

bool EmuEngine::interrupts_enabled() {
  return cpu_->flags_raw & rflags::kIF;
}

void EmuEngine::inject_interrupt(uint8_t vector) {
  pending_irq_ = vector;
}

void EmuEngine::request_interrupt_window(bool enable) {
  window_ = enable;
}

void EmuEngine::set_single_step(bool enable) {
  single_step_ = enable;
}

void EmuEngine::set_hw_breakpoints(std::span<const HwBreakpoint> points) {
  exec_breakpoints_.clear();
  cpu_->watchpoints.clear();
  for (const auto& p : points) {
    if (p.kind == WatchKind::kExecute)
      exec_breakpoints_.push_back(p.address);
    else
      cpu_->watchpoints.push_back(p);
  }
  breakpoint_resume_.reset();
  // Watched pages keep their translations, but not for the fast paths: the slow path checks the
  // watchpoints, and walks no more than the run without them did.
  cpu_->refresh_tlb_permissions();
}

void EmuEngine::save_tlb(StateWriter& out) const {
  cpu_->save_tlb(out);
}

void EmuEngine::restore_tlb(StateReader& in) {
  cpu_->restore_tlb(in);
}

MaybeCount EmuEngine::instruction_count() const {
  return cpu_->icount;
}

void EmuEngine::set_instruction_limit(MaybeCount count) {
  user_limit_ = count.value_or(~0ull);
}

void EmuEngine::set_instruction_count(uint64_t count) {
  cpu_->icount = count;
  delivery_icount_ = kNoDelivery; // a restored state is one with no delivery at its count
}

uint64_t EmuEngine::deliveries_at_count() const {
  return delivery_icount_ == cpu_->icount ? deliveries_ : 0;
}

void EmuEngine::set_tsc_clock(const ClockLine& line, uint64_t offset) {
  cpu_->tsc_line = line;
  cpu_->tsc_offset = offset;
}

const CpuidTable& EmuEngine::cpuid() const {
  return cpu_->cpuid;
}

uint64_t EmuEngine::translated_blocks() const {
  return translator_ ? translator_->translated() : 0;
}

uint64_t EmuEngine::translation_flushes() const {
  return translator_ ? translator_->flushes() : 0;
}

uint64_t EmuEngine::decoded_blocks() const {
  return cpu_->code->decoded_blocks();
}

void EmuEngine::invalidate_code(uint64_t gpa, uint64_t length) {
  cpu_->code->invalidate(gpa, length);
  cpu_->code->release_retired();
}

} // namespace rrvm
