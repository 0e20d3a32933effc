// A long-mode machine whose linear 0x400000-0x5fffff is mapped in 4 KiB pages (table at 0x5000):
// 0x400000 maps physical kPage1, 0x401000 maps kPageA, and kPageB is room for a second version
// of that page. For tests of code reaching into a next page that can be remapped.
#pragma once

#include <string>
#include <vector>

#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {

struct TwoPageMachine {
  static constexpr uint64_t kTable = 0x5000;
  static constexpr uint64_t kPage1 = 0x600000, kPageA = 0x601000, kPageB = 0x602000;
  static constexpr uint64_t kPte = 7; // present, writable, user

  explicit TwoPageMachine(bool translate) : m(Mode::kLong64, 16 << 20, translate) {
    m.memory.store<uint64_t>(0x3000 + 8 * 2, kTable | kPte); // the PD entry of 0x400000
    m.memory.store<uint64_t>(kTable, kPage1 | kPte);
    m.memory.store<uint64_t>(kTable + 8, kPageA | kPte);
  }
  // Assembles `source` at linear 0x400000 + `offset`, into physical `page` + offset % 4096.
  void place(const std::string& source, uint64_t offset, uint64_t page = kPage1) {
    const std::vector<uint8_t> code = assemble(source, 64, 0x400000 + offset);
    m.memory.write(page + offset % 0x1000, code);
  }
  EmuMachine m;
};

} // namespace rrvm::test
