#include "tests/support/fake_engine.h"

#include <cstring>

namespace rrvm::test {

ScriptedExit ScriptedExit::out(uint16_t port, uint64_t value, uint8_t size) {
  ScriptedExit e{ExitReason::kIo};
  e.port = port;
  e.size = size;
  e.write = true;
  e.value = value;
  return e;
}

ScriptedExit ScriptedExit::in(uint16_t port, uint8_t size) {
  ScriptedExit e{ExitReason::kIo};
  e.port = port;
  e.size = size;
  return e;
}

ScriptedExit ScriptedExit::mmio_write(uint64_t gpa, uint64_t value, uint8_t size) {
  ScriptedExit e{ExitReason::kMmio};
  e.gpa = gpa;
  e.size = size;
  e.write = true;
  e.value = value;
  return e;
}

ScriptedExit ScriptedExit::mmio_read(uint64_t gpa, uint8_t size) {
  ScriptedExit e{ExitReason::kMmio};
  e.gpa = gpa;
  e.size = size;
  return e;
}

ScriptedExit ScriptedExit::rdmsr(uint32_t index) {
  ScriptedExit e{ExitReason::kMsrRead};
  e.msr = index;
  return e;
}

ScriptedExit ScriptedExit::wrmsr(uint32_t index, uint64_t value) {
  ScriptedExit e{ExitReason::kMsrWrite};
  e.msr = index;
  e.write = true;
  e.value = value;
  return e;
}

ScriptedExit ScriptedExit::plain(ExitReason reason) {
  return ScriptedExit{reason};
}

ScriptedExit ScriptedExit::breakpoint(uint64_t address) {
  ScriptedExit e{ExitReason::kDebug};
  e.debug = {DebugCause::kBreakpoint, address};
  e.rip = address;
  return e;
}

ScriptedExit ScriptedExit::step_done() {
  ScriptedExit e{ExitReason::kDebug};
  e.debug = {DebugCause::kStep, 0};
  return e;
}

FakeEngine::FakeEngine(bool counts_instructions) : counts_instructions_(counts_instructions) {
  cpu_.rflags |= rflags::kIF;
}

void FakeEngine::script(std::initializer_list<ScriptedExit> exits) {
  script_.insert(script_.end(), exits.begin(), exits.end());
}

void FakeEngine::collect_answer() {
  if (!last_) return;
  switch (last_->reason) {
  case ExitReason::kIo:
  case ExitReason::kMmio: {
    if (last_->write) break;
    uint64_t value = 0;
    std::memcpy(&value, data_, last_->size);
    answers.push_back({value, false});
    break;
  }
  case ExitReason::kMsrRead:
  case ExitReason::kMsrWrite:
    answers.push_back({msr_value_, msr_fault_});
    break;
  default:
    break;
  }
}

Exit& FakeEngine::run() {
  collect_answer();
  last_.reset();
  ++runs;
  exit_.detail.clear();
  if (kicked_) {
    kicked_ = false;
    exit_.reason = ExitReason::kKicked;
    return exit_;
  }
  if (script_.empty()) {
    exit_.reason = ExitReason::kInternalError;
    exit_.detail = "the fake engine's script ran out";
    return exit_;
  }
  last_ = script_.front();
  script_.pop_front();
  const ScriptedExit& e = *last_;
  if (e.icount) icount_ = *e.icount;
  if (e.interruptible) interruptible_ = *e.interruptible;
  if (e.rax) cpu_.gpr[0] = *e.rax;
  cpu_.rip = e.rip;
  std::memset(data_, 0, sizeof data_);
  std::memcpy(data_, &e.value, sizeof data_);
  msr_value_ = e.value;
  msr_fault_ = false;
  exit_.reason = e.reason;
  exit_.io = {e.port, e.size, e.write, 1, data_};
  exit_.mmio = {e.gpa, e.size, e.write, data_};
  exit_.msr = {e.msr, &msr_value_, &msr_fault_};
  exit_.debug = e.debug;
  return exit_;
}

void FakeEngine::inject_interrupt(uint8_t vector) {
  injections.push_back({vector, runs});
}

void FakeEngine::set_hw_breakpoints(std::span<const HwBreakpoint> points) {
  breakpoint_sets.emplace_back(points.begin(), points.end());
}

MaybeCount FakeEngine::instruction_count() const {
  if (!counts_instructions_) return std::nullopt;
  return icount_;
}

} // namespace rrvm::test
