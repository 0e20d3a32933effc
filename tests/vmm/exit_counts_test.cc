// The counters exit reasons stand for: counted once per exit by reason (ExitCounts), derived by
// count_exits, which `rrvm stats` uses too for a trace that logs every exit.
#include "vmm/exit_counts.h"

#include <gtest/gtest.h>

namespace rrvm {
namespace {

TEST(ExitCountsTest, EachReasonCountsInTheTotalAndItsOwnCounters) {
  ExitCounts exits;
  for (int i = 0; i < 3; ++i)
    exits.add(ExitReason::kIo);
  exits.add(ExitReason::kMmio);
  exits.add(ExitReason::kMsrWrite);
  exits.add(ExitReason::kHlt);
  exits.add(ExitReason::kKicked);
  exits.add(ExitReason::kInstructionLimit);
  exits.add(ExitReason::kShutdown);
  EXPECT_EQ(exits.total(), 9u);
  EXPECT_EQ(exits.of(ExitReason::kIo), 3u);

  VmStats stats;
  exits.add_to(stats);
  EXPECT_EQ(stats.get(VmStat::VMEXIT_COUNT), 9u);
  EXPECT_EQ(stats.get(VmStat::VMEXIT_INOUT), 3u);
  EXPECT_EQ(stats.get(VmStat::VMEXIT_NESTED_FAULT), 1u);
  EXPECT_EQ(stats.get(VmStat::VMEXIT_WRMSR), 1u);
  EXPECT_EQ(stats.get(VmStat::VMEXIT_HLT), 1u);
  EXPECT_EQ(stats.get(VmStat::VMEXIT_USERSPACE), 5u); // the port, MMIO and MSR exits
  EXPECT_EQ(stats.get(VmStat::VMEXIT_EXTINT), 2u);    // the kick and emu's quantum
  EXPECT_EQ(stats.get(VmStat::RRVM_HOST_WAKEUPS), 1u);
}

TEST(ExitCountsTest, CountsAddedAtOnceEqualExitsCountedOneByOne) {
  ExitCounts exits;
  VmStats one_by_one;
  for (size_t reason = 0; reason < kExitReasonCount; ++reason) {
    for (size_t i = 0; i <= reason; ++i) {
      exits.add(ExitReason(reason));
      count_exits(one_by_one, ExitReason(reason));
    }
  }
  VmStats at_once;
  exits.add_to(at_once);
  for (unsigned stat = 0; stat < unsigned(VmStat::kCount); ++stat)
    EXPECT_EQ(at_once.get(VmStat(stat)), one_by_one.get(VmStat(stat))) << stat;
}

TEST(ExitCountsTest, AReasonFromADamagedTraceCountsOnlyInTheTotal) {
  VmStats stats;
  count_exits(stats, ExitReason(200));
  EXPECT_EQ(stats.get(VmStat::VMEXIT_COUNT), 1u);
  EXPECT_EQ(stats.get(VmStat::VMEXIT_UNKNOWN), 0u);
}

} // namespace
} // namespace rrvm
