// Where a translated block's exit last went: the translation it may jump to directly while
// everything the lookup that made it saw is unchanged (Cpu::fetch_epoch: the code page's mapping,
// the mode, no block retired since).
#pragma once

#include <cstdint>

#include "vmm/emu/code_cache.h"

namespace rrvm::emu {

struct ExitLink {
  uint64_t linear = 0; // CS's linear address of the next RIP
  uint64_t epoch = 0;  // Cpu::fetch_epoch when linked; 0 is never current
  uint64_t insns = 0;  // the target block's length, for the limit check
  TranslatedBlock target = nullptr;
};

} // namespace rrvm::emu
