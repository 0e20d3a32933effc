// Decoded-code cache: blocks of decoded instructions keyed by the guest-physical address of their
// first byte and the code size, never spanning a page, dropped when the guest (or anyone through
// invalidate()) writes a page they were decoded from.
#pragma once

#include <Zydis/Zydis.h>

#include <array>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "vmm/emu/insn.h"

namespace rrvm::emu {

class Cpu;

// Host code running a whole block (vmm/emu/jit/); true when an instruction raised an exception
// the translator holds.
using TranslatedBlock = bool (*)(Cpu*);

struct Block {
  uint64_t key;
  std::vector<Insn> insns;
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

  bool is_code(uint64_t page) const { return code_pages_[page >> 12]; }
  void on_write(uint64_t gpa, unsigned size) {
    if (code_pages_[gpa >> 12] | code_pages_[(gpa + size - 1) >> 12]) invalidate(gpa, size);
  }
  void invalidate(uint64_t gpa, uint64_t length);
  void clear();
  // Forgets every translation (the translator's code buffer starts over).
  void drop_translations();
  // Frees blocks invalidated while they may have been executing.
  void release_retired() { retired_.clear(); }
  // Advances whenever a block is retired (translated code compares it to keep direct links).
  const uint64_t* generation() const { return &generation_; }

  // Decodes one instruction; false when `n` bytes are not enough.
  bool decode(const uint8_t* bytes, size_t n, unsigned bits, Insn& out);

private:
  static size_t slot(uint64_t key) { return (key ^ (key >> 12)) & (kFastSize - 1); }
  static uint64_t key_of(uint64_t phys, unsigned bits);
  static constexpr size_t kFastSize = 4096;
  Cpu& cpu_;
  ZydisDecoder decoders_[3];
  std::vector<uint8_t> code_pages_;
  std::unordered_map<uint64_t, std::unique_ptr<Block>> blocks_;
  std::unordered_map<uint64_t, std::vector<uint64_t>> page_blocks_;
  std::vector<std::unique_ptr<Block>> retired_;
  std::array<Block*, kFastSize> fast_{};
  // Advances whenever blocks are retired: remembered successors of an older generation may be
  // freed.
  uint64_t generation_ = 1;
};

} // namespace rrvm::emu
