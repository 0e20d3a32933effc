// The software TLB in checkpoints and under watchpoints: a TLB saved with the state and restored
// into another engine over a copy of memory goes on exactly as the original (stale translations,
// global entries across a CR3 write, large pages INVLPG must find), and watchpoints set or removed
// keep every translation, so no access walks the page tables where the run without them did not.
//
// Pages are remapped behind the TLB's back (a PTE written without INVLPG, its accessed bit clear):
// a read through a cached translation shows the old page and leaves the PTE alone; a walk would
// show the new page and set the accessed bit. Every physical page used holds its own address.
#include <gtest/gtest.h>

#include <string>

#include "vmm/emu/testing/emu_machine.h"
#include "vmm/state_buffer.h"

namespace rrvm::test {
namespace {

// Long mode: linear 0x400000-0x5fffff is mapped by a page table at 0x5000 (the identity map's
// 2 MiB page there replaced): 0x430000 (global) → 0x600000, 0x441000 → 0x601000. The 2 MiB page
// at 0x800000 is the identity map's.
constexpr uint64_t kPageTable = 0x5000;
constexpr uint64_t kGlobalPte = kPageTable + 8 * 0x30, kLocalPte = kPageTable + 8 * 0x41;
constexpr uint64_t kAccessed = 0x20;

struct AgingMachine : EmuMachine {
  AgingMachine() : EmuMachine(Mode::kLong64) {
    memory.store<uint64_t>(0x3000 + 8 * 2, kPageTable | 7);
    memory.store<uint64_t>(kGlobalPte, 0x600000 | 0x103); // present, writable, global
    memory.store<uint64_t>(kLocalPte, 0x601000 | 3);
    for (uint64_t page : {0x600000, 0x601000, 0x602000, 0x603000, 0x852000, 0xa52000})
      memory.store<uint64_t>(page, page);
  }
  void expect_port_exit() {
    Exit& e = run();
    ASSERT_EQ(e.reason, ExitReason::kIo) << exit_reason_name(e.reason) << " " << e.detail;
  }
  std::vector<uint8_t> tlb() {
    StateWriter out;
    engine.save_tlb(out);
    return out.take();
  }
  std::vector<uint8_t> ram() const { return {memory.host(), memory.host() + memory.size()}; }
};

// Caches both small pages and a 2 MiB one, then remaps all three without INVLPG (accessed bits
// clear); `out` stops there. After it: the stale translations, INVLPG inside the large page, a
// CR3 write the global entry survives.
const std::string kFillAndRemap = R"(
  mov rax, cr4
  or eax, 1 << 7
  mov cr4, rax
  mov rax, [0x430000]
  mov rax, [0x441000]
  mov rax, [0x852000]
  mov qword [0x5180], 0x602000 | 0x103
  mov qword [0x5208], 0x603000 | 3
  mov qword [0x3020], 0xa00000 | 0x83
  out 0x80, al
  mov r8, [0x430000]
  mov r9, [0x441000]
  mov r10, [0x852000]
  invlpg [0x8ab000]
  mov r11, [0x852000]
  mov rax, cr3
  mov cr3, rax
  mov r12, [0x430000]
  mov r13, [0x441000]
  out 0xf4, al
)";

TEST(TlbSnapshotTest, ARestoredTlbGoesOnAsTheOriginal) {
  AgingMachine original;
  original.load(kFillAndRemap);
  original.expect_port_exit();
  const CpuState state = original.state();
  const std::vector<uint8_t> tlb = original.tlb();

  AgingMachine restored;
  restored.memory.write(0, original.ram());
  restored.engine.set_state(state);
  StateReader in(tlb);
  restored.engine.restore_tlb(in);
  EXPECT_TRUE(in.at_end());
  EXPECT_EQ(restored.tlb(), tlb) << "the restored TLB saves as the original";

  original.expect_port_exit();
  restored.expect_port_exit();
  const CpuState s = restored.state();
  EXPECT_EQ(s.gpr[8], 0x600000u) << "the global entry was not restored";
  EXPECT_EQ(s.gpr[9], 0x601000u) << "the 4 KiB entry was not restored";
  EXPECT_EQ(s.gpr[10], 0x852000u) << "the 2 MiB page's entry was not restored";
  EXPECT_EQ(s.gpr[11], 0xa52000u) << "INVLPG inside the large page missed its restored entry";
  EXPECT_EQ(s.gpr[12], 0x600000u) << "the restored entry is no longer global";
  EXPECT_EQ(s.gpr[13], 0x603000u);
  EXPECT_EQ(s.gpr, original.state().gpr);
  EXPECT_TRUE(restored.ram() == original.ram()) << "the accessed bits differ";
  EXPECT_EQ(restored.tlb(), original.tlb());
}

TEST(TlbSnapshotTest, ARestoreOfAnEmptyTlbEmptiesIt) {
  AgingMachine m;
  const std::vector<uint8_t> empty = m.tlb();
  m.load(kFillAndRemap);
  m.expect_port_exit();
  StateReader in(empty);
  m.engine.restore_tlb(in);
  m.expect_port_exit();
  EXPECT_EQ(m.state().gpr[8], 0x602000u);
  EXPECT_EQ(m.state().gpr[9], 0x603000u);
}

// A watchpoint on a page whose PTE was changed without INVLPG: accesses still go through the
// cached translation (the old page, no accessed bit set), the watched quadword still hits, and
// removing the watchpoint keeps the translation too.
TEST(TlbSnapshotTest, WatchpointsKeepTranslations) {
  AgingMachine m;
  m.load(R"(
  mov rax, [0x441000]
  mov qword [0x5208], 0x603000 | 3
  out 0x80, al
  mov r8, [0x441000]
  mov r9, [0x441008]
  out 0x80, al
  mov r10, [0x441000]
  out 0xf4, al
)");
  m.expect_port_exit();
  const HwBreakpoint watch{0x441008, WatchKind::kRead, 8};
  m.engine.set_hw_breakpoints({&watch, 1});
  Exit& hit = m.run();
  ASSERT_EQ(hit.reason, ExitReason::kDebug) << exit_reason_name(hit.reason) << " " << hit.detail;
  EXPECT_EQ(hit.debug.cause, DebugCause::kWatchRead);
  EXPECT_EQ(hit.debug.address, watch.address);
  m.expect_port_exit();
  EXPECT_EQ(m.state().gpr[8], 0x601000u) << "the watchpoint dropped the cached translation";
  m.engine.set_hw_breakpoints({});
  m.expect_port_exit();
  EXPECT_EQ(m.state().gpr[10], 0x601000u) << "removing the watchpoint dropped the translation";
  EXPECT_EQ(m.memory.load<uint64_t>(kLocalPte) & kAccessed, 0u) << "a walk set the accessed bit";
}

} // namespace
} // namespace rrvm::test
