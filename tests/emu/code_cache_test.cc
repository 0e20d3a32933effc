// The decoded-block cache's invalidation: a write drops exactly the blocks decoded from the bytes
// it writes, so data kept next to code in one page (small kernels and firmware do this) costs no
// decoding or translation, while code written runs new at its next fetch.
#include <gtest/gtest.h>

#include <cstring>

#include "vmm/emu/code_cache.h"
#include "vmm/emu/cpu.h"
#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {
namespace {

TEST(EmuCodeCache, WriteDropsOnlyTheBlocksItOverlaps) {
  GuestMemory memory(1 << 20);
  emu::Cpu cpu(memory, CpuidTable::emulated());
  // Two blocks in one page: [0x1000, 0x1006) ends with its JMP, [0x1010, 0x1013) with its RET.
  const std::vector<uint8_t> code = assemble("mov eax, 1\njmp $\ntimes 0x10 - ($ - $$) nop\n"
                                             "xor eax, eax\nret\n",
                                             64, 0x1000);
  std::memcpy(memory.host() + 0x1000, code.data(), code.size());
  emu::CodeCache& cache = *cpu.code;
  auto decode_both = [&] {
    cache.block(0x1000, 0x1000, memory.host() + 0x1000, 64);
    cache.block(0x1010, 0x1010, memory.host() + 0x1010, 64);
    cache.release_retired();
    return cache.decoded_blocks();
  };
  EXPECT_EQ(decode_both(), 2u);
  cache.invalidate(0x1007, 9); // the bytes between them
  cache.invalidate(0x1013, 0x100);
  cache.invalidate(0x0f00, 0x100);
  EXPECT_EQ(decode_both(), 2u);
  EXPECT_TRUE(cache.is_code(0x1000));

  cache.invalidate(0x1006, 1); // the first block's last byte
  EXPECT_EQ(decode_both(), 3u);
  cache.invalidate(0x100c, 8); // into the second block's first byte
  EXPECT_EQ(decode_both(), 4u);
  cache.invalidate(0x1000, 0x20); // both
  EXPECT_EQ(decode_both(), 6u);
  cache.invalidate(0x1000, 0x20);
  cache.release_retired();
  EXPECT_FALSE(cache.is_code(0x1000)); // no block left: the page is data again
}

struct Outcome {
  uint64_t rbx, count, decoded, translated;
};

Outcome run_to_port_80(const std::string& source, bool translate) {
  EmuMachine m(Mode::kLong64, 16 << 20, translate);
  m.load(source);
  const Exit& e = run_past_kicks(m.engine);
  EXPECT_EQ(e.reason, ExitReason::kIo) << e.detail;
  return {m.state().gpr[kRbx], *m.engine.instruction_count(), m.engine.decoded_blocks(),
          m.engine.translated_blocks()};
}

// The loop's stores go to the bytes after its code, in its page: its blocks are decoded once and
// run translated.
TEST(EmuCodeCache, StoresNextToAHotLoopKeepIt) {
  const std::string source = R"(
  mov ecx, 5000
  xor ebx, ebx
top:
  mov [rel counter], ecx
  add dword [rel total], ecx
  mov ebx, [rel total]
  dec ecx
  jnz top
  out 0x80, al
  align 16
counter: dd 0
total: dd 0
)";
  const Outcome interpreted = run_to_port_80(source, false);
  const Outcome translated = run_to_port_80(source, true);
  EXPECT_EQ(interpreted.rbx, 5000u * 5001u / 2);
  EXPECT_EQ(translated.rbx, interpreted.rbx);
  EXPECT_EQ(translated.count, interpreted.count);
  EXPECT_LE(interpreted.decoded, 4u);
  EXPECT_LE(translated.decoded, 4u);
  EXPECT_GE(translated.translated, 1u);
  EXPECT_LE(translated.translated, 4u);
}

// The loop patches the immediate of a routine in its own page before each call: the routine is
// decoded again each time and runs the new immediate, the loop's own blocks stay.
TEST(EmuCodeCache, StoresIntoCodeRunTheNewCode) {
  const std::string source = R"(
  mov ecx, 300
  xor ebx, ebx
top:
  mov [rel patch + 1], ecx
  call routine
  dec ecx
  jnz top
  out 0x80, al
routine:
patch:
  mov eax, 0x11111111
  add ebx, eax
  ret
)";
  const Outcome interpreted = run_to_port_80(source, false);
  const Outcome translated = run_to_port_80(source, true);
  EXPECT_EQ(interpreted.rbx, 300u * 301u / 2);
  EXPECT_EQ(translated.rbx, interpreted.rbx);
  EXPECT_EQ(translated.count, interpreted.count);
  for (const Outcome& o : {interpreted, translated}) {
    EXPECT_GE(o.decoded, 300u); // the routine, once per call
    EXPECT_LE(o.decoded, 306u);
  }
}

} // namespace
} // namespace rrvm::test
