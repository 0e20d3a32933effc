#include "vmm/emu/simd_stub.h"

#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <xmmintrin.h>

#include <csetjmp>

#include <cstddef>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "vmm/error.h"

namespace rrvm::emu {

namespace {

// Executable memory for the stubs, in chunks that live as long as the process (Insns of every
// engine point into it, and the set of distinct encodings a guest runs is small).
class StubArena {
public:
  ~StubArena() {
    for (auto& c : chunks_)
      munmap(c, kChunk);
  }
  SimdStub add(const std::vector<uint8_t>& code) {
    if (chunks_.empty() || used_ + code.size() > kChunk) {
      void* p = mmap(nullptr, kChunk, PROT_READ | PROT_WRITE | PROT_EXEC,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (p == MAP_FAILED)
        throw Error(ExitCode::kInternal, "cannot map executable memory for SSE stubs");
      chunks_.push_back(static_cast<uint8_t*>(p));
      used_ = 0;
    }
    uint8_t* at = chunks_.back() + used_;
    std::memcpy(at, code.data(), code.size());
    used_ = (used_ + code.size() + 15) & ~size_t(15);
    return reinterpret_cast<SimdStub>(at);
  }

private:
  static constexpr size_t kChunk = 1 << 20;
  std::vector<uint8_t*> chunks_;
  size_t used_ = 0;
};

struct StubCache {
  std::mutex lock;
  StubArena arena;
  std::unordered_map<std::string, std::unique_ptr<SimdOp>> ops; // by the host encoding
};

StubCache& cache() {
  static StubCache c;
  return c;
}

class Assembler {
public:
  bool ok = true;
  std::vector<uint8_t> code;

  void emit(const ZydisEncoderRequest& r) {
    uint8_t buf[ZYDIS_MAX_INSTRUCTION_LENGTH];
    ZyanUSize len = sizeof buf;
    if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&r, buf, &len))) {
      ok = false;
      return;
    }
    code.insert(code.end(), buf, buf + len);
  }
  static ZydisEncoderRequest request(ZydisMnemonic m) {
    ZydisEncoderRequest r;
    std::memset(&r, 0, sizeof r);
    r.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
    r.mnemonic = m;
    return r;
  }
  static void reg(ZydisEncoderRequest& r, ZydisRegister reg) {
    auto& o = r.operands[r.operand_count++];
    o.type = ZYDIS_OPERAND_TYPE_REGISTER;
    o.reg.value = reg;
  }
  static void mem(ZydisEncoderRequest& r, ZydisRegister base, size_t disp, unsigned size) {
    auto& o = r.operands[r.operand_count++];
    o.type = ZYDIS_OPERAND_TYPE_MEMORY;
    o.mem.base = base;
    o.mem.displacement = int64_t(disp);
    o.mem.size = uint16_t(size);
  }
  // m reg, [base+disp] when `load`, else m [base+disp], reg.
  void move(ZydisMnemonic m, bool load, ZydisRegister reg, ZydisRegister base, size_t disp,
            unsigned size) {
    ZydisEncoderRequest r = request(m);
    if (load && reg != ZYDIS_REGISTER_NONE) Assembler::reg(r, reg);
    Assembler::mem(r, base, disp, size);
    if (!load && reg != ZYDIS_REGISTER_NONE) Assembler::reg(r, reg);
    emit(r);
  }
  void plain(ZydisMnemonic m) { emit(request(m)); }
};

constexpr ZydisRegister kXmmBase = ZYDIS_REGISTER_RDI; // the stub's first argument
constexpr ZydisRegister kFrame = ZYDIS_REGISTER_RSI;   // the second

ZydisRegister explicit_gpr(ZydisRegisterClass cls, unsigned slot) {
  switch (cls) {
  case ZYDIS_REGCLASS_GPR64:
    return ZydisRegister(ZYDIS_REGISTER_R8 + slot);
  case ZYDIS_REGCLASS_GPR32:
    return ZydisRegister(ZYDIS_REGISTER_R8D + slot);
  case ZYDIS_REGCLASS_GPR16:
    return ZydisRegister(ZYDIS_REGISTER_R8W + slot);
  default:
    return ZydisRegister(ZYDIS_REGISTER_R8B + slot);
  }
}

int implicit_slot(ZydisRegister r) {
  switch (ZydisRegisterGetLargestEnclosing(ZYDIS_MACHINE_MODE_LONG_64, r)) {
  case ZYDIS_REGISTER_RAX:
    return kSimdRax;
  case ZYDIS_REGISTER_RCX:
    return kSimdRcx;
  case ZYDIS_REGISTER_RDX:
    return kSimdRdx;
  default:
    return -1;
  }
}

ZydisRegister slot_register(unsigned slot) {
  static constexpr ZydisRegister kRegs[] = {ZYDIS_REGISTER_R8, ZYDIS_REGISTER_R9,
                                            ZYDIS_REGISTER_RAX, ZYDIS_REGISTER_RCX,
                                            ZYDIS_REGISTER_RDX};
  return kRegs[slot];
}

// Legacy SSE 16-byte memory operands must be 16-byte aligned except for these.
bool unaligned_allowed(ZydisMnemonic m) {
  switch (m) {
  case ZYDIS_MNEMONIC_MOVUPS:
  case ZYDIS_MNEMONIC_MOVUPD:
  case ZYDIS_MNEMONIC_MOVDQU:
  case ZYDIS_MNEMONIC_LDDQU:
  case ZYDIS_MNEMONIC_PCMPESTRI:
  case ZYDIS_MNEMONIC_PCMPESTRM:
  case ZYDIS_MNEMONIC_PCMPISTRI:
  case ZYDIS_MNEMONIC_PCMPISTRM:
    return true;
  default:
    return false;
  }
}

// Instructions that round per MXCSR and report floating-point exceptions: Intel's exception
// types 2 and 3, and the conversions between MMX integers and floats.
bool raises_fp_exceptions(const ZydisDecodedInstruction& zi) {
  switch (zi.mnemonic) {
  case ZYDIS_MNEMONIC_CVTPI2PS:
  case ZYDIS_MNEMONIC_CVTPS2PI:
  case ZYDIS_MNEMONIC_CVTTPS2PI:
  case ZYDIS_MNEMONIC_CVTPD2PI:
  case ZYDIS_MNEMONIC_CVTTPD2PI:
    return true;
  default:
    return zi.meta.exception_class == ZYDIS_EXCEPTION_CLASS_SSE2 ||
           zi.meta.exception_class == ZYDIS_EXCEPTION_CLASS_SSE3;
  }
}

// Fills `op` from the operands and rewrites `req` to the stub's registers; false when an operand
// cannot be redirected.
bool analyse(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops,
             ZydisEncoderRequest& req, SimdOp& op, uint16_t* xmm_used) {
  unsigned explicit_gprs = 0;
  for (unsigned i = 0; i < zi.operand_count; ++i) {
    const ZydisDecodedOperand& o = ops[i];
    const bool visible = i < zi.operand_count_visible;
    const bool rd = o.actions & ZYDIS_OPERAND_ACTION_MASK_READ;
    const bool wr = o.actions & ZYDIS_OPERAND_ACTION_MASK_WRITE;
    if (o.type == ZYDIS_OPERAND_TYPE_MEMORY) {
      if (!visible || o.size == 0 || o.size > 128) return false;
      op.mem_size = uint8_t(o.size / 8);
      op.mem_read = rd;
      op.mem_write = wr;
      auto& m = req.operands[i].mem;
      m.base = kFrame;
      m.index = ZYDIS_REGISTER_NONE;
      m.scale = 0;
      m.displacement = offsetof(SimdFrame, mem);
      continue;
    }
    if (o.type != ZYDIS_OPERAND_TYPE_REGISTER) continue;
    const ZydisRegister r = o.reg.value;
    switch (ZydisRegisterGetClass(r)) {
    case ZYDIS_REGCLASS_XMM: {
      const unsigned n = r - ZYDIS_REGISTER_XMM0;
      *xmm_used |= uint16_t(1u << n);
      if (wr) op.xmm_written |= uint16_t(1u << n);
      op.uses_xmm = true;
      break;
    }
    case ZYDIS_REGCLASS_MMX: {
      const unsigned n = r - ZYDIS_REGISTER_MM0;
      op.mm_used |= uint8_t(1u << n);
      if (wr) op.mm_written |= uint8_t(1u << n);
      break;
    }
    case ZYDIS_REGCLASS_GPR8:
    case ZYDIS_REGCLASS_GPR16:
    case ZYDIS_REGCLASS_GPR32:
    case ZYDIS_REGCLASS_GPR64: {
      unsigned slot;
      if (visible) {
        if (explicit_gprs == kSimdExplicitGprs) return false;
        slot = explicit_gprs++;
        req.operands[i].reg.value = explicit_gpr(ZydisRegisterGetClass(r), slot);
      } else {
        const int s = implicit_slot(r);
        if (s < 0) return false;
        slot = unsigned(s);
      }
      if (rd) op.gpr_read |= uint8_t(1u << slot);
      if (wr) op.gpr_written |= uint8_t(1u << slot);
      break;
    }
    case ZYDIS_REGCLASS_FLAGS:
    case ZYDIS_REGCLASS_IP:
      break;
    default:
      return false;
    }
  }
  op.uses_mxcsr = raises_fp_exceptions(zi);
  if (zi.cpu_flags) {
    const auto* f = zi.cpu_flags;
    op.flags = (f->modified | f->set_0 | f->set_1 | f->undefined) &
               (ZYDIS_CPUFLAG_CF | ZYDIS_CPUFLAG_PF | ZYDIS_CPUFLAG_AF | ZYDIS_CPUFLAG_ZF |
                ZYDIS_CPUFLAG_SF | ZYDIS_CPUFLAG_OF);
  }
  op.aligned = op.mem_size == 16 && !unaligned_allowed(zi.mnemonic);
  // A write to memory never also writes an XMM register, so a fault on the store leaves
  // nothing to roll back.
  return !(op.mem_write && op.xmm_written);
}

SimdStub build(const SimdOp& op, uint16_t xmm_used, const uint8_t* insn, size_t len) {
  Assembler a;
  for (unsigned n = 0; n < 16; ++n)
    if (xmm_used >> n & 1)
      a.move(ZYDIS_MNEMONIC_MOVDQU, true, ZydisRegister(ZYDIS_REGISTER_XMM0 + n), kXmmBase, 16 * n,
             16);
  for (unsigned n = 0; n < 8; ++n)
    if (op.mm_used >> n & 1)
      a.move(ZYDIS_MNEMONIC_MOVQ, true, ZydisRegister(ZYDIS_REGISTER_MM0 + n), kFrame,
             offsetof(SimdFrame, mm) + 8 * n, 8);
  for (unsigned s = 0; s < 5; ++s)
    if (op.gpr_read >> s & 1)
      a.move(ZYDIS_MNEMONIC_MOV, true, slot_register(s), kFrame, offsetof(SimdFrame, gpr) + 8 * s,
             8);
  a.code.insert(a.code.end(), insn, insn + len);
  for (unsigned n = 0; n < 16; ++n)
    if (op.xmm_written >> n & 1)
      a.move(ZYDIS_MNEMONIC_MOVDQU, false, ZydisRegister(ZYDIS_REGISTER_XMM0 + n), kXmmBase, 16 * n,
             16);
  for (unsigned n = 0; n < 8; ++n)
    if (op.mm_written >> n & 1)
      a.move(ZYDIS_MNEMONIC_MOVQ, false, ZydisRegister(ZYDIS_REGISTER_MM0 + n), kFrame,
             offsetof(SimdFrame, mm) + 8 * n, 8);
  for (unsigned s = 0; s < 5; ++s)
    if (op.gpr_written >> s & 1)
      a.move(ZYDIS_MNEMONIC_MOV, false, slot_register(s), kFrame, offsetof(SimdFrame, gpr) + 8 * s,
             8);
  if (op.flags) {
    a.plain(ZYDIS_MNEMONIC_PUSHFQ);
    ZydisEncoderRequest pop = Assembler::request(ZYDIS_MNEMONIC_POP);
    Assembler::mem(pop, kFrame, offsetof(SimdFrame, rflags), 8);
    a.emit(pop);
  }
  if (op.mm_used) a.plain(ZYDIS_MNEMONIC_EMMS); // the host's x87 stack is empty again
  a.plain(ZYDIS_MNEMONIC_RET);
  if (!a.ok) return nullptr;
  return cache().arena.add(a.code);
}

// The SIGFPE of a stub run by run_trapping(): where to go back to, and the MXCSR the fault left.
thread_local sigjmp_buf* t_trap = nullptr;
thread_local uint32_t t_trap_mxcsr = 0;

void on_sigfpe(int, siginfo_t*, void* context) {
  if (!t_trap) {
    // Not a stub's: the default action, once the faulting instruction runs again.
    signal(SIGFPE, SIG_DFL);
    return;
  }
  t_trap_mxcsr = static_cast<ucontext_t*>(context)->uc_mcontext.fpregs->mxcsr;
  siglongjmp(*t_trap, 1);
}

void install_sigfpe_handler() {
  static const bool installed = [] {
    struct sigaction sa = {};
    sa.sa_sigaction = on_sigfpe;
    sa.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGFPE, &sa, nullptr) == 0;
  }();
  if (!installed) throw Error(ExitCode::kInternal, "cannot install the SIGFPE handler for SSE");
}

} // namespace

uint32_t run_fp(const SimdOp& op, uint8_t (*xmm)[16], SimdFrame* frame, uint32_t mxcsr,
                bool* trapped) {
  constexpr uint32_t kFlags = 0x3f, kMasks = 0x3f << 7;
  const uint32_t host = _mm_getcsr();
  *trapped = false;
  if ((mxcsr & kMasks) == kMasks) {
    // The host's own flags mean nothing to it, so they are left as the instruction set them and
    // only cleared (one LDMXCSR) when the next one needs them clear; its control bits come back
    // whenever the guest's differ.
    if (host != mxcsr) _mm_setcsr(mxcsr);
    op.stub(xmm, frame);
    const uint32_t raised = _mm_getcsr() & kFlags;
    if ((host & ~kFlags) != mxcsr) _mm_setcsr(host);
    return raised;
  }
  install_sigfpe_handler();
  sigjmp_buf trap;
  if (sigsetjmp(trap, 1) != 0) {
    // The kernel gave the handler a fresh FPU state, which stays after the jump out of it.
    t_trap = nullptr;
    _mm_setcsr(host);
    *trapped = true;
    return t_trap_mxcsr & kFlags;
  }
  t_trap = &trap;
  _mm_setcsr(mxcsr);
  op.stub(xmm, frame);
  const uint32_t raised = _mm_getcsr() & kFlags;
  t_trap = nullptr;
  _mm_setcsr(host);
  return raised;
}

const SimdOp* simd_op(const ZydisDecodedInstruction& zi, const ZydisDecodedOperand* ops) {
  ZydisEncoderRequest req;
  if (!ZYAN_SUCCESS(
          ZydisEncoderDecodedInstructionToEncoderRequest(&zi, ops, zi.operand_count_visible, &req)))
    return nullptr;
  req.machine_mode = ZYDIS_MACHINE_MODE_LONG_64;
  req.prefixes &= ~(ZYDIS_ATTRIB_HAS_SEGMENT | ZYDIS_ATTRIB_HAS_ADDRESSSIZE);
  req.address_size_hint = ZYDIS_ADDRESS_SIZE_HINT_NONE;
  SimdOp op;
  uint16_t xmm_used = 0;
  if (!analyse(zi, ops, req, op, &xmm_used)) return nullptr;
  uint8_t insn[ZYDIS_MAX_INSTRUCTION_LENGTH];
  ZyanUSize len = sizeof insn;
  if (!ZYAN_SUCCESS(ZydisEncoderEncodeInstruction(&req, insn, &len))) return nullptr;

  StubCache& c = cache();
  std::lock_guard guard(c.lock);
  std::string key(reinterpret_cast<const char*>(insn), len);
  if (auto it = c.ops.find(key); it != c.ops.end()) return it->second.get();
  op.stub = build(op, xmm_used, insn, len);
  if (!op.stub) return nullptr;
  return c.ops.emplace(key, std::make_unique<SimdOp>(op)).first->second.get();
}

} // namespace rrvm::emu
