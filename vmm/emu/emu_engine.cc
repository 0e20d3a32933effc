#include "vmm/emu/emu_engine.h"

#include <algorithm>

#include "vmm/emu/code_cache.h"
#include "vmm/emu/cpu.h"

namespace rrvm {

using emu::Cpu;
using emu::GuestFault;
using emu::StopRun;

EmuEngine::EmuEngine(GuestMemory& memory, CpuidTable cpuid)
    : cpu_(std::make_unique<Cpu>(memory, std::move(cpuid))) {}

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

Exit& EmuEngine::run() {
  Cpu& c = *cpu_;
  if (read_exit_pending_) {
    // The machine filled the data of the read that stopped the last run; the instruction
    // executes again and takes it.
    read_exit_pending_ = false;
    const Exit& e = c.exit;
    c.input = emu::PendingInput{};
    c.input.valid = true;
    c.input.io = e.reason == ExitReason::kIo;
    c.input.msr = e.reason == ExitReason::kMsrRead || e.reason == ExitReason::kMsrWrite;
    if (c.input.msr) {
      c.input.address = e.msr.index;
      c.input.value = c.msr_buffer;
      c.input.fault = c.msr_fault;
    } else {
      c.input.address = c.input.io ? e.io.port : e.mmio.gpa;
      c.input.size = c.input.io ? e.io.size : e.mmio.size;
      std::memcpy(&c.input.value, c.input.io ? c.io_buffer : c.mmio_buffer, c.input.size);
    }
  }
  c.exit_pending = false;
  c.watch_hit.reset();
  if (step_exit_pending_) {
    step_exit_pending_ = false;
    return finish_debug(DebugCause::kStep, c.linear(emu::kCS, c.rip));
  }
  for (;;) {
    if (c.kicked.exchange(false)) return finish(ExitReason::kKicked);
    if (pending_irq_) {
      const uint8_t v = *pending_irq_;
      pending_irq_.reset();
      try {
        c.deliver(v, Cpu::EventKind::kExternal, std::nullopt, c.rip);
      } catch (const GuestFault& f) {
        if (!c.raise(f)) return finish(ExitReason::kShutdown);
      } catch (const StopRun&) {
        return c.exit;
      }
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
    const bool one = single_step_ || !exec_breakpoints_.empty() || c.interrupt_shadow ||
                     (c.flags_raw & rflags::kTF);
    if (!execute(one)) return c.exit;
    c.code->release_retired();
    if (c.exit_pending) {
      if (single_step_) step_exit_pending_ = true;
      return c.exit;
    }
    if (c.watch_hit) {
      const DebugEvent hit = *c.watch_hit;
      c.watch_hit.reset();
      return finish_debug(hit.cause, hit.address);
    }
    if (single_step_) return finish_debug(DebugCause::kStep, c.linear(emu::kCS, c.rip));
  }
}

bool EmuEngine::execute(bool one) {
  Cpu& c = *cpu_;
  const bool tf = c.flags_raw & rflags::kTF;
  c.stop = false;
  // An instruction under an interrupt shadow runs alone; the shadow ends with it unless the
  // instruction (MOV SS, STI) raises it again.
  if (one) c.interrupt_shadow = false;
  c.limit = one ? std::min(user_limit_, c.icount + 1) : user_limit_;
  try {
    uint64_t phys;
    const uint8_t* host = c.fetch_page(c.linear(emu::kCS, c.rip), &phys);
    if (!host) {
      finish(ExitReason::kUnsupported).detail =
          "executing code outside RAM at guest-physical " + std::to_string(phys);
      return false;
    }
    emu::Block* b = c.code->block(phys, host, c.code_bits);
    if (!b) {
      if (!execute_cross_page()) return false;
    } else {
      const emu::Insn* in = b->insns.data();
      const emu::Insn* end = one ? in + 1 : in + b->insns.size();
      do {
        c.next_rip = c.rip + in->len;
        in->fn(c, *in);
        c.rip = c.next_rip;
        ++c.icount;
      } while (!c.stop && ++in != end && c.icount < c.limit);
    }
  } catch (const GuestFault& f) {
    if (!c.raise(f)) {
      finish(ExitReason::kShutdown);
      return false;
    }
    return true;
  } catch (const StopRun&) {
    read_exit_pending_ = c.exit.reason == ExitReason::kIo || c.exit.reason == ExitReason::kMmio ||
                         c.exit.reason == ExitReason::kMsrRead ||
                         c.exit.reason == ExitReason::kMsrWrite;
    return false;
  }
  if (tf && !c.exit_pending) return deliver_single_step_trap();
  return true;
}

// An instruction that crosses a page boundary is fetched through translation and not cached:
// its second page's mapping is not part of a block key.
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
  c.next_rip = c.rip + in.len;
  in.fn(c, in);
  c.rip = c.next_rip;
  ++c.icount;
  return true;
}

// RFLAGS.TF traps after the instruction it was set for.
bool EmuEngine::deliver_single_step_trap() {
  Cpu& c = *cpu_;
  c.dr6 |= 0x4000;
  try {
    c.deliver(emu::vec::kDB, Cpu::EventKind::kException, std::nullopt, c.rip);
  } catch (const GuestFault& f) {
    if (!c.raise(f)) {
      finish(ExitReason::kShutdown);
      return false;
    }
  } catch (const StopRun&) {
    return false;
  }
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
  cpu_->input.valid = false;
  read_exit_pending_ = false;
  step_exit_pending_ = false;
}

bool EmuEngine::can_inject() {
  const Cpu& c = *cpu_;
  return (c.flags_raw & rflags::kIF) && !c.interrupt_shadow && !pending_irq_;
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
  cpu_->flush_tlb(); // pages with watchpoints must take the slow path
}

std::optional<uint64_t> EmuEngine::instruction_count() const {
  return cpu_->icount;
}

void EmuEngine::set_instruction_limit(std::optional<uint64_t> count) {
  user_limit_ = count.value_or(~0ull);
}

void EmuEngine::set_instruction_count(uint64_t count) {
  cpu_->icount = count;
}

const CpuidTable& EmuEngine::cpuid() const {
  return cpu_->cpuid;
}

void EmuEngine::invalidate_code(uint64_t gpa, uint64_t length) {
  cpu_->code->invalidate(gpa, length);
  cpu_->code->release_retired();
}

} // namespace rrvm
