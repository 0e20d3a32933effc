// Where a translated block's exit last went: the translation it may jump to directly while
// everything the lookup that made it saw is unchanged (Cpu::fetch_epoch: CS's base and the
// linear mask, so RIP's linear address, the code page's mapping, the mode, no block retired).
#pragma once

#include <cstdint>

namespace rrvm::emu {

struct ExitLink {
  uint64_t rip = 0;
  uint64_t epoch = 0;            // Cpu::fetch_epoch when linked; 0 is never current
  uint64_t insns = 0;            // the target block's length, for the limit check
  const uint8_t* body = nullptr; // the target translation's body (kBodyEntry)
};

} // namespace rrvm::emu
