#include "vmm/disassembler.h"

#include <Zydis/Zydis.h>
#include <cstdio>

namespace rrvm {

std::optional<std::string> disassemble_one(std::span<const uint8_t> bytes, unsigned bits,
                                           uint64_t address) {
  ZydisMachineMode mode;
  switch (bits) {
  case 16:
    mode = ZYDIS_MACHINE_MODE_REAL_16;
    break;
  case 32:
    mode = ZYDIS_MACHINE_MODE_LEGACY_32;
    break;
  case 64:
    mode = ZYDIS_MACHINE_MODE_LONG_64;
    break;
  default:
    return std::nullopt;
  }
  ZydisDisassembledInstruction insn;
  if (!ZYAN_SUCCESS(ZydisDisassembleIntel(mode, address, bytes.data(), bytes.size(), &insn)))
    return "(bad)";
  return std::string(insn.text);
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
