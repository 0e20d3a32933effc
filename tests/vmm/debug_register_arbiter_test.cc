// The debug register arbiter on a scripted FakeEngine (no KVM): the union of the clients' points,
// re-armed only when it changes, the room each client has, single steps, who owns a debug stop;
// and, through the machine's run loop on a kvm-like fake replaying kicks, the bug it fixes: a
// debugger's breakpoint stays armed and reported while the kick seek arms and disarms its own.
#include <algorithm>
#include <gtest/gtest.h>

#include "tests/support/fake_engine.h"
#include "tests/support/fake_gate.h"
#include "vmm/debug_register_arbiter.h"
#include "vmm/machine.h"
#include "vmm/state_hash.h"

namespace rrvm::test {
namespace {

using X = ScriptedExit;

constexpr uint16_t kDebugExitPort = 0xf4;

HwBreakpoint at(uint64_t address) {
  return {address, WatchKind::kExecute, 1};
}

HwBreakpoint write_watch(uint64_t address) {
  return {address, WatchKind::kWrite, 4};
}

// The addresses an armed set holds, in order (the engine's slot order does not matter).
std::vector<uint64_t> addresses(const std::vector<HwBreakpoint>& points) {
  std::vector<uint64_t> out;
  for (const HwBreakpoint& p : points)
    out.push_back(p.address);
  std::sort(out.begin(), out.end());
  return out;
}

TEST(DebugRegisterArbiterTest, TheEngineGetsTheUnionOnlyWhenItChanges) {
  FakeEngine engine(false);
  DebugRegisterArbiter arbiter(engine);
  const HwBreakpoint user[] = {at(0x1000), write_watch(0x5000)};
  ASSERT_TRUE(arbiter.set_points(DebugClient::kDebugger, user));
  const HwBreakpoint kick[] = {at(0x2000)};
  ASSERT_TRUE(arbiter.set_points(DebugClient::kKickSeek, kick));
  ASSERT_TRUE(arbiter.set_points(DebugClient::kDebugger, user)); // unchanged: not re-armed
  ASSERT_TRUE(arbiter.set_points(DebugClient::kKickSeek, {}));
  ASSERT_EQ(engine.breakpoint_sets.size(), 3u);
  EXPECT_EQ(addresses(engine.breakpoint_sets[0]), (std::vector<uint64_t>{0x1000, 0x5000}));
  EXPECT_EQ(addresses(engine.breakpoint_sets[1]), (std::vector<uint64_t>{0x1000, 0x2000, 0x5000}));
  EXPECT_EQ(addresses(engine.breakpoint_sets[2]), (std::vector<uint64_t>{0x1000, 0x5000}));
}

TEST(DebugRegisterArbiterTest, APointBothClientsSetTakesOneSlotAndBelongsToBoth) {
  FakeEngine engine(false);
  DebugRegisterArbiter arbiter(engine);
  const HwBreakpoint same[] = {at(0x2000)};
  ASSERT_TRUE(arbiter.set_points(DebugClient::kDebugger, same));
  ASSERT_TRUE(arbiter.set_points(DebugClient::kKickSeek, same));
  ASSERT_EQ(engine.breakpoint_sets.size(), 1u); // the union did not change
  EXPECT_EQ(engine.breakpoint_sets.back().size(), 1u);
  const DebugEvent hit{DebugCause::kBreakpoint, 0x2000};
  EXPECT_TRUE(arbiter.owns(DebugClient::kDebugger, hit));
  EXPECT_TRUE(arbiter.owns(DebugClient::kKickSeek, hit));
}

TEST(DebugRegisterArbiterTest, AStopBelongsToTheClientWhosePointOrStepItWas) {
  FakeEngine engine(false);
  DebugRegisterArbiter arbiter(engine);
  const HwBreakpoint user[] = {at(0x1000), write_watch(0x5000)};
  ASSERT_TRUE(arbiter.set_points(DebugClient::kDebugger, user));
  const HwBreakpoint kick[] = {at(0x2000)};
  ASSERT_TRUE(arbiter.set_points(DebugClient::kKickSeek, kick));
  auto owners = [&](DebugEvent e) {
    return std::pair{arbiter.owns(DebugClient::kDebugger, e),
                     arbiter.owns(DebugClient::kKickSeek, e)};
  };
  EXPECT_EQ(owners({DebugCause::kBreakpoint, 0x1000}), std::pair(true, false));
  EXPECT_EQ(owners({DebugCause::kBreakpoint, 0x2000}), std::pair(false, true));
  EXPECT_EQ(owners({DebugCause::kWatchWrite, 0x5000}), std::pair(true, false));
  // An execute breakpoint at a watched address is not the watchpoint, nor the reverse.
  EXPECT_EQ(owners({DebugCause::kBreakpoint, 0x5000}), std::pair(false, false));
  EXPECT_EQ(owners({DebugCause::kWatchAccess, 0x5000}), std::pair(false, false));
  EXPECT_EQ(owners({DebugCause::kStep, 0}), std::pair(false, false));
  arbiter.set_single_step(DebugClient::kKickSeek, true);
  EXPECT_EQ(owners({DebugCause::kStep, 0}), std::pair(false, true));
  arbiter.set_single_step(DebugClient::kDebugger, true);
  EXPECT_EQ(owners({DebugCause::kStep, 0}), std::pair(true, true));
}

TEST(DebugRegisterArbiterTest, TheEngineStepsWhileAnyClientAsks) {
  FakeEngine engine(false);
  DebugRegisterArbiter arbiter(engine);
  arbiter.set_single_step(DebugClient::kDebugger, true);
  arbiter.set_single_step(DebugClient::kKickSeek, true);
  arbiter.set_single_step(DebugClient::kKickSeek, false); // the debugger still steps
  arbiter.set_single_step(DebugClient::kDebugger, false);
  EXPECT_EQ(engine.single_steps, (std::vector<bool>{true, false}));
}

TEST(DebugRegisterArbiterTest, AReservedSlotIsNoDebuggerRoom) {
  FakeEngine engine(false); // four slots, as kvm
  DebugRegisterArbiter arbiter(engine);
  EXPECT_EQ(arbiter.room(DebugClient::kDebugger), 4u);
  arbiter.reserve(DebugClient::kKickSeek, 1);
  EXPECT_EQ(arbiter.room(DebugClient::kDebugger), 3u);
  const HwBreakpoint three[] = {at(0x1000), at(0x1100), write_watch(0x5000)};
  ASSERT_TRUE(arbiter.set_points(DebugClient::kDebugger, three));
  const HwBreakpoint four[] = {at(0x1000), at(0x1100), at(0x1200), write_watch(0x5000)};
  EXPECT_FALSE(arbiter.set_points(DebugClient::kDebugger, four));
  EXPECT_EQ(arbiter.points(DebugClient::kDebugger).size(), 3u); // refused whole
  const HwBreakpoint kick[] = {at(0x2000)};
  ASSERT_TRUE(arbiter.set_points(DebugClient::kKickSeek, kick));
  EXPECT_EQ(engine.breakpoint_sets.back().size(), 4u);
}

TEST(DebugRegisterArbiterTest, ForgetArmedReArmsAnUnchangedUnion) {
  FakeEngine engine(false);
  DebugRegisterArbiter arbiter(engine);
  const HwBreakpoint user[] = {at(0x1000)};
  ASSERT_TRUE(arbiter.set_points(DebugClient::kDebugger, user));
  arbiter.forget_armed(); // a checkpoint was restored
  ASSERT_TRUE(arbiter.set_points(DebugClient::kDebugger, user));
  EXPECT_EQ(engine.breakpoint_sets.size(), 2u);
}

// A kick fingerprint as the kick tracker computes it for the fake (which writes no pages).
KickPoint kick_at(FakeEngine& engine, uint64_t rip, uint64_t rax) {
  CpuState cpu = engine.state();
  cpu.rip = rip;
  cpu.gpr[0] = rax;
  return {rip, hash_cpu_state(cpu), 0};
}

// A kvm-like machine replaying a recording with one kick at rip 0x2000 (rax 7), with a debugger's
// breakpoint set through the arbiter.
class KickAndDebuggerTest : public ::testing::Test {
protected:
  Machine& make_machine() {
    gate_.track_kicks = true;
    auto engine = std::make_unique<FakeEngine>(false);
    engine_ = engine.get();
    MachineConfig config;
    config.memory_bytes = memory_.size();
    machine_ = std::make_unique<Machine>(config, memory_,
                                         EngineChoice{std::move(engine), "fake (test)"}, gate_);
    kick_ = kick_at(*engine_, 0x2000, 7);
    gate_.kicks.push_back(kick_);
    return *machine_;
  }
  void set_user_breakpoint(uint64_t address) {
    const HwBreakpoint user[] = {at(address)};
    ASSERT_TRUE(machine_->debug_registers().set_points(DebugClient::kDebugger, user));
  }
  X the_kick() const {
    X e = X::breakpoint(0x2000);
    e.rax = 7;
    return e;
  }

  GuestMemory memory_{2 << 20};
  FakeGate gate_;
  FakeEngine* engine_ = nullptr;
  std::unique_ptr<Machine> machine_;
  KickPoint kick_;
};

TEST_F(KickAndDebuggerTest, TheKickSeekKeepsOneOfTheFourSlots) {
  Machine& machine = make_machine();
  EXPECT_EQ(machine.debug_registers().room(DebugClient::kDebugger), 3u);
}

// The bug: the kick seek armed its breakpoint over the debugger's and disarmed everything once
// the kick was found, so the user's breakpoint was lost (and the debugger's cache of what was
// armed lied).
TEST_F(KickAndDebuggerTest, AUserBreakpointSurvivesTheKickSeek) {
  Machine& machine = make_machine();
  set_user_breakpoint(0x3000);
  engine_->script(
      {X::breakpoint(0x3000), the_kick(), X::breakpoint(0x3000), X::out(kDebugExitPort, 0)});
  // Seeking the kick: both breakpoints armed, and the user's hit is the debugger's stop.
  RunOutcome outcome = machine.run();
  ASSERT_EQ(outcome.kind, RunOutcome::Kind::kDebugStop);
  EXPECT_EQ(outcome.debug.address, 0x3000u);
  EXPECT_EQ(addresses(engine_->breakpoint_sets.back()), (std::vector<uint64_t>{0x2000, 0x3000}));
  EXPECT_TRUE(gate_.reported_kicks.empty());
  // The kick is found and its breakpoint disarmed; the user's stays armed and is still reported.
  outcome = machine.run();
  ASSERT_EQ(outcome.kind, RunOutcome::Kind::kDebugStop);
  EXPECT_EQ(outcome.debug.address, 0x3000u);
  ASSERT_EQ(gate_.reported_kicks.size(), 1u);
  EXPECT_EQ(gate_.reported_kicks[0], kick_);
  EXPECT_EQ(addresses(engine_->breakpoint_sets.back()), std::vector<uint64_t>{0x3000});
  EXPECT_EQ(machine.run().kind, RunOutcome::Kind::kGuestExit);
  EXPECT_EQ(gate_.exits, (std::vector<ExitReason>{ExitReason::kKicked, ExitReason::kIo}));
}

TEST_F(KickAndDebuggerTest, AUserBreakpointAtTheKicksRipStopsAfterTheKick) {
  Machine& machine = make_machine();
  set_user_breakpoint(0x2000);
  X other_state = X::breakpoint(0x2000);
  other_state.rax = 5;
  engine_->script({other_state, X::step_done(), the_kick(), X::out(kDebugExitPort, 0)});
  // A hit in another state is not the kick, but it is the user's breakpoint.
  RunOutcome outcome = machine.run();
  ASSERT_EQ(outcome.kind, RunOutcome::Kind::kDebugStop);
  EXPECT_EQ(outcome.debug.address, 0x2000u);
  EXPECT_TRUE(gate_.reported_kicks.empty());
  // The kick seek steps past that hit, then finds the kick; the debugger sees the kick's hit too,
  // after the kick was handled.
  outcome = machine.run();
  ASSERT_EQ(outcome.kind, RunOutcome::Kind::kDebugStop);
  EXPECT_EQ(outcome.debug.address, 0x2000u);
  ASSERT_EQ(gate_.reported_kicks.size(), 1u);
  EXPECT_EQ(gate_.exits, std::vector<ExitReason>{ExitReason::kKicked});
  EXPECT_EQ(engine_->single_steps, (std::vector<bool>{true, false}));
  EXPECT_EQ(addresses(engine_->breakpoint_sets.back()), std::vector<uint64_t>{0x2000});
  EXPECT_EQ(machine.run().kind, RunOutcome::Kind::kGuestExit);
}

TEST_F(KickAndDebuggerTest, ADebuggerStepIsNotTakenForAKickHit) {
  Machine& machine = make_machine();
  machine.debug_registers().set_single_step(DebugClient::kDebugger, true);
  engine_->script({X::step_done(), the_kick(), X::step_done()});
  RunOutcome outcome = machine.run();
  ASSERT_EQ(outcome.kind, RunOutcome::Kind::kDebugStop);
  EXPECT_EQ(outcome.debug.cause, DebugCause::kStep);
  EXPECT_EQ(machine.stats().get(VmStat::RRVM_REPLAY_BREAKPOINT_HITS), 0u);
  // Stepping onto the kick's rip: the kick is handled, and the step still ends as a step.
  outcome = machine.run();
  ASSERT_EQ(outcome.kind, RunOutcome::Kind::kDebugStop);
  EXPECT_EQ(outcome.debug.cause, DebugCause::kStep);
  EXPECT_EQ(gate_.reported_kicks.size(), 1u);
  EXPECT_EQ(engine_->single_steps, std::vector<bool>{true});
}

} // namespace
} // namespace rrvm::test
