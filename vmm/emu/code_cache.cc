#include "vmm/emu/code_cache.h"

#include <sys/mman.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "vmm/emu/cpu.h"
#include "vmm/emu/handlers.h"
#include "vmm/error.h"

namespace rrvm::emu {

namespace {

int gpr_number(ZydisRegister r, bool* high) {
  *high = false;
  switch (ZydisRegisterGetClass(r)) {
  case ZYDIS_REGCLASS_GPR8:
    if (r >= ZYDIS_REGISTER_AH && r <= ZYDIS_REGISTER_BH) {
      *high = true;
      return r - ZYDIS_REGISTER_AH;
    }
    if (r <= ZYDIS_REGISTER_BL) return r - ZYDIS_REGISTER_AL;
    if (r <= ZYDIS_REGISTER_DIL) return r - ZYDIS_REGISTER_SPL + 4;
    return r - ZYDIS_REGISTER_R8B + 8;
  case ZYDIS_REGCLASS_GPR16:
    return r - ZYDIS_REGISTER_AX;
  case ZYDIS_REGCLASS_GPR32:
    return r - ZYDIS_REGISTER_EAX;
  case ZYDIS_REGCLASS_GPR64:
    return r - ZYDIS_REGISTER_RAX;
  default:
    return -1;
  }
}

// False when the operand is of a kind the engine does not model (SIMD, mask registers…).
bool convert(const ZydisDecodedOperand& zo, Operand& o, Insn& in) {
  o.size = uint8_t(zo.size / 8);
  switch (zo.type) {
  case ZYDIS_OPERAND_TYPE_REGISTER: {
    const ZydisRegister r = zo.reg.value;
    bool high;
    int n = gpr_number(r, &high);
    if (n >= 0) {
      o.kind = OpKind::kReg;
      o.reg = uint8_t(n);
      o.high = high;
      return true;
    }
    switch (ZydisRegisterGetClass(r)) {
    case ZYDIS_REGCLASS_SEGMENT:
      o.kind = OpKind::kSreg;
      o.reg = uint8_t(r - ZYDIS_REGISTER_ES);
      return true;
    case ZYDIS_REGCLASS_CONTROL:
      o.kind = OpKind::kCr;
      o.reg = uint8_t(r - ZYDIS_REGISTER_CR0);
      return true;
    case ZYDIS_REGCLASS_DEBUG:
      o.kind = OpKind::kDr;
      o.reg = uint8_t(r - ZYDIS_REGISTER_DR0);
      return true;
    case ZYDIS_REGCLASS_X87: // select_x87 reads the stack register from the ModRM byte
      return true;
    default:
      return false;
    }
  }
  case ZYDIS_OPERAND_TYPE_MEMORY: {
    if (zo.mem.type != ZYDIS_MEMOP_TYPE_MEM && zo.mem.type != ZYDIS_MEMOP_TYPE_AGEN) return false;
    o.kind = OpKind::kMem;
    o.seg = zo.mem.segment >= ZYDIS_REGISTER_ES && zo.mem.segment <= ZYDIS_REGISTER_GS
                ? uint8_t(zo.mem.segment - ZYDIS_REGISTER_ES)
                : uint8_t(kDS);
    bool high;
    if (zo.mem.base == ZYDIS_REGISTER_RIP || zo.mem.base == ZYDIS_REGISTER_EIP) {
      o.base = kRipBase;
    } else if (zo.mem.base != ZYDIS_REGISTER_NONE) {
      int n = gpr_number(zo.mem.base, &high);
      if (n < 0) return false;
      o.base = int8_t(n);
    }
    if (zo.mem.index != ZYDIS_REGISTER_NONE) {
      int n = gpr_number(zo.mem.index, &high);
      if (n < 0) return false;
      o.index = int8_t(n);
      o.scale = uint8_t(zo.mem.scale == 8 ? 3 : zo.mem.scale == 4 ? 2 : zo.mem.scale == 2 ? 1 : 0);
    }
    o.disp = zo.mem.disp.value;
    return true;
  }
  case ZYDIS_OPERAND_TYPE_IMMEDIATE:
    o.kind = OpKind::kImm;
    o.disp = zo.imm.is_signed ? zo.imm.value.s : int64_t(zo.imm.value.u);
    return true;
  case ZYDIS_OPERAND_TYPE_POINTER:
    o.kind = OpKind::kImm;
    o.disp = zo.ptr.offset;
    in.extra = zo.ptr.segment;
    return true;
  default:
    return false;
  }
}

// The bytes of physical page `ppn` that `b` was decoded from, as [from, to).
std::pair<size_t, size_t> bytes_in(const Block& b, uint64_t ppn) {
  if (b.phys() >> 12 != ppn) return {0, b.second_bytes};
  const size_t from = b.phys() & (kPageSize - 1);
  return {from, from + b.bytes};
}

} // namespace

void CodeCache::mark_bytes(CodePage& page, const Block& b, uint64_t ppn) {
  const auto [from, to] = bytes_in(b, ppn);
  for (size_t i = from; i < to; ++i)
    page.code.set(i);
}

namespace {

UniqueMapping map_fast_table() {
  constexpr size_t kBytes = CodeCache::kFastSize * sizeof(CodeCache::FastSlot);
  void* p = ::mmap(nullptr, kBytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    throw Error(ExitCode::kInternal,
                std::string("cannot map the code cache's table: ") + std::strerror(errno));
  return UniqueMapping(p, kBytes);
}

} // namespace

CodeCache::CodeCache(Cpu& cpu, uint64_t ram_size)
    : cpu_(cpu), pages_((ram_size + kPageSize - 1) / kPageSize + 1),
      fast_mapping_(map_fast_table()), fast_(static_cast<FastSlot*>(fast_mapping_.get())) {
  decoding_.reserve(kMaxBlockInsns);
  const ZydisMachineMode modes[3] = {ZYDIS_MACHINE_MODE_LEGACY_16, ZYDIS_MACHINE_MODE_LEGACY_32,
                                     ZYDIS_MACHINE_MODE_LONG_64};
  const ZydisStackWidth widths[3] = {ZYDIS_STACK_WIDTH_16, ZYDIS_STACK_WIDTH_32,
                                     ZYDIS_STACK_WIDTH_64};
  for (int i = 0; i < 3; ++i) {
    ZydisDecoderInit(&decoders_[i], modes[i], widths[i]);
    // The emulated CPUID has no LZCNT/TZCNT, so F3 0F BC/BD are BSF/BSR as on such CPUs.
    ZydisDecoderEnableMode(&decoders_[i], ZYDIS_DECODER_MODE_LZCNT, ZYAN_FALSE);
    ZydisDecoderEnableMode(&decoders_[i], ZYDIS_DECODER_MODE_TZCNT, ZYAN_FALSE);
  }
}

bool CodeCache::decode(const uint8_t* bytes, size_t n, unsigned bits, Insn& in) {
  ZydisDecodedInstruction zi;
  ZydisDecodedOperand ops[ZYDIS_MAX_OPERAND_COUNT];
  ZyanStatus st = ZydisDecoderDecodeFull(&decoders_[mode_index(bits)], bytes, n, &zi, ops);
  in = Insn{};
  if (st == ZYDIS_STATUS_NO_MORE_DATA) return false;
  if (!ZYAN_SUCCESS(st)) {
    // Fifteen bytes are always enough; anything else is an invalid encoding.
    if (n < 15) return false;
    in.len = 1;
    in.fn = invalid_opcode;
    in.ends_block = true;
    return true;
  }
  in.len = zi.length;
  in.mnemonic = uint16_t(zi.mnemonic);
  in.osize = uint8_t(zi.operand_width / 8);
  in.asize = uint8_t(zi.address_width / 8);
  bool ok = zi.encoding == ZYDIS_INSTRUCTION_ENCODING_LEGACY && zi.operand_count_visible <= 3;
  for (unsigned i = 0; ok && i < zi.operand_count_visible; ++i)
    ok = convert(ops[i], in.op[i], in);
  Handler h = select_simd(zi, ops, in, convert);
  if (!h && ok) {
    h = select_alu(zi, in);
    if (!h) h = select_data(zi, in);
    if (!h) h = select_string(zi, in);
    if (!h) h = select_control(zi, in);
    if (!h) h = select_x87(zi, in);
    if (!h) h = select_system(zi, in);
  }
  if (!h) {
    h = not_implemented;
    in.ends_block = true;
  }
  in.fn = h;
  return true;
}

Block* CodeCache::block(uint64_t la, uint64_t phys, const uint8_t* host, unsigned bits) {
  const uint64_t key = key_of(phys, bits);
  FastSlot& fast = fast_[slot(key)];
  Block* found = fast.key == key ? fast.block : nullptr;
  if (!found && (found = blocks_.find(key))) fast = fast_slot_of(*found);
  if (found) {
    // A block decoded into a next page the TLB now maps elsewhere is decoded again.
    uint64_t now;
    if (!found->spans() || !cpu_.next_code_page(la, &now) || now == found->second_page)
      return found;
    retire(found, Block::kNoPage);
  }
  auto b = std::make_unique<Block>();
  b->key = key;
  const size_t avail = kPageSize - (phys & (kPageSize - 1));
  const uint8_t* next = nullptr; // the next linear page, once the block reaches it
  uint64_t next_page = 0;
  auto reach_next = [&] {
    if (!next) next = cpu_.next_code_page(la, &next_page);
    // A page mapped twice in a row would be both pages of the block: stop before it.
    if (next && next_page == (phys & ~(kPageSize - 1))) next = nullptr;
    return next != nullptr;
  };
  // Decoded into a buffer kept between blocks, then copied once: the block's own vector, grown
  // instruction by instruction, was reallocated up to seven times.
  std::vector<Insn>& insns = decoding_;
  insns.clear();
  size_t off = 0, covered = 0;
  while (insns.size() < kMaxBlockInsns) {
    Insn in;
    if (off < avail) {
      if (!decode(host + off, avail - off, bits, in)) {
        // The instruction crosses the page end: decoded from both pages' bytes.
        if (!reach_next()) break;
        uint8_t window[15];
        const size_t head = avail - off;
        std::memcpy(window, host + off, head);
        std::memcpy(window + head, next, sizeof window - head);
        decode(window, sizeof window, bits, in); // fifteen bytes always decode
      }
    } else if (off - avail >= kPageSize || !reach_next() ||
               !decode(next + (off - avail), kPageSize - (off - avail), bits, in)) {
      break; // blocks end where a third page would begin
    }
    if (off + in.len <= avail) ++b->first_page_insns;
    insns.push_back(in);
    // An invalid encoding was judged on up to 15 bytes, any of which may make it valid.
    const size_t judged = in.fn == invalid_opcode && in.len == 1 ? 15 : in.len;
    covered = std::max(covered, std::min(off + judged, avail + (next ? kPageSize : 0)));
    off += in.len;
    if (in.ends_block) break;
  }
  if (insns.empty()) return nullptr;
  b->insns.assign(insns.begin(), insns.end());
  b->bytes = uint16_t(std::min(covered, avail));
  if (covered > avail) {
    b->second_page = next_page;
    b->second_bytes = uint16_t(covered - avail);
    add(*b, next_page >> 12);
  }
  add(*b, phys >> 12);
  ++decoded_;
  Block* const made = b.get();
  fast = fast_slot_of(*made);
  blocks_.insert(key, std::move(b));
  return made;
}

void CodeCache::add(Block& b, uint64_t ppn) {
  std::unique_ptr<CodePage>& page = pages_[ppn];
  if (!page) {
    page = std::make_unique<CodePage>();
    cpu_.protect_code_page(ppn);
  }
  mark_bytes(*page, b, ppn);
  page->blocks.push_back(&b);
}

void CodeCache::rebuild(uint64_t ppn) {
  std::unique_ptr<CodePage>& page = pages_[ppn];
  if (page->blocks.empty()) {
    page.reset();
    return;
  }
  page->code.reset();
  for (const Block* b : page->blocks)
    mark_bytes(*page, *b, ppn);
}

void CodeCache::empty_slot_of(const Block& b) {
  if (FastSlot& fast = fast_[slot(b.key)]; fast.block == &b) fast = {};
}

void CodeCache::retire(Block* b, uint64_t skip) {
  for (uint64_t page : {b->phys() & ~(kPageSize - 1), b->second_page}) {
    if (page == Block::kNoPage || page >> 12 == skip) continue;
    std::erase(pages_[page >> 12]->blocks, b);
    rebuild(page >> 12);
  }
  empty_slot_of(*b);
  retired_.push_back(blocks_.remove(b->key));
  cpu_.fetch_changed(); // exit links may lead to its code
}

void CodeCache::invalidate(uint64_t gpa, uint64_t length) {
  const uint64_t end = gpa + length;
  for (uint64_t at = gpa; at < end && (at >> 12) < pages_.size(); at = (at | (kPageSize - 1)) + 1) {
    const uint64_t ppn = at >> 12;
    CodePage* page = pages_[ppn].get();
    if (!page) continue;
    const size_t lo = at & (kPageSize - 1), hi = std::min<uint64_t>(kPageSize, lo + (end - at));
    size_t i = lo;
    while (i < hi && !page->code[i])
      ++i;
    if (i == hi) continue; // data next to the code
    std::vector<Block*> written;
    std::erase_if(page->blocks, [&](Block* b) {
      const auto [from, to] = bytes_in(*b, ppn);
      if (from >= hi || lo >= to) return false;
      written.push_back(b);
      return true;
    });
    rebuild(ppn);
    for (Block* b : written)
      retire(b, ppn);
    // The running block may be one of them: stop after the current instruction.
    cpu_.stop = true;
  }
}

void CodeCache::clear() {
  cpu_.fetch_changed();
  blocks_.for_each([this](uint64_t, std::unique_ptr<Block>& b) {
    // Slots hold only live blocks: emptying theirs empties the table, and touches no more of it
    // than the guest's code did.
    empty_slot_of(*b);
    retired_.push_back(std::move(b));
  });
  blocks_.clear();
  for (auto& page : pages_)
    page.reset();
}

void CodeCache::set_translation(Block& b, TranslatedBlock t) {
  b.translation = t;
  if (FastSlot& fast = fast_[slot(b.key)]; fast.block == &b) fast = fast_slot_of(b);
}

void CodeCache::drop_translations() {
  blocks_.for_each([this](uint64_t key, std::unique_ptr<Block>& b) {
    b->translation = nullptr;
    if (FastSlot& fast = fast_[slot(key)]; fast.block == b.get())
      fast.one_page_translation = nullptr;
  });
  for (auto& b : retired_)
    b->translation = nullptr;
}

} // namespace rrvm::emu
