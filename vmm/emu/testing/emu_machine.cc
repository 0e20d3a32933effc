#include "vmm/emu/testing/emu_machine.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "vmm/emu/cpu.h"

namespace rrvm::test {

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw std::runtime_error("cannot open " + path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

std::vector<uint8_t> assemble(const std::string& source, unsigned bits, uint64_t org) {
  char dir[] = "/tmp/rrvm-emu-asm-XXXXXX";
  if (!mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
  const std::string asm_path = std::string(dir) + "/s.asm", bin_path = std::string(dir) + "/s.bin";
  {
    std::ofstream f(asm_path);
    f << "bits " << bits << "\norg " << org << "\n" << source << "\n";
  }
  const std::string cmd =
      std::string(RRVM_NASM) + " -f bin -o " + bin_path + " " + asm_path + " 2>" + dir + "/err";
  int rc = std::system(cmd.c_str());
  std::vector<uint8_t> out;
  std::string err;
  if (rc == 0)
    out = read_file(bin_path);
  else {
    auto e = read_file(std::string(dir) + "/err");
    err.assign(e.begin(), e.end());
  }
  std::remove(asm_path.c_str());
  std::remove(bin_path.c_str());
  std::remove((std::string(dir) + "/err").c_str());
  rmdir(dir);
  if (rc != 0) throw std::runtime_error("nasm failed: " + err + "\n" + source);
  return out;
}

namespace {

Segment flat(uint16_t sel, bool code, unsigned bits, unsigned dpl) {
  return emu::flat_segment(sel, code, bits == 64, bits == 32 || (!code && bits == 64), dpl);
}

} // namespace

CpuState initial_state(Mode mode, GuestMemory& memory) {
  CpuState s;
  s.rflags = 2;
  s.rip = kCodeAddr;
  s.gpr[kRsp] = kStackTop;
  // GDT: null, 0x08 code32, 0x10 data, 0x18 code64, 0x20 user data (dpl3), 0x28 user code64,
  // 0x30 a 64-bit TSS at 0x600 (long mode loads TR with it).
  const uint64_t gdt[] = {0,
                          0x00cf9b000000ffffull,
                          0x00cf93000000ffffull,
                          0x00af9b000000ffffull,
                          0x00cff3000000ffffull,
                          0x00affb000000ffffull,
                          0x0000890006000067ull,
                          0};
  for (unsigned i = 0; i < std::size(gdt); ++i)
    memory.store<uint64_t>(0x500 + 8 * i, gdt[i]);
  s.gdt = {0x500, uint16_t(sizeof gdt - 1)};
  s.idt = {0, 0};
  switch (mode) {
  case Mode::kReal: {
    s.rip = kCodeAddr & 0xffff;
    Segment r;
    r.selector = uint16_t(kCodeAddr >> 4);
    r.base = kCodeAddr;
    r.limit = 0xffff;
    r.type = x86::segment_type::kCode | x86::segment_type::kReadable | x86::segment_type::kAccessed;
    s.cs = r;
    r.type = x86::segment_type::kWritable | x86::segment_type::kAccessed;
    r.selector = 0;
    r.base = 0;
    s.ds = s.es = s.fs = s.gs = s.ss = r;
    s.rip = 0;
    s.gpr[kRsp] = 0xfff0;
    s.ss.selector = uint16_t(0x70000 >> 4);
    s.ss.base = 0x70000;
    s.idt = {0, 0x3ff};
    break;
  }
  case Mode::kProtected32:
    s.cr0 = cr0::kPE | cr0::kET;
    s.cs = flat(0x08, true, 32, 0);
    s.ds = s.es = s.fs = s.gs = s.ss = flat(0x10, false, 32, 0);
    break;
  case Mode::kLong64:
    memory.store<uint64_t>(0x1000, 0x2000 | 7);
    memory.store<uint64_t>(0x2000, 0x3000 | 7);
    for (uint64_t i = 0; i < 512; ++i)
      memory.store<uint64_t>(0x3000 + 8 * i, (i << 21) | 0x87);
    memory.store<uint64_t>(0x2000 + 8 * 3, 0xc0000000 | 0x87); // 1 GiB page: the MMIO hole
    s.cr3 = 0x1000;
    s.cr0 = cr0::kPE | cr0::kET | cr0::kPG | cr0::kWP;
    s.cr4 = cr4::kPAE;
    s.efer = efer::kLME | efer::kLMA | efer::kSCE | efer::kNXE;
    s.cs = flat(0x18, true, 64, 0);
    s.ds = s.es = s.fs = s.gs = s.ss = flat(0x10, false, 64, 0);
    s.tr = emu::Cpu::unpack_descriptor(0x30, gdt[6]);
    s.tr.type = x86::system_type::kTssBusy; // as LTR leaves it
    break;
  }
  return s;
}

EmuMachine::EmuMachine(Mode m, uint64_t ram, bool translate)
    : mode(m), memory(ram), engine(memory, CpuidTable::emulated(), translate) {
  engine.set_state(initial_state(mode, memory));
}

Exit& run_past_kicks(Engine& engine) {
  for (;;) {
    Exit& e = engine.run();
    if (e.reason != ExitReason::kKicked) return e;
  }
}

void EmuMachine::load(const std::string& source) {
  const unsigned bits = mode == Mode::kReal ? 16 : mode == Mode::kProtected32 ? 32 : 64;
  const uint64_t org = mode == Mode::kReal ? 0 : kCodeAddr;
  std::vector<uint8_t> code = assemble(source, bits, org);
  memory.write(kCodeAddr, code);
  engine.invalidate_code(kCodeAddr, code.size());
}

} // namespace rrvm::test
