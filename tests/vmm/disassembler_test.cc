// One-instruction disassembly for failure messages and `rrvm dump`: the same bytes read as each
// code size, what does not decode, and a size no x86 mode has.
#include "vmm/disassembler.h"

#include <array>
#include <gtest/gtest.h>

namespace rrvm {
namespace {

TEST(Disassembler, DecodesTheBytesAsTheGivenCodeSize) {
  // 8b 43 08: a load through rbx, ebx or bp+di by code size.
  const std::array<uint8_t, 3> load{0x8b, 0x43, 0x08};
  EXPECT_EQ(disassemble_one(load, 64, 0x1000), "mov eax, [rbx+0x08]");
  EXPECT_EQ(disassemble_one(load, 32, 0x1000), "mov eax, [ebx+0x08]");
  EXPECT_EQ(disassemble_one(load, 16, 0x1000), "mov ax, [bp+di*1+0x08]");
}

TEST(Disassembler, AJumpShowsItsTargetFromTheAddress) {
  const std::array<uint8_t, 2> jump{0xeb, 0xfe}; // jmp to itself
  EXPECT_EQ(disassemble_one(jump, 64, 0x7c00), "jmp 0x0000000000007C00");
}

TEST(Disassembler, BytesThatDoNotDecodeAreBad) {
  const std::array<uint8_t, 2> truncated{0x0f, 0x01};
  EXPECT_EQ(disassemble_one(truncated, 64, 0), "(bad)");
  EXPECT_EQ(disassemble_one({}, 64, 0), "(bad)");
}

TEST(Disassembler, AnotherCodeSizeGivesNothing) {
  const std::array<uint8_t, 1> hlt{0xf4};
  EXPECT_EQ(disassemble_one(hlt, 64, 0), "hlt");
  EXPECT_EQ(disassemble_one(hlt, 8, 0), std::nullopt);
}

} // namespace
} // namespace rrvm
