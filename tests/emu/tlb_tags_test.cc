// The software TLB's tags, which decide alone whether an access takes the fast path (read_as,
// write_as and the translator's inline copy of them): a write tag only where the walk allowed the
// write, the page holds no cached code, has no watchpoint and is already marked written (so a
// fast write marks nothing, and clearing the marks drops the write tags); an access crossing a
// page never matches; flushes drop the tags with their entries, and a restored TLB gets them back.
//
// The Cpu cases run on long mode's identity map (2 MiB pages, directory at 0x3000) with a few of
// its entries changed; their linear pages fall in different TLB slots.
#include <gtest/gtest.h>

#include <cstring>

#include "vmm/emu/code_cache.h"
#include "vmm/emu/cpu.h"
#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {
namespace {

using emu::Cpu;

constexpr uint64_t kData = 0x21000;        // read-write, in the 2 MiB page at 0
constexpr uint64_t kGlobal = 0x430000;     // a global 2 MiB page (directory entry 2)
constexpr uint64_t kReadOnly = 0x800000;   // a read-only one (entry 4)
constexpr uint64_t kNotPresent = 0xc00000; // entry 6, cleared

struct TagsCpu {
  TagsCpu() {
    const CpuState s = initial_state(Mode::kLong64, memory);
    memory.store<uint64_t>(0x3000 + 8 * 2, 0x400000 | 0x183); // present, writable, large, global
    memory.store<uint64_t>(0x3000 + 8 * 4, kReadOnly | 0x81); // present, large
    memory.store<uint64_t>(0x3000 + 8 * 6, 0);
    cpu.put_state(s);
    memory.clear_written();
  }
  static size_t slot(uint64_t la) { return Cpu::tlb_slot(la); }
  bool fast_read(uint64_t la, unsigned size) const {
    return cpu.read_tags[slot(la)] == Cpu::access_tag(la, size);
  }
  bool fast_write(uint64_t la, unsigned size) const {
    return cpu.write_tags[slot(la)] == Cpu::access_tag(la, size);
  }
  // Whether the fast paths may make any kind of access to `la`'s page.
  bool any_tag(uint64_t la) const {
    for (size_t kind = 0; kind < Cpu::kAccessKinds; ++kind)
      if (cpu.tlb_tags(kind)[slot(la)] == (la & ~0xfffull)) return true;
    return false;
  }
  bool written(uint64_t la) const { return memory.page_written(la >> 12); }

  GuestMemory memory{16 << 20};
  Cpu cpu{memory, CpuidTable::emulated()};
};

TEST(TlbTagsTest, AWriteAfterTheMarksWereClearedMarksItsPageAgain) {
  TagsCpu t;
  EXPECT_EQ(t.cpu.read<uint32_t>(kData), 0u);
  EXPECT_TRUE(t.fast_read(kData, 4));
  EXPECT_FALSE(t.fast_write(kData, 4)) << "a write tag on a page not marked written";
  t.cpu.write<uint32_t>(kData, 1);
  EXPECT_TRUE(t.written(kData));
  EXPECT_TRUE(t.fast_write(kData, 4)) << "the slow write marked the page but left it slow";
  t.cpu.write<uint32_t>(kData + 8, 2);

  t.memory.clear_written();
  EXPECT_FALSE(t.fast_write(kData, 4)) << "clearing the marks kept the write tag";
  EXPECT_TRUE(t.fast_read(kData, 4)) << "clearing the marks dropped a read tag";
  t.cpu.write<uint32_t>(kData + 16, 3);
  EXPECT_TRUE(t.written(kData));
  EXPECT_EQ(t.memory.load<uint32_t>(kData + 16), 3u);
}

// The translator's inline stores, in a loop translated before the marks are cleared: after the
// clear, the loop's next store must mark its page again.
TEST(TlbTagsTest, AnInlineStoreAfterTheMarksWereClearedMarksItsPageAgain) {
  for (const bool translate : {false, true}) {
    SCOPED_TRACE(translate ? "translated" : "interpreted");
    EmuMachine m(Mode::kLong64, 16 << 20, translate);
    m.load(R"(
    again:
      mov ecx, 200
    store:
      mov [0x21000 + rcx * 4], ecx
      push rcx
      pop rcx
      dec ecx
      jnz store
      out 0x80, al
      jmp again
    )");
    for (unsigned round = 0; round < 3; ++round) {
      m.memory.clear_written();
      Exit& e = m.run();
      ASSERT_EQ(e.reason, ExitReason::kIo) << exit_reason_name(e.reason) << " " << e.detail;
      EXPECT_TRUE(m.memory.page_written(kData >> 12)) << "round " << round;
      EXPECT_TRUE(m.memory.page_written((kStackTop - 8) >> 12)) << "round " << round;
    }
    EXPECT_EQ(translate, m.engine.translated_blocks() > 0);
  }
}

TEST(TlbTagsTest, ReadOnlyAndNotPresentPagesHaveNoWriteTag) {
  TagsCpu t;
  t.memory.mark_page_written(kReadOnly >> 12);
  EXPECT_EQ(t.cpu.read<uint32_t>(kReadOnly), 0u);
  EXPECT_TRUE(t.fast_read(kReadOnly, 4));
  EXPECT_FALSE(t.fast_write(kReadOnly, 4));
  EXPECT_THROW(t.cpu.write<uint32_t>(kReadOnly, 1), emu::GuestFault);
  EXPECT_FALSE(t.fast_write(kReadOnly, 4));

  EXPECT_THROW(t.cpu.read<uint32_t>(kNotPresent), emu::GuestFault);
  EXPECT_FALSE(t.any_tag(kNotPresent));
}

TEST(TlbTagsTest, ACodePageHasNoWriteTagWhileItHoldsCode) {
  TagsCpu t;
  const std::vector<uint8_t> code = assemble("mov eax, 1\nret\n", 64, kData);
  t.memory.write(kData, code);
  uint64_t phys = 0;
  const uint8_t* host = t.cpu.fetch_page(kData, &phys);
  ASSERT_NE(host, nullptr);
  t.cpu.code->block(kData, phys, host, 64);
  t.cpu.write<uint32_t>(kData + 0x800, 1); // data beside the code, marked
  EXPECT_TRUE(t.written(kData));
  EXPECT_FALSE(t.fast_write(kData + 0x800, 4)) << "a write tag on a page holding code";
  EXPECT_TRUE(t.fast_read(kData + 0x800, 4));

  t.cpu.code->invalidate(kData, code.size());
  t.cpu.code->release_retired();
  t.cpu.write<uint32_t>(kData + 0x800, 2); // the slow path sees the code gone
  EXPECT_TRUE(t.fast_write(kData + 0x800, 4));
}

TEST(TlbTagsTest, AWatchedPageHasNoTags) {
  TagsCpu t;
  t.cpu.write<uint32_t>(kData, 1);
  ASSERT_TRUE(t.fast_write(kData, 4));
  t.cpu.watchpoints.push_back(HwBreakpoint{kData + 0x100, WatchKind::kWrite, 4});
  t.cpu.refresh_tlb_permissions();
  EXPECT_FALSE(t.any_tag(kData));
  t.cpu.write<uint32_t>(kData, 2); // elsewhere in the page: slow, no hit, still no tags
  EXPECT_FALSE(t.cpu.watch_hit.has_value());
  EXPECT_FALSE(t.any_tag(kData));
  t.cpu.watchpoints.clear();
  t.cpu.refresh_tlb_permissions();
  EXPECT_TRUE(t.fast_write(kData, 4));
}

TEST(TlbTagsTest, AnAccessCrossingAPageNeverMatches) {
  TagsCpu t;
  t.cpu.write<uint64_t>(kData, 1);
  t.cpu.write<uint64_t>(kData + 0x1000, 1);
  ASSERT_TRUE(t.fast_write(kData + 0xff8, 8));
  EXPECT_TRUE(t.fast_write(kData + 0xffc, 4));
  EXPECT_FALSE(t.fast_write(kData + 0xffc, 8));
  EXPECT_FALSE(t.fast_read(kData + 0xfff, 2));
  t.cpu.write<uint64_t>(kData + 0xffc, 0x1122334455667788);
  EXPECT_EQ(t.memory.load<uint32_t>(kData + 0xffc), 0x55667788u);
  EXPECT_EQ(t.memory.load<uint32_t>(kData + 0x1000), 0x11223344u);
  EXPECT_EQ(t.cpu.read<uint64_t>(kData + 0xffc), 0x1122334455667788u);
}

TEST(TlbTagsTest, InvlpgCr3AndPgeDropTheTags) {
  TagsCpu t;
  t.cpu.write_cr(4, t.cpu.cr4 | cr4::kPGE);
  auto fill = [&] {
    t.cpu.write<uint32_t>(kData, 1);
    t.cpu.write<uint32_t>(kGlobal, 1);
    ASSERT_TRUE(t.fast_write(kData, 4));
    ASSERT_TRUE(t.fast_write(kGlobal, 4));
  };
  fill();
  t.cpu.flush_tlb_page(kData + 0x123);
  EXPECT_FALSE(t.any_tag(kData));
  EXPECT_TRUE(t.fast_write(kGlobal, 4));

  fill();
  t.cpu.flush_tlb_page(kGlobal + 0x5000); // elsewhere in the large page
  EXPECT_FALSE(t.any_tag(kGlobal));
  EXPECT_TRUE(t.fast_write(kData, 4));

  fill();
  t.cpu.write_cr(3, t.cpu.cr3);
  EXPECT_FALSE(t.any_tag(kData));
  EXPECT_TRUE(t.fast_write(kGlobal, 4)) << "a CR3 write dropped a global entry";

  fill();
  t.cpu.write_cr(4, t.cpu.cr4 & ~uint64_t(cr4::kPGE));
  EXPECT_FALSE(t.any_tag(kData));
  EXPECT_FALSE(t.any_tag(kGlobal));
}

TEST(TlbTagsTest, ARestoredTlbHasTheTagsOfTheRestoredState) {
  TagsCpu t;
  t.cpu.write<uint32_t>(kData, 1);
  EXPECT_EQ(t.cpu.read<uint32_t>(kReadOnly), 0u);
  StateWriter out;
  t.cpu.save_tlb(out);
  const std::vector<uint8_t> saved = out.take();
  auto tags = [&] {
    std::vector<uint64_t> all;
    for (size_t kind = 0; kind < Cpu::kAccessKinds; ++kind)
      all.insert(all.end(), t.cpu.tlb_tags(kind), t.cpu.tlb_tags(kind) + Cpu::tlb_entries());
    return all;
  };
  const std::vector<uint64_t> before = tags();

  t.cpu.flush_tlb();
  StateReader in(saved);
  t.cpu.restore_tlb(in);
  EXPECT_EQ(tags(), before);
  EXPECT_EQ(t.cpu.read<uint32_t>(kData), 1u);

  // A restore clears the written marks (MemoryImage::apply) before the TLB comes back: no page
  // is marked, so no write tag.
  t.memory.clear_written();
  t.cpu.flush_tlb();
  StateReader again(saved);
  t.cpu.restore_tlb(again);
  EXPECT_TRUE(t.fast_read(kData, 4));
  EXPECT_FALSE(t.fast_write(kData, 4));
  t.cpu.write<uint32_t>(kData, 2);
  EXPECT_TRUE(t.written(kData));
}

} // namespace
} // namespace rrvm::test
