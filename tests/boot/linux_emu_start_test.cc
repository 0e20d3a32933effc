// Debian's stock kernel, loaded and entered at startup_64, runs its first instructions on emu:
// a bounded run reaches its instruction budget or stops (an instruction emu lacks, or a fault
// the kernel's early IDT cannot handle, i.e. a triple fault), and either way it stopped inside
// the kernel after the kernel had loaded its own GDT and IDT.
#include <gtest/gtest.h>

#include "tests/boot/stock_kernel.h"
#include "vmm/engine_factory.h"
#include "vmm/live_gate.h"
#include "vmm/machine.h"

namespace rrvm {
namespace {

constexpr uint64_t kBudget = 5'000'000;
constexpr uint64_t kStartup64 = 0x1000000;
// The kernel's text: at its physical load address before startup_64 switches to the kernel's
// own page tables, at __START_KERNEL_map + 16 MiB after.
constexpr uint64_t kKernelVirtualBase = 0xffffffff81000000;

bool inside_kernel(uint64_t rip, uint64_t init_size) {
  return (rip >= kStartup64 && rip < kStartup64 + init_size) ||
         (rip >= kKernelVirtualBase && rip < kKernelVirtualBase + init_size);
}

TEST(LinuxEmuStartTest, StockKernelRunsFromStartup64) {
  const std::string kernel = test::stock_kernel_or_fail();
  if (kernel.empty()) GTEST_SKIP() << "Debian's kernel is not fetched (tools/fetch-linux.sh)";
  std::string serial;
  MachineConfig config;
  config.memory_bytes = 256ull << 20;
  config.engine = EngineKind::kEmu;
  config.serial_output = [&serial](uint8_t byte) { serial.push_back(static_cast<char>(byte)); };
  LiveGate gate(false);
  GuestMemory memory(config.memory_bytes);
  Machine machine(config, memory, create_engine(config.engine, memory), gate);
  BootOptions boot;
  boot.kernel_path = kernel;
  boot.cmdline = "console=ttyS0 earlyprintk=ttyS0 nokaslr";
  const BootImage& image = machine.boot(boot);
  ASSERT_EQ(machine.engine().state().rip, kStartup64);
  const uint64_t init_size = 0x3f98000; // ample for Debian 6.1's text; checked by the loader test

  machine.stop_at(kBudget);
  const RunOutcome outcome = machine.run();
  const CpuState cpu = machine.engine().state();
  const uint64_t executed = machine.engine().instruction_count().value_or(0);
  std::cerr << "[ linux    ] " << image.path << ": " << executed << " instructions, stopped at rip "
            << std::hex << cpu.rip << std::dec << ": " << outcome.message.substr(0, 200) << "\n";
  if (!serial.empty()) std::cerr << "[ serial   ] " << serial << "\n";
  EXPECT_TRUE(inside_kernel(cpu.rip, init_size)) << std::hex << cpu.rip;
  // startup_64 ran: its startup_64_setup_env replaced rrvm's GDT (at 0x500) and empty IDT with
  // the kernel's own, which lie inside the kernel image.
  EXPECT_TRUE(inside_kernel(cpu.gdt.base, init_size)) << std::hex << cpu.gdt.base;
  EXPECT_TRUE(inside_kernel(cpu.idt.base, init_size)) << std::hex << cpu.idt.base;
  EXPECT_GT(executed, 100u);
  switch (outcome.kind) {
  case RunOutcome::Kind::kPositionReached:
    EXPECT_EQ(executed, kBudget);
    break;
  case RunOutcome::Kind::kEngineError:
  case RunOutcome::Kind::kReset:
    // The message names the instruction it stopped at, with a register dump.
    EXPECT_NE(outcome.message.find("cs:rip 0010:"), std::string::npos) << outcome.message;
    break;
  default:
    ADD_FAILURE() << "unexpected end of the run: " << outcome.message;
  }
}

} // namespace
} // namespace rrvm
