// Where a translated block's exit last went: the translation it may jump to directly while
// everything next_translation() looked up is unchanged (the code page's mapping, the mode and no
// block retired since).
#pragma once

#include <cstdint>

#include "vmm/emu/code_cache.h"

namespace rrvm::emu {

struct ExitLink {
  uint64_t linear = 0;     // CS's linear address of the next RIP
  uint64_t generation = 0; // CodeCache::generation() when linked; 0 is never current
  uint64_t ppn = 0;        // the physical page the TLB mapped `linear` to
  uint64_t insns = 0;      // the target block's length, for the limit check
  TranslatedBlock target = nullptr;
  uint32_t code_bits = 0;
};

} // namespace rrvm::emu
