// Exact reverse execution on Linux while it ages pages: Debian's kernel (page-table isolation
// off, so returning to user space keeps the TLB) runs a shell that writes /proc/self/clear_refs
// over and over, which clears the accessed bits of its PTEs without a TLB flush, while the shell
// goes on through the translations still cached. On the recording's replay, re-executing each
// interval between checkpoints over the aging reaches the next checkpoint's memory, registers and
// TLB exactly, and steps back and forth there revisit the same states (registers, a hash of all
// RAM). With the TLB emptied at each restore (as before checkpoints held it), the intervals
// holding the aging ended with different PTEs.
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <regex>

#include "debugger/replay_controller.h"
#include "tests/boot/stock_kernel.h"
#include "tests/support/subprocess.h"
#include "vmm/state_hash.h"

namespace rrvm::gdb {
namespace {

constexpr uint64_t kInterval = 5'000'000;  // instructions between the checkpoints compared
constexpr uint64_t kAgedSpan = 60'000'000; // the end of the recording the checks cover
constexpr int kSteps = 8;

const char* const kAgingScript = R"(#!/bin/sh
i=0
while [ $i -lt 300 ]; do
  echo 1 > /proc/self/clear_refs
  i=$((i + 1))
done
cat /proc/$$/smaps_rollup
)";

struct Seen {
  ReplayPosition position;
  uint64_t registers = 0, ram = 0;
  bool operator==(const Seen&) const = default;
};

Seen seen(ReplayController& controller) {
  const GuestMemory& memory = controller.machine().memory();
  return {*controller.position(), hash_cpu_state(controller.machine().engine().state()),
          hash_bytes({memory.host(), memory.size()})};
}

std::vector<uint8_t> tlb(Machine& machine) {
  StateWriter out;
  machine.engine().save_tlb(out);
  return out.take();
}

TEST(LinuxTlbAging, ReExecutionOverPageAgingIsExact) {
  const std::string kernel = test::stock_kernel_or_fail();
  if (kernel.empty()) GTEST_SKIP() << "Debian's kernel is not fetched (tools/fetch-linux.sh)";
  const std::string script = test::unique_temp_path("aging.sh");
  std::ofstream(script) << kAgingScript;
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  const std::string initrd = test::unique_temp_path("aging.cpio.gz");
  const test::ProcessResult made =
      test::run_process({"python3", RRVM_SOURCE_DIR "/tools/make-initramfs.py", "--workload",
                         script, RRVM_LINUX_CACHE "/busybox", initrd, "aging"});
  ASSERT_EQ(made.status, 0) << made.err;
  const std::string trace = test::unique_temp_path("aging.trace");
  const test::ProcessResult recorded =
      test::run_process({test::rrvm_binary(), "record", "--engine", "emu", "--clock", "icount",
                         "--mem", "128M", "--stats", "--initrd", initrd, "--append",
                         "console=ttyS0 nokaslr pti=off", "-o", trace, kernel},
                        240);
  EXPECT_EQ(recorded.status, 1) << recorded.err; // the script's status 0
  EXPECT_TRUE(std::regex_search(recorded.out, std::regex("Referenced: +[0-9]+ kB")))
      << recorded.out;
  std::smatch retired;
  ASSERT_TRUE(std::regex_search(recorded.err, retired,
                                std::regex("instructions retired \\(0 on kvm\\)\\s+([0-9]+)")))
      << recorded.err;
  const uint64_t end = std::stoull(retired[1]);
  ASSERT_GT(end, kAgedSpan);

  ReplaySession replay(trace, ReplayOptions{"emu", {}});
  ReplayController controller(replay);
  std::vector<ReplayCheckpoint> checkpoints;
  for (uint64_t count = end - kAgedSpan; count < end; count += kInterval) {
    ASSERT_TRUE(controller.go_to({count, 0}));
    checkpoints.push_back(replay.checkpoint());
  }

  // Steps forward and back inside the aging loop, with a step forward after each reverse step
  // (which stands on a restored snapshot).
  for (const uint64_t start : {end - kAgedSpan / 2, end - kAgedSpan / 4}) {
    ASSERT_TRUE(controller.go_to({start, 0}));
    std::vector<Seen> forward{seen(controller)};
    for (int i = 0; i < kSteps; ++i) {
      controller.step();
      forward.push_back(seen(controller));
    }
    for (int i = kSteps - 1; i >= 0; --i) {
      ASSERT_EQ(controller.reverse_step().kind, Stop::Kind::kStep);
      ASSERT_TRUE(seen(controller) == forward[i]) << "back to step " << i << " from " << start;
      controller.step();
      ASSERT_TRUE(seen(controller) == forward[i + 1]) << "on to " << i + 1 << " from " << start;
      ASSERT_EQ(controller.reverse_step().kind, Stop::Kind::kStep);
    }
  }

  // The intervals: each re-executed from its restored checkpoint ends as the replay did.
  Machine& machine = replay.machine();
  for (size_t i = 0; i + 1 < checkpoints.size(); ++i) {
    replay.restore(checkpoints[i]);
    const MachineSnapshot& next = checkpoints[i + 1].machine;
    machine.stop_at(next.instruction_count);
    ASSERT_EQ(replay.run().kind, RunOutcome::Kind::kPositionReached);
    EXPECT_FALSE(next.memory->first_difference(machine.memory())) << "interval " << i;
    EXPECT_EQ(hash_cpu_state(machine.engine().state()), hash_cpu_state(next.cpu)) << i;
    EXPECT_EQ(tlb(machine), next.tlb) << "interval " << i;
  }
  std::filesystem::remove(trace);
  std::filesystem::remove(initrd);
  std::filesystem::remove(script);
}

} // namespace
} // namespace rrvm::gdb
