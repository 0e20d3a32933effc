// Decoded-code cache: blocks of decoded instructions keyed by the guest-physical address of their
// first byte and the code size, continuing into the next linear page when the TLB maps it, dropped
// when the guest (or anyone through invalidate()) writes one of the bytes they were decoded from.
#pragma once

#include <Zydis/Zydis.h>

#include <bitset>
#include <cstdint>
#include <memory>
#include <vector>

#include "vmm/emu/block_table.h"
#include "vmm/emu/insn.h"
#include "vmm/guest_memory.h"
#include "vmm/unique_fd.h"

namespace rrvm::emu {

class Cpu;

// Host code running a whole block (vmm/emu/jit/); true when an instruction raised an exception
// the translator holds.
using TranslatedBlock = bool (*)(Cpu*);

struct Block {
  // A block's key: its first byte's physical address, its mode in the top two bits
  // (CodeCache::key_of).
  static constexpr unsigned kModeShift = 62;
  uint64_t key;
  std::vector<Insn> insns;
  uint16_t bytes = 0; // from its first byte, the bytes whose change may change the decoding
  // A block may continue into the next linear page (the instruction crossing there included). It
  // was decoded with that page mapped to physical `second_page`, and runs past its first
  // `first_page_insns` instructions only while the TLB still maps it so (Cpu::next_page_maps):
  // otherwise the instructions from the crossing one on are fetched again.
  static constexpr uint64_t kNoPage = ~0ull;
  uint64_t second_page = kNoPage;
  uint16_t second_bytes = 0; // the bytes it was decoded from there, from the page's start
  uint8_t first_page_insns = 0;
  bool spans() const { return second_page != kNoPage; }
  uint64_t phys() const { return key & ((1ull << kModeShift) - 1); }
  TranslatedBlock translation = nullptr; // CodeCache::set_translation()
  uint32_t runs = 0; // times the translator was offered it untranslated (Translator::run)
};

class CodeCache {
public:
  CodeCache(Cpu& cpu, uint64_t ram_size);

  // The block starting at linear `la`, guest-physical `phys`, whose page is readable at `host` up
  // to its end; decodes it on first use, into the next linear page when the TLB holds an
  // executable translation of it (nothing is walked). nullptr when the first instruction crosses
  // into a next page the TLB does not map (the caller fetches that one through the page tables).
  Block* block(uint64_t la, uint64_t phys, const uint8_t* host, unsigned bits);

  bool is_code(uint64_t page) const { return pages_[page >> 12] != nullptr; }
  void on_write(uint64_t gpa, unsigned size) {
    if (pages_[gpa >> 12] || pages_[(gpa + size - 1) >> 12]) invalidate(gpa, size);
  }
  // Drops the blocks decoded from any byte of [gpa, gpa+length); writes to the other bytes of
  // their pages (data next to code) keep them.
  void invalidate(uint64_t gpa, uint64_t length);
  void clear();
  // The block's translation is `t` (its fast slot's too).
  void set_translation(Block& b, TranslatedBlock t);
  // Forgets every translation (the translator's code buffer starts over).
  void drop_translations();
  // Frees blocks invalidated while they may have been executing.
  void release_retired() { retired_.clear(); }

  // Decodes one instruction; false when `n` bytes are not enough.
  bool decode(const uint8_t* bytes, size_t n, unsigned bits, Insn& out);

  // Blocks decoded so far (for tests and statistics).
  uint64_t decoded_blocks() const { return decoded_; }

  // The most instructions a block holds.
  static constexpr size_t kMaxBlockInsns = 64;

  // The code size's mode: 16, 32, 64-bit code are 0, 1, 2.
  static constexpr unsigned mode_index(unsigned bits) {
    return bits == 16 ? 0 : bits == 32 ? 1 : 2;
  }
  static constexpr uint64_t key_of(uint64_t phys, unsigned bits) {
    return phys | uint64_t(mode_index(bits)) << Block::kModeShift;
  }
  // The direct-mapped table in front of the blocks: large enough for a Linux boot's hot code, its
  // keys inline so that a miss costs no visit to a block. Translated code probes it inline (the
  // jump through an exit whose link misses) and finds its answer in the slot, the translation of
  // a block that lies in one page, without a visit to the block either; a slot only ever holds a
  // live block. On Debian's kernel booting to user space, 2^14 slots left 32 % of block()'s calls
  // to the map below (the boot 2 % slower), 2^16 10 %, 2^17 5 %.
  static constexpr size_t kFastSize = 1 << 16;
  static constexpr unsigned kFastHashShift = 16;
  static size_t slot(uint64_t key) { return (key ^ (key >> kFastHashShift)) & (kFastSize - 1); }
  // All zero is an empty slot (key 0 is a block's too, but the null block and translation make
  // it a miss): the table is mapped zero-filled, and only the pages a guest's code reaches are
  // ever touched.
  struct FastSlot {
    uint64_t key = 0;
    Block* block = nullptr;
    TranslatedBlock one_page_translation = nullptr; // the block's, unless it spans two pages
    uint64_t insns = 0; // the block's length, for an exit link made from the slot
  };
  static FastSlot fast_slot_of(Block& b) {
    return {b.key, &b, b.spans() ? nullptr : b.translation, b.insns.size()};
  }
  const FastSlot* fast_table() const { return fast_; }

private:
  // The table's first room. It doubles as code is decoded (Debian's kernel booting to user space
  // keeps 32-64 K blocks live: 6 times, moving 63 K entries in all); room for a boot from the
  // start (2 MB, zeroed) cost a short guest 0.6 ms.
  static constexpr size_t kExpectedBlocks = 1 << 10;
  // A page holding live blocks: which of its bytes they were decoded from, so that a write is
  // checked against the code without looking at the blocks.
  struct CodePage {
    std::bitset<kPageSize> code;
    std::vector<Block*> blocks;
  };
  // Takes `b` out of the cache (and out of its pages' lists, but page `skip`'s, which the caller
  // edits); release_retired() frees it.
  void retire(Block* b, uint64_t skip);
  // Empties the table's slot for `b` if it holds `b`.
  void empty_slot_of(const Block& b);
  // Makes physical page `ppn` hold `b`.
  void add(Block& b, uint64_t ppn);
  static void mark_bytes(CodePage& page, const Block& b, uint64_t ppn);
  // Recomputes the page's bitmap from its blocks; a page left without blocks is data again.
  void rebuild(uint64_t ppn);
  Cpu& cpu_;
  ZydisDecoder decoders_[3];
  std::vector<std::unique_ptr<CodePage>> pages_; // by physical page number; null: no code
  BlockTable<Block> blocks_{kExpectedBlocks};
  std::vector<std::unique_ptr<Block>> retired_;
  UniqueMapping fast_mapping_;
  FastSlot* fast_; // kFastSize slots in fast_mapping_, at an address translated code holds
  std::vector<Insn> decoding_; // block()'s instructions as it decodes them
  uint64_t decoded_ = 0;
};

} // namespace rrvm::emu
