// The run loop without a guest: a scripted FakeEngine returns exits and the machine's answers,
// injections, waits and counters are checked.
#include <algorithm>
#include <gtest/gtest.h>

#include "tests/support/fake_engine.h"
#include "tests/support/fake_gate.h"
#include "vmm/machine.h"
#include "vmm/msr_index.h"
#include "vmm/msr_model.h"
#include "vmm/state_hash.h"

namespace rrvm::test {
namespace {

using X = ScriptedExit;

constexpr uint16_t kDebugExitPort = 0xf4;
constexpr uint8_t kTimerVector = 0x20;

// The PIC programmed with IRQ0 (only) at vector 0x20, and the PIT's channel 0 periodic every
// `ticks` 1.193182 MHz ticks, as tests/guests/pic.inc does it.
std::vector<X> pic_and_pit_setup(uint16_t ticks) {
  return {X::out(0x20, 0x11),      X::out(0xa0, 0x11), X::out(0x21, kTimerVector),
          X::out(0xa1, 0x28),      X::out(0x21, 4),    X::out(0xa1, 2),
          X::out(0x21, 1),         X::out(0xa1, 1),    X::out(0x21, 0xfe),
          X::out(0xa1, 0xff),      X::out(0x43, 0x34), X::out(0x40, ticks & 0xff),
          X::out(0x40, ticks >> 8)};
}

class MachineRunTest : public ::testing::Test {
protected:
  Machine& make_machine(bool counts_instructions, MachineConfig config = {}) {
    auto engine = std::make_unique<FakeEngine>(counts_instructions);
    engine_ = engine.get();
    config.memory_bytes = memory_.size();
    config.serial_output = [this](uint8_t byte) { serial_ += char(byte); };
    machine_ = std::make_unique<Machine>(config, memory_,
                                         EngineChoice{std::move(engine), "fake (test)"}, gate_);
    return *machine_;
  }
  void script(const std::vector<X>& exits) {
    for (const X& e : exits)
      engine_->script({e});
  }
  uint64_t stat(VmStat s) const { return machine_->stats().get(s); }

  GuestMemory memory_{2 << 20};
  FakeGate gate_;
  FakeEngine* engine_ = nullptr;
  std::string serial_;
  std::unique_ptr<Machine> machine_;
};

TEST_F(MachineRunTest, PortAndMmioAccessesReachTheDevicesAndTheGate) {
  Machine& machine = make_machine(false);
  engine_->script({X::out(0x3f8, 'h'), X::in(0x1234, 2), X::out(0x1234, 1),
                   X::mmio_read(0xfed00000), X::mmio_read(0xfe000000, 2),
                   X::mmio_write(0xfe000000, 5), X::out(kDebugExitPort, 0x10)});
  RunOutcome outcome = machine.run();
  EXPECT_EQ(outcome.kind, RunOutcome::Kind::kGuestExit);
  EXPECT_EQ(serial_, "h");
  ASSERT_EQ(engine_->answers.size(), 3u);
  EXPECT_EQ(engine_->answers[0].value, 0xffffu); // no device: all ones
  EXPECT_NE(engine_->answers[1].value, 0u);      // the HPET's capabilities
  EXPECT_NE(engine_->answers[1].value, 0xffffffffu);
  EXPECT_EQ(engine_->answers[2].value, 0xffffu);
  ASSERT_EQ(gate_.port_reads.size(), 1u);
  EXPECT_EQ(gate_.port_reads[0].address, 0x1234u);
  // The gate is given the bus's value before it is cut to the access size (as traces store it).
  EXPECT_EQ(gate_.port_reads[0].value & 0xffff, 0xffffu);
  ASSERT_EQ(gate_.mmio_reads.size(), 2u);
  EXPECT_EQ(gate_.mmio_reads[0].value, engine_->answers[1].value);
  EXPECT_EQ(stat(VmStat::VMEXIT_COUNT), 7u);
  EXPECT_EQ(stat(VmStat::VMEXIT_INOUT), 4u);
  EXPECT_EQ(stat(VmStat::VMEXIT_NESTED_FAULT), 3u);
  EXPECT_EQ(stat(VmStat::VMEXIT_USERSPACE), 7u);
  EXPECT_EQ(stat(VmStat::RRVM_UNHANDLED_PORT_READS), 1u);
  EXPECT_EQ(stat(VmStat::RRVM_UNHANDLED_PORT_WRITES), 1u);
  EXPECT_EQ(stat(VmStat::RRVM_UNHANDLED_MMIO), 2u);
  EXPECT_EQ(gate_.exits.size(), 7u);
}

TEST_F(MachineRunTest, IsaDebugExitEndsTheRunWithQemusStatus) {
  Machine& machine = make_machine(false);
  engine_->script({X::out(kDebugExitPort, 0x10)});
  RunOutcome outcome = machine.run();
  EXPECT_EQ(outcome.kind, RunOutcome::Kind::kGuestExit);
  EXPECT_EQ(outcome.status, 0x21);
  EXPECT_EQ(gate_.guest_exit, 0x21);
}

TEST_F(MachineRunTest, HaltWaitsForTheNextTimerDeadlineThenInjects) {
  Machine& machine = make_machine(false);
  script(pic_and_pit_setup(1193));
  X hlt = X::plain(ExitReason::kHlt);
  hlt.interruptible = true;
  engine_->script({hlt, X::out(kDebugExitPort, 0)});
  EXPECT_EQ(machine.run().kind, RunOutcome::Kind::kGuestExit);
  ASSERT_EQ(gate_.idle_waits.size(), 1u);
  const uint64_t deadline = gate_.idle_waits[0];
  EXPECT_NEAR(double(deadline), 1193 * 1e9 / 1193182, 1000); // one period of the PIT
  ASSERT_EQ(engine_->injections.size(), 1u);
  EXPECT_EQ(engine_->injections[0].vector, kTimerVector);
  EXPECT_EQ(engine_->injections[0].after_exits, 14u); // at the wake-up, before the next run
  ASSERT_EQ(gate_.injected_at_ns.size(), 1u);
  EXPECT_EQ(gate_.injected_at_ns[0], deadline);
  EXPECT_EQ(stat(VmStat::VMEXIT_HLT), 1u);
  EXPECT_EQ(stat(VmStat::VCPU_EXTINT_COUNT), 1u);
  EXPECT_EQ(stat(VmStat::RRVM_INJECT_AT_EXIT), 1u);
}

TEST_F(MachineRunTest, AnInterruptTheGuestCannotTakeWaitsForTheWindow) {
  Machine& machine = make_machine(false);
  script(pic_and_pit_setup(1193));
  gate_.clock_script.assign(13, 0);
  gate_.clock_script.push_back(2'000'000); // the next exit comes after the timer is due
  X busy = X::out(0x80, 0);
  busy.interruptible = false;
  X window = X::plain(ExitReason::kInterruptWindow);
  window.interruptible = true;
  engine_->script({busy, window, X::out(kDebugExitPort, 0)});
  EXPECT_EQ(machine.run().kind, RunOutcome::Kind::kGuestExit);
  // The window is asked for at the busy exit (the 14th run) and dropped after the injection; the
  // engine is told only when that changes.
  EXPECT_EQ(engine_->window_requests, (std::vector<bool>{true, false}));
  ASSERT_EQ(engine_->injections.size(), 1u);
  EXPECT_EQ(engine_->injections[0].after_exits, 15u); // at the window exit
  EXPECT_EQ(stat(VmStat::VMEXIT_INTR_WINDOW), 1u);
  EXPECT_EQ(stat(VmStat::RRVM_INJECT_AT_EXIT), 1u);
}

TEST_F(MachineRunTest, InstructionCountingEnginesRunInQuantaAndStopAtAPosition) {
  Machine& machine = make_machine(true);
  X quantum = X::plain(ExitReason::kInstructionLimit);
  quantum.icount = 100'000;
  X position = X::plain(ExitReason::kInstructionLimit);
  position.icount = 150'000;
  engine_->script({quantum, position});
  machine.stop_at(150'000);
  EXPECT_EQ(machine.run().kind, RunOutcome::Kind::kPositionReached);
  EXPECT_EQ(engine_->limits, (std::vector<std::optional<uint64_t>>{100'000, 150'000}));
  EXPECT_EQ(stat(VmStat::VMEXIT_COUNT), 1u); // the quantum; the debugger's stop is no exit
  EXPECT_EQ(stat(VmStat::VMEXIT_EXTINT), 1u);

  const size_t runs = engine_->runs;
  EXPECT_EQ(machine.run().kind, RunOutcome::Kind::kPositionReached); // still there
  EXPECT_EQ(engine_->runs, runs);

  machine.stop_at(std::nullopt);
  X exit = X::out(kDebugExitPort, 0);
  exit.icount = 150'010;
  engine_->script({exit});
  EXPECT_EQ(machine.run().kind, RunOutcome::Kind::kGuestExit);
  EXPECT_EQ(engine_->limits.back(), 200'000u);
}

TEST_F(MachineRunTest, WithoutQuantaOnlyTheStopPositionLimitsTheRun) {
  MachineConfig config;
  config.instruction_quanta = false;
  Machine& machine = make_machine(true, config);
  X position = X::plain(ExitReason::kInstructionLimit);
  position.icount = 250'000;
  engine_->script({position});
  machine.stop_at(250'000);
  EXPECT_EQ(machine.run().kind, RunOutcome::Kind::kPositionReached);
  EXPECT_EQ(engine_->limits, (std::vector<std::optional<uint64_t>>{250'000}));
}

TEST_F(MachineRunTest, HaltWithInterruptsOffIsPoweredOffEvenWithATimerArmed) {
  Machine& machine = make_machine(false);
  CpuState cpu = engine_->state();
  cpu.rflags &= ~rflags::kIF;
  cpu.cs.selector = 0x10;
  engine_->set_state(cpu);
  script(pic_and_pit_setup(1193));
  engine_->script({X::plain(ExitReason::kHlt)});
  RunOutcome outcome = machine.run();
  EXPECT_EQ(outcome.kind, RunOutcome::Kind::kPoweredOff);
  EXPECT_EQ(outcome.message, "guest powered off (halted with interrupts disabled at cs:rip "
                             "0010:1000 in real mode)");
  EXPECT_TRUE(gate_.idle_waits.empty());
  EXPECT_EQ(end_status(outcome.kind), ExitCode::kPoweredOff);
}

TEST_F(MachineRunTest, HaltWithNoTimerArmedIsHung) {
  Machine& machine = make_machine(false);
  engine_->script({X::plain(ExitReason::kHlt)});
  RunOutcome outcome = machine.run();
  EXPECT_EQ(outcome.kind, RunOutcome::Kind::kHung);
  EXPECT_NE(outcome.message.find("no timer armed"), std::string::npos) << outcome.message;
  EXPECT_TRUE(gate_.idle_waits.empty());
}

TEST_F(MachineRunTest, KeyboardControllerResetCommandResetsThePc) {
  Machine& machine = make_machine(false);
  engine_->script({X::in(0x64), X::out(0x64, 0xfe), X::out(kDebugExitPort, 0)});
  RunOutcome outcome = machine.run();
  ASSERT_EQ(engine_->answers.size(), 1u);
  EXPECT_EQ(engine_->answers[0].value & 0x02, 0u); // input buffer empty: kb_wait need not spin
  EXPECT_EQ(outcome.kind, RunOutcome::Kind::kReset);
  EXPECT_EQ(outcome.message, "guest reset by the keyboard controller's reset command (0xfe "
                             "written to port 0x64)");
  EXPECT_FALSE(gate_.guest_exit.has_value());
  EXPECT_EQ(end_status(outcome.kind), ExitCode::kReset);
}

TEST_F(MachineRunTest, ResetControlRegisterResetsThePcWhenRstCpuIsWritten) {
  Machine& machine = make_machine(false);
  // Linux's BOOT_CF9: read, ask for a hard reset, then set RST_CPU.
  engine_->script({X::in(0xcf9), X::out(0xcf9, 0x02), X::in(0xcf9), X::out(0xcf9, 0x0e)});
  RunOutcome outcome = machine.run();
  ASSERT_EQ(engine_->answers.size(), 2u);
  EXPECT_EQ(engine_->answers[0].value & 0xff, 0u);
  EXPECT_EQ(engine_->answers[1].value & 0xff, 2u);
  EXPECT_EQ(outcome.kind, RunOutcome::Kind::kReset);
  EXPECT_EQ(outcome.message, "guest reset by the reset control register (0x0e written to port "
                             "0xcf9: hard reset)");
}

TEST_F(MachineRunTest, EngineFailuresAndTripleFaultsEndTheRun) {
  Machine& machine = make_machine(false);
  engine_->script({X::plain(ExitReason::kShutdown)});
  RunOutcome reset = machine.run();
  EXPECT_EQ(reset.kind, RunOutcome::Kind::kReset);
  EXPECT_EQ(reset.message.rfind("guest reset by a triple fault", 0), 0u) << reset.message;
  EXPECT_NE(reset.message.find("rflags"), std::string::npos) << reset.message;
  RunOutcome outcome = machine.run(); // the script is out: the fake reports an internal error
  EXPECT_EQ(outcome.kind, RunOutcome::Kind::kEngineError);
  EXPECT_NE(outcome.message.find("script ran out"), std::string::npos);
  EXPECT_EQ(stat(VmStat::VMEXIT_UNKNOWN), 1u);
}

TEST_F(MachineRunTest, ABreakpointIsADebugStopWhenNoKickIsSought) {
  Machine& machine = make_machine(false);
  engine_->script({X::breakpoint(0x3000)});
  RunOutcome outcome = machine.run();
  EXPECT_EQ(outcome.kind, RunOutcome::Kind::kDebugStop);
  EXPECT_EQ(outcome.debug.cause, DebugCause::kBreakpoint);
  EXPECT_EQ(outcome.debug.address, 0x3000u);
}

// A kick fingerprint as the kick tracker computes it for the fake (which writes no pages).
KickPoint kick_at(FakeEngine& engine, uint64_t rip, uint64_t rax) {
  CpuState cpu = engine.state();
  cpu.rip = rip;
  cpu.gpr[0] = rax;
  return {rip, hash_cpu_state(cpu), 0};
}

TEST_F(MachineRunTest, AReplayAsksForNoWindowTheRecordingDidNotExitFor) {
  Machine& machine = make_machine(false);
  script(pic_and_pit_setup(1193));
  gate_.clock_script.assign(13, 0);
  gate_.clock_script.push_back(2'000'000); // the next exit comes after the timer is due
  gate_.next_exit = ExitReason::kHlt;
  X busy = X::out(0x80, 0);
  busy.interruptible = false;
  X hlt = X::plain(ExitReason::kHlt);
  hlt.interruptible = true;
  engine_->script({busy, hlt, X::out(kDebugExitPort, 0)});
  EXPECT_EQ(machine.run().kind, RunOutcome::Kind::kGuestExit);
  EXPECT_EQ(std::count(engine_->window_requests.begin(), engine_->window_requests.end(), true), 0);
  ASSERT_EQ(engine_->injections.size(), 1u);
  EXPECT_EQ(engine_->injections[0].after_exits, 15u); // at the HLT, as the recording had it
}

TEST_F(MachineRunTest, AKickIsFoundAtTheBreakpointHitWithItsState) {
  Machine& machine = make_machine(false);
  gate_.track_kicks = true;
  const KickPoint kick = kick_at(*engine_, 0x2000, 7);
  gate_.kicks.push_back(kick);
  X other_state = X::breakpoint(0x2000);
  other_state.rax = 5;
  X the_kick = X::breakpoint(0x2000);
  the_kick.rax = 7;
  engine_->script({other_state, X::step_done(), the_kick, X::out(kDebugExitPort, 0)});
  EXPECT_EQ(machine.run().kind, RunOutcome::Kind::kGuestExit);
  EXPECT_TRUE(engine_->dirty_log_enabled);
  ASSERT_EQ(gate_.reported_kicks.size(), 1u);
  EXPECT_EQ(gate_.reported_kicks[0], kick);
  EXPECT_TRUE(gate_.kicks.empty());
  // Breakpoint on, off at the first hit, stepped past it, on again, off at the kick.
  ASSERT_EQ(engine_->breakpoint_sets.size(), 4u);
  EXPECT_EQ(engine_->breakpoint_sets[0].at(0).address, 0x2000u);
  EXPECT_TRUE(engine_->breakpoint_sets[1].empty());
  EXPECT_EQ(engine_->breakpoint_sets[2].at(0).address, 0x2000u);
  EXPECT_TRUE(engine_->breakpoint_sets[3].empty());
  EXPECT_EQ(engine_->single_steps, (std::vector<bool>{true, false}));
  EXPECT_EQ(gate_.exits, (std::vector<ExitReason>{ExitReason::kKicked, ExitReason::kIo}));
  EXPECT_EQ(stat(VmStat::RRVM_REPLAY_BREAKPOINT_HITS), 2u);
  EXPECT_EQ(stat(VmStat::VMEXIT_COUNT), 2u); // hits that are not the kick are no exits
}

TEST_F(MachineRunTest, AKickAtTheStateTheLastOneLeftIsTakenWithoutRunningTheGuest) {
  Machine& machine = make_machine(false);
  gate_.track_kicks = true;
  // Two kicks, the second before the guest ran on (its signal came as the vCPU was entered).
  const KickPoint kick = kick_at(*engine_, 0x2000, 7);
  gate_.kicks = {kick, kick};
  X the_kick = X::breakpoint(0x2000);
  the_kick.rax = 7;
  engine_->script({the_kick, X::out(kDebugExitPort, 0)});
  EXPECT_EQ(machine.run().kind, RunOutcome::Kind::kGuestExit);
  EXPECT_EQ(gate_.reported_kicks, (std::vector<KickPoint>{kick, kick}));
  EXPECT_EQ(gate_.exits,
            (std::vector<ExitReason>{ExitReason::kKicked, ExitReason::kKicked, ExitReason::kIo}));
  // The breakpoint found the first; the second needed none, and the guest's next exit came after.
  ASSERT_EQ(engine_->breakpoint_sets.size(), 2u);
  EXPECT_TRUE(engine_->breakpoint_sets[1].empty());
  EXPECT_EQ(stat(VmStat::RRVM_REPLAY_BREAKPOINT_HITS), 1u);
}

TEST_F(MachineRunTest, AKickWhoseStateNeverComesIsNotReported) {
  Machine& machine = make_machine(false);
  gate_.track_kicks = true;
  gate_.kicks.push_back(kick_at(*engine_, 0x2000, 7));
  X other_state = X::breakpoint(0x2000);
  other_state.rax = 5;
  engine_->script({other_state, X::step_done(), X::out(kDebugExitPort, 0)});
  EXPECT_EQ(machine.run().kind, RunOutcome::Kind::kGuestExit);
  EXPECT_TRUE(gate_.reported_kicks.empty());
  EXPECT_EQ(gate_.kicks.size(), 1u); // a replay gate reports the divergence at this exit
  EXPECT_EQ(gate_.exits, (std::vector<ExitReason>{ExitReason::kIo}));
}

TEST_F(MachineRunTest, MsrsAreAnsweredFromTheOneModel) {
  Machine& machine = make_machine(false);
  gate_.now_ns = 5000;
  engine_->script({X::rdmsr(msr::kMiscEnable), X::wrmsr(msr::kBiosSignId, 0),
                   X::rdmsr(msr::kBiosSignId), X::rdmsr(msr::kTsc), X::wrmsr(msr::kTsc, 1'000'000),
                   X::rdmsr(msr::kTsc), X::rdmsr(0x12345678), X::wrmsr(msr::kKvmParavirtFirst, 1),
                   X::rdmsr(msr::kLstar), X::out(kDebugExitPort, 0)});
  EXPECT_EQ(machine.run().kind, RunOutcome::Kind::kGuestExit);
  ASSERT_EQ(engine_->answers.size(), 9u);
  EXPECT_EQ(engine_->answers[0].value, find_msr_model(msr::kMiscEnable)->value);
  EXPECT_FALSE(engine_->answers[1].fault); // the write is accepted
  EXPECT_EQ(engine_->answers[2].value, find_msr_model(msr::kBiosSignId)->value);
  EXPECT_EQ(engine_->answers[3].value, 5000u); // one TSC tick per guest nanosecond
  EXPECT_EQ(engine_->answers[5].value, 1'000'000u);
  EXPECT_TRUE(engine_->answers[6].fault);
  EXPECT_TRUE(engine_->answers[7].fault);
  EXPECT_TRUE(engine_->answers[8].fault); // the engine's own MSRs never reach the machine
  // Only successful reads are logged: replay compares them.
  ASSERT_EQ(gate_.msr_reads.size(), 4u);
  EXPECT_EQ(gate_.msr_reads[0].address, msr::kMiscEnable);
  EXPECT_EQ(gate_.msr_reads[3].value, 1'000'000u);
  EXPECT_EQ(stat(VmStat::VMEXIT_RDMSR), 6u);
  EXPECT_EQ(stat(VmStat::VMEXIT_WRMSR), 3u);
  EXPECT_EQ(stat(VmStat::RRVM_UNKNOWN_MSRS), 3u);
}

TEST_F(MachineRunTest, RecordingRefusesAnEngineThatBypassesTheMachineForMsrs) {
  auto engine = std::make_unique<FakeEngine>(false);
  engine->set_machine_answers_msrs(false);
  gate_.track_kicks = true; // the recording and replaying gates
  try {
    Machine machine({}, memory_, EngineChoice{std::move(engine), "fake (test)"}, gate_);
    FAIL() << "made a recording machine without the MSR filter";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::kNoHost);
    EXPECT_NE(std::string(e.what()).find("MSR"), std::string::npos);
  }
}

} // namespace
} // namespace rrvm::test
