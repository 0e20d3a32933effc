// The interpreter's CPU core: architectural state kept in the form the instruction handlers use
// fastest (lazy arithmetic flags, a software TLB, cached mode bits), plus the inline register,
// flag and memory accessors every handler calls. EmuEngine (emu_engine.h) drives it.
#pragma once

#include <atomic>
#include <bit>
#include <bitset>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "vmm/clock_line.h"
#include "vmm/cpu_state.h"
#include "vmm/cpuid_table.h"
#include "vmm/emu/insn.h"
#include "vmm/engine.h"
#include "vmm/guest_memory.h"
#include "vmm/hex_text.h"
#include "vmm/state_buffer.h"
#include "vmm/x86/descriptors.h"
#include "vmm/x86/exceptions.h"

namespace rrvm::emu {

// A guest exception raised by an instruction; it unwinds out of the handler before anything of the
// faulting instruction is committed (handlers read and check everything before writing).
struct GuestFault {
  uint8_t vector;
  uint32_t error = 0;
};

// Stops the run without retiring the current instruction; `Cpu::exit` says why. Used for MMIO
// reads (the instruction is executed again with the value the machine supplied), for reads an
// event delivery makes, and for instructions the engine cannot run. Port reads and the MSRs the
// machine answers stop without it (Cpu::unretired): unwinding costs microseconds per exit.
struct StopRun {};

namespace vec = x86::vec;
namespace seg_type = x86::segment_type;
namespace sys_type = x86::system_type;

// Segment register numbers as the ModRM sreg field encodes them.
enum SegReg : uint8_t { kES, kCS, kSS, kDS, kFS, kGS };

// Flag bits that the lazy flags machinery computes.
constexpr uint64_t kArithFlags =
    rflags::kCF | rflags::kPF | rflags::kAF | rflags::kZF | rflags::kSF | rflags::kOF;

// How the arithmetic flags derive from the last result. Operands and result are zero-extended to
// 64 bits; `bits` is the operation width.
enum class FlagOp : uint8_t { kNone, kAdd, kSub, kLogic, kInc, kDec };

struct LazyFlags {
  uint64_t a = 0, b = 0, r = 0;
  FlagOp op = FlagOp::kNone;
  uint8_t bits = 32;
};

// TLB permission bits; an entry grants only what the guest's page tables allow.
namespace perm {
constexpr uint8_t kReadS = 1, kWriteS = 2, kExecS = 4, kReadU = 8, kWriteU = 16, kExecU = 32;
} // namespace perm

// What the software TLB knows of one linear page beyond the fast paths' tags (Cpu::tlb_tags):
// where the walk mapped it and what that walk granted. 32 bytes, so the translator finds an
// entry by a shift.
struct alignas(32) TlbEntry {
  uint64_t vpn = ~0ull; // linear page number
  uint64_t ppn = 0;
  // What the walk the entry was cut from granted: the slow path uses the translation for these
  // without walking again, as a CPU would (a walk may set accessed and dirty bits).
  uint8_t granted = 0;
  bool global = false;     // cut from a G=1 mapping while CR4.PGE was set: survives CR3 writes
  uint8_t page_shift = 12; // the size of the page it was cut from, for INVLPG
};
static_assert(sizeof(TlbEntry) == 32);

struct DeviceInput { // the machine's answer to a port or MMIO read or an MSR access
  bool io = false;
  bool msr = false;     // rdmsr/wrmsr the machine answered: `address` is the MSR, `value` its value
  bool fault = false;   // msr: the machine refused it (#GP)
  uint64_t address = 0; // gpa or port
  uint8_t size = 0;
  uint64_t value = 0;
};

// The values the machine supplied for the reads that stopped earlier attempts at one instruction
// (and the event it raised): each attempt replays them in order, so an instruction or an event
// delivery that reads several device registers (a 16-byte IDT gate in MMIO, say) completes, and
// the first read past them stops the run again.
struct InputLog {
  static constexpr unsigned kCapacity = 8;
  DeviceInput entries[kCapacity];
  unsigned count = 0;
  unsigned next = 0;       // the next entry the current attempt reads
  uint64_t icount = ~0ull; // the instruction the entries belong to
  void clear() { count = next = 0; }
};

class CodeCache;

// A flat 4 GiB code or data segment, the shape SYSCALL/SYSRET/SYSENTER/SYSEXIT load.
Segment flat_segment(uint16_t selector, bool code, bool l, bool db, unsigned dpl);
// The unusable segment a null selector leaves in a segment register.
Segment null_segment(uint16_t selector, unsigned dpl);

class Cpu {
public:
  Cpu(GuestMemory& memory, CpuidTable cpuid);
  ~Cpu();
  Cpu(const Cpu&) = delete;
  Cpu& operator=(const Cpu&) = delete;

  // ---- architectural state ----
  uint64_t gpr[16] = {};
  uint64_t rip = 0xfff0;
  uint64_t next_rip = 0; // where the current instruction continues; branches overwrite it
  Segment seg[6];
  Segment ldtr, tr;
  DescriptorTable gdt, idt;
  uint64_t cr0 = cr0::kET, cr2 = 0, cr3 = 0, cr4 = 0, cr8 = 0, efer = 0;
  uint64_t dr[4] = {};
  uint64_t dr6 = 0xffff0ff0, dr7 = 0x400;
  MsrState msr;
  FpuState fpu; // x87 and SSE, in the exchange form; x87/SSE handlers work on it directly
  // (interrupt_shadow and halted are below, with the run control)
  uint64_t icount = 0;
  // RDTSC reads tsc_line.ns_at(icount) + tsc_offset (Engine::set_tsc_clock)
  ClockLine tsc_line;
  uint64_t tsc_offset = 0;

  // ---- cached mode ----
  unsigned cpl = 0;
  bool mode64 = false;       // 64-bit code segment in long mode
  unsigned code_bits = 16;   // 16, 32, 64
  uint64_t seg_base[6] = {}; // effective bases (0 for ES/CS/SS/DS in 64-bit mode)
  uint64_t lin_mask = 0xffffffff;
  uint8_t acc_read = perm::kReadS, acc_write = perm::kWriteS, acc_exec = perm::kExecS;
  // Bit s: data accesses through segment s need the protected-mode limit and type checks. Clear
  // in real and 64-bit mode and for flat writable data segments, which no access can violate, so
  // the common case costs one test.
  uint8_t seg_checked = 0;
  // CR0.AM and EFLAGS.AC at CPL 3: alignment is checked. Linux sets CR0.AM and leaves AC clear
  // in user space, whose accesses would all take the handler if AC were left to check_access.
  bool align_checked = false;
  // Bit s: a data access through segment s goes through check_access (seg_checked's bit s, or
  // align_checked), so the fast paths test one bit.
  uint8_t access_checks = 0;
  // Bit s: translated code's data accesses through segment s take the handler: access_checks'
  // bit s, or for ES, CS, SS and DS a base that is not 0 (the inline code adds the bases of FS
  // and GS alone, so that a flat segment's accesses cost one test).
  uint8_t inline_checks = 0;
  // The TLB tags (tlb_tags) of the accesses acc_read, acc_write and acc_exec make.
  const uint64_t* read_tags = nullptr;
  const uint64_t* write_tags = nullptr;
  const uint64_t* exec_tags = nullptr;
  // Advances whenever what a fetch finds may change: the mode, an executable TLB entry (its tags
  // or its page) or the code cache's blocks (one retired). Translated code that saw one value
  // (an exit link, a loop's iteration) knows, while it stays, that its code maps as it did then.
  uint64_t fetch_epoch = 1;
  void fetch_changed() { ++fetch_epoch; }
  void refresh_mode();
  // align_checked, access_checks and inline_checks, from CR0, the CPL, EFLAGS.AC and the segments.
  void refresh_access_checks();

  // ---- run control, shared with EmuEngine ----
  Exit exit;
  // Whatever ends a chain of translated blocks, side by side in one 8-byte word (padding
  // included) that translated code tests with one load (CpuLayout::run_flags).
  alignas(8) bool stop = false; // leave the block loop after the current instruction
  bool exit_pending = false;    // `exit` holds an exit to report once the instruction retires
  bool interrupt_shadow = false;
  bool halted = false;
  std::atomic<bool> kicked{false};
  bool unchained = true; // translated blocks may not chain now (Translator::set_chaining)
  uint8_t run_flags_padding[2] = {};
  // Set with `stop` by a handler that returns without retiring its instruction: `exit` asks the
  // machine for data (a port read, an MSR), and the instruction runs again with the answer. The
  // handler has changed nothing; the block loops leave RIP and the count on it.
  bool unretired = false;
  void stop_unretired() {
    unretired = true;
    stop = true;
  }
  // Set by a handler around its one device-readable load when nothing before it changed state
  // and it returns at once when the load leaves `unretired` set (RetryableRead): an MMIO read
  // with no value yet then stops the run as a port read does, without a C++ exception.
  bool mmio_read_unretires = false;
  uint64_t limit = ~0ull; // stop when icount reaches this
  InputLog inputs;
  // The value of a port (io) or MMIO read the machine supplied before; false when the run must
  // stop and ask for it.
  bool take_input(bool io, uint64_t address, unsigned size, uint64_t* value);
  // The machine's answer to an RDMSR/WRMSR of `index` (nullptr when the run must stop and ask).
  const DeviceInput* take_msr_input(uint32_t index);
  uint8_t io_buffer[8] = {};
  uint8_t mmio_buffer[8] = {};
  uint64_t msr_buffer = 0;
  bool msr_fault = false;
  std::vector<HwBreakpoint> watchpoints; // read/write/access kinds only
  std::optional<DebugEvent> watch_hit;

  // ---- flags ----
  uint64_t flags_raw = rflags::kFixed1; // non-arithmetic bits always; arithmetic when lazy is kNone
  LazyFlags lazy;

  uint64_t rflags() const { return lazy.op == FlagOp::kNone ? flags_raw : materialize(); }
  void set_rflags(uint64_t v) {
    const bool ac_changed = (flags_raw ^ v) & rflags::kAC;
    flags_raw = v | rflags::kFixed1;
    lazy.op = FlagOp::kNone;
    if (ac_changed) refresh_access_checks();
  }
  void commit_flags() {
    if (lazy.op != FlagOp::kNone) set_rflags(materialize());
  }
  // Replaces the arithmetic flags selected by `mask` with `bits`.
  void set_arith(uint64_t mask, uint64_t bits) {
    if (mask != kArithFlags) commit_flags();
    flags_raw = (flags_raw & ~mask) | (bits & mask);
    lazy.op = FlagOp::kNone;
  }
  template <typename T> void lazy_set(FlagOp op, uint64_t a, uint64_t b, T r) {
    lazy.a = a;
    lazy.b = b;
    lazy.r = r;
    lazy.op = op;
    lazy.bits = sizeof(T) * 8;
  }
  // INC/DEC keep CF; it is frozen into flags_raw before the lazy record replaces it.
  template <typename T> void lazy_incdec(FlagOp op, uint64_t a, T r) {
    bool c = cf();
    flags_raw = (flags_raw & ~rflags::kCF) | (c ? rflags::kCF : 0);
    lazy_set<T>(op, a, 1, r);
  }
  bool cf() const;
  bool zf() const { return lazy.op == FlagOp::kNone ? (flags_raw & rflags::kZF) : lazy.r == 0; }
  bool sf() const {
    return lazy.op == FlagOp::kNone ? (flags_raw & rflags::kSF) : (lazy.r >> (lazy.bits - 1)) & 1;
  }
  bool of() const;
  bool pf() const;
  bool df() const { return flags_raw & rflags::kDF; }
  bool cond(unsigned cc) const;
  uint64_t materialize() const;

  // ---- registers ----
  template <typename T> T reg(unsigned r, bool high = false) const {
    if constexpr (sizeof(T) == 1)
      return high ? T(gpr[r] >> 8) : T(gpr[r]);
    else
      return T(gpr[r]);
  }
  template <typename T> void set_reg(unsigned r, T v, bool high = false) {
    if constexpr (sizeof(T) == 1) {
      if (high)
        gpr[r] = (gpr[r] & ~0xff00ull) | (uint64_t(v) << 8);
      else
        gpr[r] = (gpr[r] & ~0xffull) | v;
    } else if constexpr (sizeof(T) == 2) {
      gpr[r] = (gpr[r] & ~0xffffull) | v;
    } else {
      gpr[r] = uint64_t(v); // 32-bit writes zero-extend
    }
  }
  template <typename T> T reg(const Operand& o) const { return reg<T>(o.reg, o.high); }
  template <typename T> void set_reg(const Operand& o, T v) { set_reg<T>(o.reg, v, o.high); }
  // Writes `v` of `bytes` size to a register with the x86 merge/zero-extend rules.
  void set_reg_sized(unsigned r, unsigned bytes, uint64_t v);

  // ---- addresses ----
  static uint64_t amask(unsigned asize) {
    return asize == 8 ? ~0ull : asize == 4 ? 0xffffffffull : 0xffffull;
  }
  uint64_t offset(const Operand& o, const Insn& in) const {
    uint64_t a = uint64_t(o.disp);
    if (o.base >= 0) a += o.base == kRipBase ? next_rip : gpr[o.base];
    if (o.index >= 0) a += gpr[o.index] << o.scale;
    return a & amask(in.asize);
  }
  // The linear address of segment `s` offset `off`, unchecked: instruction fetch and addresses
  // that are computed but not accessed (INVLPG, breakpoints).
  uint64_t linear(unsigned s, uint64_t off) const { return (seg_base[s] + off) & lin_mask; }
  // The linear address of a data access of `size` bytes at `off` in segment `s`, after the
  // segment's limit and type checks (#GP(0), or #SS(0) through SS) and the alignment check (#AC).
  enum class Access : uint8_t { kRead, kWrite }; // a read-modify-write is a write
  uint64_t linear(unsigned s, uint64_t off, unsigned size, Access a) {
    if ((access_checks >> s) & 1) [[unlikely]]
      check_access(s, off, size, a);
    return linear(s, off);
  }
  uint64_t linear(const Operand& o, const Insn& in, unsigned size, Access a) {
    return linear(o.seg, offset(o, in), size, a);
  }
  void check_access(unsigned s, uint64_t off, unsigned size, Access a);

  // ---- memory ----
  template <typename T> T read(uint64_t la) { return read_as<T>(la, acc_read); }
  template <typename T> void write(uint64_t la, T v) { write_as<T>(la, v, acc_write); }
  // Supervisor accesses made by the CPU itself (descriptor tables, TSS, interrupt frames).
  template <typename T> T read_sys(uint64_t la) { return read_as<T>(la, perm::kReadS); }
  template <typename T> void write_sys(uint64_t la, T v) { write_as<T>(la, v, perm::kWriteS); }

  // The fast paths: the slot of the access's first byte must hold, for the access's kind, the
  // page of its last byte (a page-crossing access misses). A write tag implies its page is
  // already marked written, so nothing is marked here.
  template <typename T> T read_as(uint64_t la, uint8_t need) {
    const size_t slot = tlb_slot(la);
    T v;
    if (tags_of(need)[slot] == access_tag(la, sizeof(T))) [[likely]]
      std::memcpy(&v, tlb_host(slot, la), sizeof(T));
    else
      access_slow(la, sizeof(T), need, &v);
    return v;
  }
  template <typename T> void write_as(uint64_t la, T v, uint8_t need) {
    const size_t slot = tlb_slot(la);
    if (tags_of(need)[slot] == access_tag(la, sizeof(T))) [[likely]]
      std::memcpy(tlb_host(slot, la), &v, sizeof(T));
    else
      access_slow(la, sizeof(T), need, &v);
  }
  uint64_t read_sized(uint64_t la, unsigned bytes);
  void write_sized(uint64_t la, unsigned bytes, uint64_t v);

  // Operand access by runtime kind.
  template <typename T> T get(const Operand& o, const Insn& in) {
    switch (o.kind) {
    case OpKind::kReg:
      return reg<T>(o);
    case OpKind::kMem:
      return read<T>(linear(o, in, sizeof(T), Access::kRead));
    default:
      return T(o.disp);
    }
  }
  template <typename T> void put(const Operand& o, const Insn& in, T v) {
    if (o.kind == OpKind::kReg)
      set_reg<T>(o, v);
    else
      write<T>(linear(o, in, sizeof(T), Access::kWrite), v);
  }

  // ---- stack ----
  uint64_t sp_mask() const { return mode64 ? ~0ull : seg[kSS].db ? 0xffffffffull : 0xffffull; }
  template <typename T> void push(T v) {
    uint64_t m = sp_mask();
    uint64_t sp = (gpr[kRsp] - sizeof(T)) & m;
    write<T>(linear(kSS, sp, sizeof(T), Access::kWrite), v);
    gpr[kRsp] = (gpr[kRsp] & ~m) | sp;
  }
  template <typename T> T pop() {
    uint64_t m = sp_mask();
    T v = read<T>(linear(kSS, gpr[kRsp] & m, sizeof(T), Access::kRead));
    gpr[kRsp] = (gpr[kRsp] & ~m) | ((gpr[kRsp] + sizeof(T)) & m);
    return v;
  }
  // Reads the stack slot `index` entries of `bytes` above the top without popping.
  uint64_t stack_peek(unsigned bytes, unsigned index) {
    return read_sized(
        linear(kSS, (gpr[kRsp] + uint64_t(bytes) * index) & sp_mask(), bytes, Access::kRead),
        bytes);
  }
  void push_sized(unsigned bytes, uint64_t v);
  uint64_t pop_sized(unsigned bytes);

  // ---- translation (mmu.cc) ----
  // The TLB caches 4 KiB linear pages; a large page is cached under each of its 4 KiB pages that
  // was used. A cached translation is used until a flush drops it, as on a CPU, even if the guest
  // changed the page tables: which translations are cached depends only on the guest's own
  // accesses and flushes, so record and replay see the same ones, and checkpoints save them
  // (save_tlb) so a re-execution does too. Neither cached code nor watchpoints change what is
  // cached or walked, only which accesses take the slow path.
  // Drops every entry, global ones too: changes of CR0.PG/WP, CR4 paging bits, EFER, the state.
  void flush_tlb();
  // A CR3 write: everything but the global entries.
  void flush_tlb_nonglobal();
  // INVLPG: every entry that may translate linear `la`, global or not.
  void flush_tlb_page(uint64_t la);
  // Withdraws fast writes to a physical page that now holds cached code.
  void protect_code_page(uint64_t ppn);
  // GuestMemory's written-page marks were cleared: every write tag goes (they stood for "the page
  // is marked"), so the next write to each page takes the slow path, which marks it.
  void drop_write_tags();
  // Host pointer for the instruction fetch at linear `la`, with the page's physical address;
  // nullptr when the code is not in RAM.
  const uint8_t* fetch_page(uint64_t la, uint64_t* phys);
  bool watch_active() const { return !watchpoints.empty(); }
  // The host address of the linear page after `la`'s, with its physical address, when the TLB
  // holds an executable translation of it; nullptr otherwise. Nothing is walked: decoding a block
  // into that page changes no state.
  const uint8_t* next_code_page(uint64_t la, uint64_t* page) const {
    const uint64_t next = ((la | 0xfff) + 1) & lin_mask;
    const size_t slot = tlb_slot(next);
    if (exec_tags[slot] != next) return nullptr;
    *page = tlb_[slot].ppn << 12;
    return tlb_host(slot, next);
  }
  // Whether the TLB still maps the linear page after `la`'s, executable, to physical `page`.
  bool next_page_maps(uint64_t la, uint64_t page) const {
    uint64_t now;
    return next_code_page(la, &now) && now == page;
  }
  // The watchpoints changed: which entries the fast paths may use follows; nothing is dropped.
  void refresh_tlb_permissions();
  // The TLB's translations and the large-page filter, for checkpoints; restore_tlb() replaces
  // the TLB with what save_tlb() saw, host pointers rebuilt from the physical pages.
  void save_tlb(StateWriter& out) const;
  void restore_tlb(StateReader& in);
  // The TLB read_as/write_as look up, for the translator's inline copy of their fast path: slot
  // `tlb_slot(la)` of the tags of the access's kind must equal `access_tag(la, size)`; the host
  // address is then la + tlb_addends()[slot].
  static constexpr size_t tlb_entries() { return kTlbSize; }
  static size_t tlb_slot(uint64_t la) { return (la >> 12) & (kTlbSize - 1); }
  static uint64_t access_tag(uint64_t la, unsigned size) { return (la + size - 1) & ~0xfffull; }
  // Tags by access kind (the bit number of its perm:: bit), a slot each: the slot's linear page
  // address where the fast paths may make that access, else kNoTag. What they may do is what
  // the walk granted, less writes to pages holding cached code or not yet marked written, less
  // everything on watched pages, and writes only where reads of that privilege are allowed (so a
  // read-modify-write tests the write tag alone).
  static constexpr uint64_t kNoTag = ~0ull; // no access's page address (its low bits are set)
  static constexpr size_t kAccessKinds = 6;
  const uint64_t* tlb_tags(size_t kind) const { return tags_[kind]; }
  const uint64_t* tags_of(uint8_t need) const { return tags_[std::countr_zero(need)]; }
  const uint64_t* tlb_addends() const { return addends_; }
  const TlbEntry* tlb() const { return tlb_; }
  uint8_t* tlb_host(size_t slot, uint64_t la) const {
    return reinterpret_cast<uint8_t*>(addends_[slot] + la);
  }

  // ---- events (interrupts.cc) ----
  enum class EventKind : uint8_t { kException, kExternal, kSoftware, kSoftwareException };
  // Delivers an event through the IVT/IDT; `return_rip` is the RIP the handler returns to. Throws
  // GuestFault for what delivery raises and StopRun when it must stop (a device read, something
  // unsupported).
  void deliver(uint8_t vector, EventKind kind, std::optional<uint32_t> error, uint64_t return_rip);
  // Replaces RFLAGS from POPF/IRET: which bits may change depends on CPL and IOPL.
  void load_flags(uint64_t value, unsigned osize, bool iret);
  // Delivers an exception raised by an instruction, escalating to #DF and to shutdown as the SDM
  // prescribes. Throws nothing: false means the run stops with `exit` saying why (a triple
  // fault, a device read delivery waits for, something unsupported).
  bool raise(const GuestFault& f);
  // Delivers an event and whatever its delivery raises; throws nothing, false as for raise().
  bool deliver_event(uint8_t vector, EventKind kind, std::optional<uint32_t> error,
                     uint64_t return_rip);

  // ---- segments (segments.cc) ----
  // Loads a data or stack segment register with protected-mode checks (or real-mode semantics).
  void load_segment(unsigned s, uint16_t selector);
  // Reads the 8-byte descriptor for `selector` from the GDT/LDT; raises #GP(selector) out of
  // limits.
  uint64_t read_descriptor(uint16_t selector, uint8_t vector_on_fail = vec::kGP);
  void write_descriptor_accessed(uint16_t selector, uint64_t desc);
  static Segment unpack_descriptor(uint16_t selector, uint64_t desc);
  // Loads CS for a far transfer to a code segment after privilege checks done by the caller.
  void set_cs(const Segment& s, unsigned new_cpl);
  void set_real_segment(unsigned s, uint16_t selector);

  // ---- misc ----
  [[noreturn]] void unsupported(const Insn& in, const char* why = nullptr);
  [[noreturn]] static void fault(uint8_t vector, uint32_t error = 0) {
    throw GuestFault{vector, error};
  }
  std::string describe(const Insn& in);
  void check_io_permission(uint16_t port, unsigned size);
  CpuState get_state();
  void put_state(const CpuState& s);
  uint64_t read_msr(uint32_t index);
  void write_msr(uint32_t index, uint64_t value);
  void write_cr(unsigned n, uint64_t value);
  void set_efer(uint64_t value);

  GuestMemory& mem;
  const CpuidTable cpuid;
  std::unique_ptr<CodeCache> code;

private:
  static constexpr size_t kTlbSize = 1024;
  // The three shapes of event delivery, and the gate checks protected and long mode share.
  void deliver_real(uint8_t vector, uint64_t return_rip);
  void deliver_protected(uint8_t vector, EventKind kind, std::optional<uint32_t> error,
                         uint64_t return_rip);
  void deliver_long(uint8_t vector, EventKind kind, std::optional<uint32_t> error,
                    uint64_t return_rip);
  struct GateTarget;
  GateTarget enter_gate(uint8_t vector, EventKind kind, unsigned gate_size);
  // Commits a delivery whose frame is written: CS:RIP, RFLAGS, and the stack (SS too when
  // `inner_ss` is given).
  void enter_handler(const GateTarget& t, uint64_t flags, uint64_t target, const Segment* inner_ss,
                     uint64_t rsp);
  [[noreturn]] void stop_unsupported(std::string what);
  void access_slow(uint64_t la, unsigned size, uint8_t need, void* data);
  void access_phys(uint64_t gpa, unsigned size, bool write, void* data);
  // What a page walk grants: the access rights as TLB permission bits, and how it may be cached.
  struct Grant {
    uint8_t perms = 0;
    bool global = false;
    uint8_t page_shift = 12;
  };
  void fill_tlb(uint64_t la, uint64_t gpa, const Grant& g);
  uint64_t walk(uint64_t la, uint8_t need, Grant* g);
  // The guest-physical address of `la` for an access needing `need`: the cached translation when
  // its walk granted that, else a walk, whose result is cached.
  uint64_t translate(uint64_t la, uint8_t need);
  // What the fast paths may do with `e` (the tags), given the cached code, the watchpoints and the
  // written-page marks.
  uint8_t fast_permissions(const TlbEntry& e) const;
  void set_tags(size_t slot);
  void drop_slot(size_t slot);
  void check_watch(uint64_t la, unsigned size, bool write);
  TlbEntry tlb_[kTlbSize];
  uint64_t tags_[kAccessKinds][kTlbSize];
  uint64_t addends_[kTlbSize] = {}; // a slot's host page address less its linear page address
  // The large pages (2 MiB, 4 MiB, 1 GiB) that may have entries cached, hashed into a filter:
  // INVLPG searches the whole TLB only for an address that may lie in one of them.
  static constexpr size_t kLargePageFilterBits = 1024;
  static size_t large_page_bit(uint64_t la, unsigned page_shift) {
    return (((la >> page_shift) ^ page_shift) * 0x9e3779b97f4a7c15ull) >> 54;
  }
  std::bitset<kLargePageFilterBits> large_pages_;
};

// Cpu::mmio_read_unretires for one handler's load; a fault unwinding through it clears it too.
class RetryableRead {
public:
  explicit RetryableRead(Cpu& c) : c_(c) { c_.mmio_read_unretires = true; }
  ~RetryableRead() { c_.mmio_read_unretires = false; }
  RetryableRead(const RetryableRead&) = delete;
  RetryableRead& operator=(const RetryableRead&) = delete;

private:
  Cpu& c_;
};

} // namespace rrvm::emu
