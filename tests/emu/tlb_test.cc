// The software TLB's flushes: global entries (CR4.PGE, G=1) survive a CR3 write while the others
// are walked again, toggling CR4.PGE drops them, and INVLPG drops exactly the entries that may
// translate its address: one 4 KiB page, or every page cached from a 2 MiB or 4 MiB page; code
// cached from a global page still sends writes through the slow path that invalidates it.
//
// Each case remaps pages behind the TLB's back (a PTE write without INVLPG) and reads them
// again: a cached translation is used until a flush drops it, so a read shows the old page while
// its entry is cached and the new one after the flush. Every physical page the cases map holds
// its own address at offset 0, so a read names the page it went to. The linear pages used here
// fall in different TLB slots, and none shares a slot with the code or the stack.
#include <gtest/gtest.h>

#include <array>
#include <string>

#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {
namespace {

// Long mode: linear 0x400000-0x5fffff is mapped by a page table at 0x5000 (the identity map's
// 2 MiB page there replaced): 0x430000 (global) → 0x600000, 0x441000 → 0x601000. The code remaps
// them to 0x602000 and 0x603000. The 2 MiB page at 0x800000 is the identity map's; the code
// moves it to 0xa00000.
constexpr uint64_t kPageTable = 0x5000;
constexpr uint64_t kGlobalPage = 0x430000, kLocalPage = 0x441000;
constexpr uint64_t kGlobalPte = kPageTable + 8 * 0x30, kLocalPte = kPageTable + 8 * 0x41;
constexpr uint64_t kLargePde = 0x3000 + 8 * 4; // linear 0x800000

struct TlbMachine : EmuMachine {
  TlbMachine() : EmuMachine(Mode::kLong64) {
    memory.store<uint64_t>(0x3000 + 8 * 2, kPageTable | 7);
    memory.store<uint64_t>(kGlobalPte, 0x600000 | 0x103); // present, writable, global
    memory.store<uint64_t>(kLocalPte, 0x601000 | 3);
    for (uint64_t page :
         {0x600000, 0x601000, 0x602000, 0x603000, 0x852000, 0x9e3000, 0xa52000, 0xbe3000})
      memory.store<uint64_t>(page, page);
  }
  // Runs `code` to its `out 0xf4` and returns R8-R15.
  std::array<uint64_t, 8> results(const std::string& code) {
    load(code + "\nout 0xf4, al\n");
    Exit& e = run();
    EXPECT_EQ(e.reason, ExitReason::kIo) << exit_reason_name(e.reason) << " " << e.detail;
    const CpuState s = state();
    std::array<uint64_t, 8> r;
    for (unsigned i = 0; i < 8; ++i)
      r[i] = s.gpr[8 + i];
    return r;
  }
};

const std::string kRemapBoth = R"(
  mov qword [0x5180], 0x602000 | 0x103
  mov qword [0x5208], 0x603000 | 3
)";
const std::string kSetPge = "mov rax, cr4\nor eax, 1 << 7\nmov cr4, rax\n";
const std::string kFillBoth = "mov r8, [0x430000]\nmov r9, [0x441000]\n";
const std::string kReloadCr3 = "mov rax, cr3\nmov cr3, rax\n";

TEST(TlbTest, GlobalEntrySurvivesCr3WriteAndOthersAreWalkedAgain) {
  TlbMachine m;
  static_assert(kGlobalPte == 0x5180 && kLocalPte == 0x5208);
  const auto r = m.results(kSetPge + kFillBoth + kRemapBoth + kReloadCr3 + R"(
  mov r10, [0x430000]
  mov r11, [0x441000]
  invlpg [0x430000]
  mov r12, [0x430000]
)");
  EXPECT_EQ(r[0], 0x600000u);
  EXPECT_EQ(r[1], 0x601000u);
  EXPECT_EQ(r[2], 0x600000u) << "the global entry was dropped by the CR3 write";
  EXPECT_EQ(r[3], 0x603000u) << "the non-global entry survived the CR3 write";
  EXPECT_EQ(r[4], 0x602000u) << "INVLPG kept the global entry";
}

TEST(TlbTest, TogglingPgeDropsGlobalEntries) {
  TlbMachine m;
  const auto r = m.results(kSetPge + kFillBoth + kRemapBoth + R"(
  mov rax, cr4
  and eax, ~(1 << 7)
  mov cr4, rax
  mov r10, [0x430000]
  mov r11, [0x441000]
)");
  EXPECT_EQ(r[2], 0x602000u);
  EXPECT_EQ(r[3], 0x603000u);
}

TEST(TlbTest, WithoutPgeTheGlobalBitKeepsNothing) {
  TlbMachine m;
  const auto r = m.results(kFillBoth + kRemapBoth + kReloadCr3 + "mov r10, [0x430000]\n");
  EXPECT_EQ(r[2], 0x602000u);
}

TEST(TlbTest, InvlpgDropsOnlyItsPage) {
  TlbMachine m;
  const auto r = m.results(kFillBoth + kRemapBoth + R"(
  invlpg [0x441abc]
  mov r10, [0x430000]
  mov r11, [0x441000]
)");
  EXPECT_EQ(r[2], 0x600000u) << "INVLPG of another page dropped this one";
  EXPECT_EQ(r[3], 0x603000u) << "INVLPG kept its own page";
}

TEST(TlbTest, InvlpgInsideALargePageDropsEveryPageCachedFromIt) {
  TlbMachine m;
  const auto r = m.results(kFillBoth + R"(
  mov r10, [0x852000]
  mov r11, [0x9e3000]
  mov qword [0x3020], 0xa00000 | 0x87
  mov qword [0x5208], 0x603000 | 3
  mov r12, [0x852000]
  invlpg [0x8ab000]
  mov r13, [0x852000]
  mov r14, [0x9e3000]
  mov r15, [0x441000]
)");
  static_assert(kLargePde == 0x3020);
  EXPECT_EQ(r[2], 0x852000u);
  EXPECT_EQ(r[3], 0x9e3000u);
  EXPECT_EQ(r[4], 0x852000u) << "the 2 MiB page's entry was not cached";
  EXPECT_EQ(r[5], 0xa52000u);
  EXPECT_EQ(r[6], 0xbe3000u);
  EXPECT_EQ(r[7], 0x601000u) << "INVLPG in a large page dropped a 4 KiB page outside it";
}

// Code cached from a global page withdraws fast writes from the page's global entry too: a
// write through it after a CR3 write still invalidates the decoded code.
TEST(TlbTest, WritesThroughAGlobalEntryStillInvalidateCachedCode) {
  TlbMachine m;
  const uint8_t mov_eax_1_ret[] = {0xb8, 1, 0, 0, 0, 0xc3};
  m.memory.write(0x600000, mov_eax_1_ret);
  const auto r = m.results(kSetPge + R"(
  mov byte [0x430001], 1
  mov rax, 0x430000
  call rax
  mov r8, rax
)" + kReloadCr3 + R"(
  mov byte [0x430001], 2
  mov rax, 0x430000
  call rax
  mov r9, rax
)");
  EXPECT_EQ(r[0], 1u);
  EXPECT_EQ(r[1], 2u) << "the write went through the global entry's fast path";
}

// A global 2 MiB page's entries outlive a CR3 write; INVLPG inside the page still finds them.
TEST(TlbTest, InvlpgInsideAGlobalLargePageAfterACr3Write) {
  TlbMachine m;
  m.memory.store<uint64_t>(kLargePde, 0x800000 | 0x187);
  const auto r = m.results(kSetPge + R"(
  mov r8, [0x852000]
  mov r9, [0x9e3000]
  mov qword [0x3020], 0xa00000 | 0x187
)" + kReloadCr3 + R"(
  mov r10, [0x852000]
  invlpg [0x8ab000]
  mov r11, [0x852000]
  mov r12, [0x9e3000]
)");
  EXPECT_EQ(r[2], 0x852000u) << "the global 2 MiB page's entry did not survive the CR3 write";
  EXPECT_EQ(r[3], 0xa52000u);
  EXPECT_EQ(r[4], 0xbe3000u);
}

// 32-bit paging with PSE: a 4 MiB page cached under two of its 4 KiB pages, dropped by INVLPG of
// a third. The code enables paging itself over an identity-mapped first 4 MiB.
TEST(TlbTest, InvlpgInsideA4MiBPage) {
  EmuMachine m(Mode::kProtected32);
  constexpr uint64_t kDirectory = 0x5000;
  m.memory.store<uint32_t>(kDirectory, 0x83);                    // 0-4 MiB identity
  m.memory.store<uint32_t>(kDirectory + 4 * 2, 0x800000 | 0x83); // 8-12 MiB identity
  for (uint64_t page : {0x852000, 0x9e3000, 0xc52000, 0xde3000})
    m.memory.store<uint32_t>(page, uint32_t(page));
  m.load(R"(
  mov eax, cr4
  or eax, 1 << 4
  mov cr4, eax
  mov eax, 0x5000
  mov cr3, eax
  mov eax, cr0
  or eax, 1 << 31
  mov cr0, eax
  mov esi, [0x852000]
  mov edi, [0x9e3000]
  mov dword [0x5008], 0xc00000 | 0x83
  mov ebp, [0x852000]
  invlpg [0xaab000]
  mov ecx, [0x852000]
  mov edx, [0x9e3000]
  out 0xf4, al
)");
  Exit& e = m.run();
  ASSERT_EQ(e.reason, ExitReason::kIo) << exit_reason_name(e.reason) << " " << e.detail;
  const CpuState s = m.state();
  EXPECT_EQ(s.gpr[kRsi], 0x852000u);
  EXPECT_EQ(s.gpr[kRdi], 0x9e3000u);
  EXPECT_EQ(s.gpr[kRbp], 0x852000u) << "the 4 MiB page's entry was not cached";
  EXPECT_EQ(s.gpr[kRcx], 0xc52000u);
  EXPECT_EQ(s.gpr[kRdx], 0xde3000u);
}

} // namespace
} // namespace rrvm::test
