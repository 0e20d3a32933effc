// Decoded-code cache: blocks of decoded instructions keyed by the guest-physical address of their
// first byte and the code size, never spanning a page, dropped when the guest (or anyone through
// invalidate()) writes one of the bytes they were decoded from.
#pragma once

#include <Zydis/Zydis.h>

#include <array>
#include <bitset>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "vmm/emu/insn.h"
#include "vmm/guest_memory.h"

namespace rrvm::emu {

class Cpu;

// Host code running a whole block (vmm/emu/jit/); true when an instruction raised an exception
// the translator holds.
using TranslatedBlock = bool (*)(Cpu*);

struct Block {
  uint64_t key;
  std::vector<Insn> insns;
  uint16_t bytes = 0; // from its first byte, the bytes whose change may change the decoding
  TranslatedBlock translation = nullptr;
  uint32_t runs = 0; // times the translator was offered it untranslated (Translator::run)
  // The last blocks run after this one (CodeCache::successor), valid while the cache's
  // generation is `successor_generation`.
  std::array<Block*, 2> successors{};
  uint64_t successor_generation = 0;
  uint8_t next_successor = 0; // the slot the next new successor replaces
};

class CodeCache {
public:
  CodeCache(Cpu& cpu, uint64_t ram_size);

  // The block starting at guest-physical `phys`, whose page is readable at `host` up to its end;
  // decodes it on first use. nullptr when the first instruction crosses into the next page (the
  // caller decodes that one uncached, since the next page's mapping is not part of the key).
  Block* block(uint64_t phys, const uint8_t* host, unsigned bits);
  // block(), for the block run after `prev`: remembered in `prev`, so that following the same edge
  // again costs no lookup.
  Block* successor(Block& prev, uint64_t phys, const uint8_t* host, unsigned bits);

  bool is_code(uint64_t page) const { return pages_[page >> 12] != nullptr; }
  void on_write(uint64_t gpa, unsigned size) {
    if (pages_[gpa >> 12] || pages_[(gpa + size - 1) >> 12]) invalidate(gpa, size);
  }
  // Drops the blocks decoded from any byte of [gpa, gpa+length); writes to the other bytes of
  // their pages (data next to code) keep them.
  void invalidate(uint64_t gpa, uint64_t length);
  void clear();
  // Forgets every translation (the translator's code buffer starts over).
  void drop_translations();
  // Frees blocks invalidated while they may have been executing.
  void release_retired() { retired_.clear(); }

  // Decodes one instruction; false when `n` bytes are not enough.
  bool decode(const uint8_t* bytes, size_t n, unsigned bits, Insn& out);

  // Blocks decoded so far (for tests and statistics).
  uint64_t decoded_blocks() const { return decoded_; }

private:
  static size_t slot(uint64_t key) { return (key ^ (key >> 12)) & (kFastSize - 1); }
  static uint64_t key_of(uint64_t phys, unsigned bits);
  static constexpr size_t kFastSize = 4096;
  // A page holding live blocks: which of its bytes they were decoded from, so that a write is
  // checked against the code without looking at the blocks.
  struct CodePage {
    std::bitset<kPageSize> code;
    std::vector<Block*> blocks;
  };
  void retire(Block* b);
  Cpu& cpu_;
  ZydisDecoder decoders_[3];
  std::vector<std::unique_ptr<CodePage>> pages_; // by physical page number; null: no code
  std::unordered_map<uint64_t, std::unique_ptr<Block>> blocks_;
  std::vector<std::unique_ptr<Block>> retired_;
  std::array<Block*, kFastSize> fast_{};
  // Advances whenever blocks are retired: remembered successors of an older generation may be
  // freed.
  uint64_t generation_ = 1;
  uint64_t decoded_ = 0;
};

} // namespace rrvm::emu
