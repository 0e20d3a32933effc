#include "vmm/register_dump.h"

#include <algorithm>
#include <cstdio>

#include "vmm/disassembler.h"
#include "vmm/page_walker.h"

namespace rrvm {

std::string describe_instruction_at(const GuestMemory& memory, const CpuState& cpu) {
  uint64_t linear = cpu.code_bits() == 64 ? cpu.rip : cpu.cs.base + (cpu.rip & 0xffffffff);
  char head[128];
  std::snprintf(head, sizeof head, "%s, cs:rip %04x:%llx (linear 0x%llx)", cpu.mode_name(),
                cpu.cs.selector, static_cast<unsigned long long>(cpu.rip),
                static_cast<unsigned long long>(linear));
  uint8_t bytes[15];
  size_t n = read_linear(memory, cpu, linear, bytes);
  if (n == 0) return std::string(head) + ": instruction bytes not in guest RAM or not mapped";
  std::span<const uint8_t> code(bytes, n);
  const std::string text = disassemble_one(code, cpu.code_bits(), cpu.rip).value_or("(bad)");
  return std::string(head) + ": " + hex_bytes(code.first(std::min<size_t>(n, 8))) +
         (n > 8 ? " …" : "") + "  " + text;
}

namespace {

// The x87/SSE control and status words, then only the XMM registers that are not zero (most of
// a failure's registers are unused), two to a line, most significant byte first.
std::string fpu_dump(const FpuState& f) {
  char line[160];
  std::snprintf(line, sizeof line, "\n  fcw %04x fsw %04x ftw %02x mxcsr %08x", f.fcw, f.fsw, f.ftw,
                f.mxcsr);
  std::string out = line;
  unsigned shown = 0;
  for (unsigned i = 0; i < f.xmm.size(); ++i) {
    const auto& x = f.xmm[i];
    if (std::all_of(x.begin(), x.end(), [](uint8_t b) { return b == 0; })) continue;
    std::string hex;
    for (size_t b = x.size(); b-- > 0;) {
      char two[3];
      std::snprintf(two, sizeof two, "%02x", x[b]);
      hex += two;
    }
    std::snprintf(line, sizeof line, "%sxmm%-2u %s", shown % 2 ? "  " : "\n  ", i, hex.c_str());
    out += line;
    ++shown;
  }
  return out;
}

} // namespace

std::string register_dump(const CpuState& cpu) {
  static const char* const kNames[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                         "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
  std::string out;
  char line[160];
  for (unsigned i = 0; i < 16; i += 4) {
    std::snprintf(line, sizeof line, "  %-3s %016llx  %-3s %016llx  %-3s %016llx  %-3s %016llx\n",
                  kNames[i], static_cast<unsigned long long>(cpu.gpr[i]), kNames[i + 1],
                  static_cast<unsigned long long>(cpu.gpr[i + 1]), kNames[i + 2],
                  static_cast<unsigned long long>(cpu.gpr[i + 2]), kNames[i + 3],
                  static_cast<unsigned long long>(cpu.gpr[i + 3]));
    out += line;
  }
  std::snprintf(line, sizeof line, "  rip %016llx  rflags %08llx\n",
                static_cast<unsigned long long>(cpu.rip),
                static_cast<unsigned long long>(cpu.rflags));
  out += line;
  const std::pair<const char*, const Segment*> segments[] = {
      {"cs", &cpu.cs}, {"ss", &cpu.ss}, {"ds", &cpu.ds}, {"es", &cpu.es},
      {"fs", &cpu.fs}, {"gs", &cpu.gs}, {"tr", &cpu.tr}, {"ldt", &cpu.ldtr}};
  for (const auto& [name, s] : segments) {
    std::snprintf(line, sizeof line, "  %-3s %04x base %016llx limit %08x type %x dpl %u%s%s\n",
                  name, s->selector, static_cast<unsigned long long>(s->base), s->limit, s->type,
                  s->dpl, s->l ? " L" : "", s->db ? " D" : "");
    out += line;
  }
  std::snprintf(line, sizeof line,
                "  cr0 %08llx cr2 %016llx cr3 %016llx cr4 %08llx efer %llx\n"
                "  gdt %016llx/%04x idt %016llx/%04x",
                static_cast<unsigned long long>(cpu.cr0), static_cast<unsigned long long>(cpu.cr2),
                static_cast<unsigned long long>(cpu.cr3), static_cast<unsigned long long>(cpu.cr4),
                static_cast<unsigned long long>(cpu.efer),
                static_cast<unsigned long long>(cpu.gdt.base), cpu.gdt.limit,
                static_cast<unsigned long long>(cpu.idt.base), cpu.idt.limit);
  out += line;
  out += fpu_dump(cpu.fpu);
  return out;
}

} // namespace rrvm
