// Guests whose events cannot be delivered the ordinary way, and a guest under a maximal-rate
// timer, run through `rrvm run --engine emu`: each ends with an architectural outcome or a clean
// one-line stop, never an abort, and the storm guest finishes.
#include <gtest/gtest.h>

#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

ProcessResult run_flat(const std::string& guest) {
  return run_process(
      {rrvm_binary(), "run", "--engine", "emu", "--flat", "0x7c00", guest_path(guest + ".bin")},
      30);
}

TEST(EmuHostileGuest, IvtOutsideRamReadsAllOnesFromTheBus) {
  ProcessResult r = run_flat("ivt_outside_ram_real");
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.status, 80) << r.err; // the HLT the bus's vector leads to, with IF clear
  EXPECT_NE(r.err.find("halted with interrupts disabled"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cs:rip ffff:"), std::string::npos) << r.err;
}

TEST(EmuHostileGuest, IdtOutsideRamEscalatesToATripleFault) {
  ProcessResult r = run_flat("idt_outside_ram_pm");
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.status, 82) << r.err;
  EXPECT_NE(r.err.find("triple fault"), std::string::npos) << r.err;
}

TEST(EmuHostileGuest, TaskGateIsACleanUnsupportedStop) {
  ProcessResult r = run_flat("task_gate_pm");
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.status, 70) << r.err;
  EXPECT_EQ(r.err.rfind("rrvm: task gate in IDT vector 6", 0), 0u) << r.err;
}

TEST(EmuHostileGuest, PitStormGuestFinishes) {
  ProcessResult r = run_flat("pit_storm_real");
  ASSERT_FALSE(r.timed_out) << "livelock under the PIT at divisor 1";
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(r.out, "PIT storm: 20000 ticks\n");
}

} // namespace
} // namespace rrvm::test
