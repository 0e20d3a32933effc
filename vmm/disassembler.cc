#include "vmm/disassembler.h"

#include <capstone/capstone.h>
#include <cstdio>

namespace rrvm {

std::string disassemble_one(std::span<const uint8_t> bytes, unsigned bits, uint64_t address) {
  cs_mode mode = bits == 64 ? CS_MODE_64 : bits == 32 ? CS_MODE_32 : CS_MODE_16;
  csh handle;
  if (cs_open(CS_ARCH_X86, mode, &handle) != CS_ERR_OK) return "(no disassembler)";
  cs_insn* insn = nullptr;
  size_t count = cs_disasm(handle, bytes.data(), bytes.size(), address, 1, &insn);
  std::string text = "(bad)";
  if (count == 1) {
    text = insn->mnemonic;
    if (insn->op_str[0]) text += std::string(" ") + insn->op_str;
    cs_free(insn, count);
  }
  cs_close(&handle);
  return text;
}

std::string hex_bytes(std::span<const uint8_t> bytes) {
  std::string out;
  char buf[4];
  for (uint8_t b : bytes) {
    std::snprintf(buf, sizeof buf, out.empty() ? "%02x" : " %02x", b);
    out += buf;
  }
  return out;
}

} // namespace rrvm
