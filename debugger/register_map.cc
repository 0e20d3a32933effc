#include "debugger/register_map.h"

#include <cstring>
#include <type_traits>

#include "vmm/emu/x87_state.h"

namespace rrvm::gdb {

namespace {

constexpr const char* kCore = "org.gnu.gdb.i386.core";
constexpr const char* kSegments = "org.gnu.gdb.i386.segments";
constexpr const char* kSse = "org.gnu.gdb.i386.sse";
constexpr const char* kControl = "org.rrvm.x86.control";

// The registers wider than 64 bits, as bytes of the CPU state (nullptr for the others).
template <typename State> auto* wide_register(State& cpu, const RegisterInfo& r) {
  using Byte = std::conditional_t<std::is_const_v<State>, const uint8_t, uint8_t>;
  if (r.id == RegisterId::kSt) return static_cast<Byte*>(cpu.fpu.st[r.index].data());
  if (r.id == RegisterId::kXmm) return static_cast<Byte*>(cpu.fpu.xmm[r.index].data());
  return static_cast<Byte*>(nullptr);
}

// CpuState or const CpuState: the read and the write path share it.
template <typename State> auto& segment(State& cpu, RegisterId id) {
  switch (id) {
  case RegisterId::kEs:
    return cpu.es;
  case RegisterId::kCs:
    return cpu.cs;
  case RegisterId::kSs:
    return cpu.ss;
  case RegisterId::kDs:
    return cpu.ds;
  case RegisterId::kFs:
    return cpu.fs;
  default:
    return cpu.gs;
  }
}

// The value of a register of at most 64 bits.
uint64_t value_of(const CpuState& cpu, const RegisterInfo& r) {
  switch (r.id) {
  case RegisterId::kGpr:
    return cpu.gpr[r.index];
  case RegisterId::kRip:
    return cpu.rip;
  case RegisterId::kEflags:
    return cpu.rflags;
  case RegisterId::kEs:
  case RegisterId::kCs:
  case RegisterId::kSs:
  case RegisterId::kDs:
  case RegisterId::kFs:
  case RegisterId::kGs:
    return segment(cpu, r.id).selector;
  case RegisterId::kFctrl:
    return cpu.fpu.fcw;
  case RegisterId::kFstat:
    return cpu.fpu.fsw;
  case RegisterId::kFtag:
    return emu::x87::full_tag(cpu.fpu);
  case RegisterId::kFiseg:
    return cpu.fpu.fcs;
  case RegisterId::kFioff:
    return uint32_t(cpu.fpu.fip);
  case RegisterId::kFoseg:
    return cpu.fpu.fds;
  case RegisterId::kFooff:
    return uint32_t(cpu.fpu.fdp);
  case RegisterId::kFop:
    return cpu.fpu.fop;
  case RegisterId::kMxcsr:
    return cpu.fpu.mxcsr;
  case RegisterId::kSt:
  case RegisterId::kXmm:
    return 0; // wide_register()
  case RegisterId::kFsBase:
    return cpu.fs.base;
  case RegisterId::kGsBase:
    return cpu.gs.base;
  case RegisterId::kCr0:
    return cpu.cr0;
  case RegisterId::kCr2:
    return cpu.cr2;
  case RegisterId::kCr3:
    return cpu.cr3;
  case RegisterId::kCr4:
    return cpu.cr4;
  case RegisterId::kCr8:
    return cpu.cr8;
  case RegisterId::kEfer:
    return cpu.efer;
  }
  return 0;
}

void store(CpuState& cpu, const RegisterInfo& r, uint64_t v) {
  // A 32-bit target's registers hold the low halves; writing one keeps the high half as a
  // 32-bit write would not, but only long mode uses the high halves.
  auto merge = [&](uint64_t old) { return r.bits >= 64 ? v : (old & ~((1ull << r.bits) - 1)) | v; };
  switch (r.id) {
  case RegisterId::kGpr:
    cpu.gpr[r.index] = merge(cpu.gpr[r.index]);
    break;
  case RegisterId::kRip:
    cpu.rip = merge(cpu.rip);
    break;
  case RegisterId::kEflags:
    cpu.rflags = merge(cpu.rflags) | rflags::kFixed1;
    break;
  case RegisterId::kEs:
  case RegisterId::kCs:
  case RegisterId::kSs:
  case RegisterId::kDs:
  case RegisterId::kFs:
  case RegisterId::kGs:
    // Only the selector: the hidden descriptor part stays as the guest loaded it.
    segment(cpu, r.id).selector = static_cast<uint16_t>(v);
    break;
  case RegisterId::kFctrl:
    cpu.fpu.fcw = uint16_t(v);
    break;
  case RegisterId::kFstat:
    cpu.fpu.fsw = uint16_t(v);
    break;
  case RegisterId::kFtag:
    cpu.fpu.ftw = emu::x87::abridged_tag(uint16_t(v));
    break;
  case RegisterId::kFiseg:
    cpu.fpu.fcs = uint16_t(v);
    break;
  case RegisterId::kFioff:
    cpu.fpu.fip = (cpu.fpu.fip & ~0xffffffffull) | uint32_t(v);
    break;
  case RegisterId::kFoseg:
    cpu.fpu.fds = uint16_t(v);
    break;
  case RegisterId::kFooff:
    cpu.fpu.fdp = (cpu.fpu.fdp & ~0xffffffffull) | uint32_t(v);
    break;
  case RegisterId::kFop:
    cpu.fpu.fop = uint16_t(v & 0x7ff);
    break;
  case RegisterId::kMxcsr:
    cpu.fpu.mxcsr = uint32_t(v);
    break;
  case RegisterId::kSt:
  case RegisterId::kXmm:
    break; // wide_register()
  case RegisterId::kFsBase:
    cpu.fs.base = merge(cpu.fs.base);
    break;
  case RegisterId::kGsBase:
    cpu.gs.base = merge(cpu.gs.base);
    break;
  case RegisterId::kCr0:
    cpu.cr0 = merge(cpu.cr0);
    break;
  case RegisterId::kCr2:
    cpu.cr2 = merge(cpu.cr2);
    break;
  case RegisterId::kCr3:
    cpu.cr3 = merge(cpu.cr3);
    break;
  case RegisterId::kCr4:
    cpu.cr4 = merge(cpu.cr4);
    break;
  case RegisterId::kCr8:
    cpu.cr8 = merge(cpu.cr8);
    break;
  case RegisterId::kEfer:
    cpu.efer = v;
    break;
  }
}

} // namespace

RegisterMap::RegisterMap(bool x86_64) : x86_64_(x86_64) {
  const unsigned word = x86_64 ? 64 : 32;
  const char* int_type = x86_64 ? "int64" : "int32";
  auto gpr = [&](std::string name, unsigned index, const char* type) {
    registers_.push_back({std::move(name), word, type, kCore, nullptr, RegisterId::kGpr, index});
  };
  if (x86_64) {
    // gdb's amd64 order, which is not the encoding order.
    gpr("rax", kRax, "int64");
    gpr("rbx", kRbx, "int64");
    gpr("rcx", kRcx, "int64");
    gpr("rdx", kRdx, "int64");
    gpr("rsi", kRsi, "int64");
    gpr("rdi", kRdi, "int64");
    gpr("rbp", kRbp, "data_ptr");
    gpr("rsp", kRsp, "data_ptr");
    for (unsigned i = kR8; i <= kR15; ++i)
      gpr(std::string(1, 'r').append(std::to_string(i)), i, "int64");
  } else {
    gpr("eax", kRax, "int32");
    gpr("ecx", kRcx, "int32");
    gpr("edx", kRdx, "int32");
    gpr("ebx", kRbx, "int32");
    gpr("esp", kRsp, "data_ptr");
    gpr("ebp", kRbp, "data_ptr");
    gpr("esi", kRsi, "int32");
    gpr("edi", kRdi, "int32");
  }
  registers_.push_back(
      {x86_64 ? "rip" : "eip", word, "code_ptr", kCore, nullptr, RegisterId::kRip});
  registers_.push_back({"eflags", 32, "i386_eflags", kCore, nullptr, RegisterId::kEflags});
  const std::pair<const char*, RegisterId> segments[] = {
      {"cs", RegisterId::kCs}, {"ss", RegisterId::kSs}, {"ds", RegisterId::kDs},
      {"es", RegisterId::kEs}, {"fs", RegisterId::kFs}, {"gs", RegisterId::kGs}};
  for (const auto& [name, id] : segments)
    registers_.push_back({name, 32, "int32", kCore, nullptr, id});
  for (unsigned i = 0; i < 8; ++i)
    registers_.push_back(
        {"st" + std::to_string(i), 80, "i387_ext", kCore, "float", RegisterId::kSt, i});
  const std::pair<const char*, RegisterId> x87[] = {
      {"fctrl", RegisterId::kFctrl}, {"fstat", RegisterId::kFstat}, {"ftag", RegisterId::kFtag},
      {"fiseg", RegisterId::kFiseg}, {"fioff", RegisterId::kFioff}, {"foseg", RegisterId::kFoseg},
      {"fooff", RegisterId::kFooff}, {"fop", RegisterId::kFop}};
  for (const auto& [name, id] : x87)
    registers_.push_back({name, 32, "int", kCore, "float", id});
  for (unsigned i = 0; i < (x86_64 ? 16u : 8u); ++i)
    registers_.push_back(
        {"xmm" + std::to_string(i), 128, "vec128", kSse, nullptr, RegisterId::kXmm, i});
  registers_.push_back({"mxcsr", 32, "i386_mxcsr", kSse, "vector", RegisterId::kMxcsr});
  // gdb's i386 architecture (13.1) asserts on the segments feature outside its Linux ABI; the
  // bases of a 32-bit guest go with the control registers instead.
  const char* bases = x86_64 ? kSegments : kControl;
  registers_.push_back({"fs_base", word, int_type, bases, nullptr, RegisterId::kFsBase});
  registers_.push_back({"gs_base", word, int_type, bases, nullptr, RegisterId::kGsBase});
  const std::pair<const char*, RegisterId> control[] = {{"cr0", RegisterId::kCr0},
                                                        {"cr2", RegisterId::kCr2},
                                                        {"cr3", RegisterId::kCr3},
                                                        {"cr4", RegisterId::kCr4},
                                                        {"cr8", RegisterId::kCr8}};
  for (const auto& [name, id] : control)
    registers_.push_back({name, word, int_type, kControl, "system", id});
  registers_.push_back({"efer", 64, "int64", kControl, "system", RegisterId::kEfer});
}

size_t RegisterMap::pc_number() const {
  return x86_64_ ? 16 : 8;
}

std::optional<std::vector<uint8_t>> RegisterMap::read(const CpuState& cpu, size_t number) const {
  if (number >= registers_.size()) return std::nullopt;
  const RegisterInfo& r = registers_[number];
  std::vector<uint8_t> bytes(r.bits / 8, 0);
  if (const uint8_t* wide = wide_register(cpu, r)) {
    std::memcpy(bytes.data(), wide, bytes.size());
  } else {
    const uint64_t v = value_of(cpu, r);
    std::memcpy(bytes.data(), &v, std::min<size_t>(8, bytes.size()));
  }
  return bytes;
}

std::vector<uint8_t> RegisterMap::read_all(const CpuState& cpu) const {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < registers_.size(); ++i) {
    std::vector<uint8_t> one = *read(cpu, i);
    out.insert(out.end(), one.begin(), one.end());
  }
  return out;
}

bool RegisterMap::write(CpuState& cpu, size_t number, std::span<const uint8_t> bytes) const {
  if (number >= registers_.size()) return false;
  const RegisterInfo& r = registers_[number];
  if (bytes.size() != r.bits / 8) return false;
  if (uint8_t* wide = wide_register(cpu, r)) {
    std::memcpy(wide, bytes.data(), bytes.size());
    return true;
  }
  uint64_t v = 0;
  std::memcpy(&v, bytes.data(), std::min<size_t>(8, bytes.size()));
  store(cpu, r, v);
  return true;
}

bool RegisterMap::write_all(CpuState& cpu, std::span<const uint8_t> bytes) const {
  size_t offset = 0;
  for (size_t i = 0; i < registers_.size() && offset < bytes.size(); ++i) {
    const size_t size = registers_[i].bits / 8;
    if (bytes.size() - offset < size) return false;
    write(cpu, i, bytes.subspan(offset, size));
    offset += size;
  }
  return offset == bytes.size();
}

} // namespace rrvm::gdb
