// One-instruction disassembly (Zydis, Intel syntax), for error messages and dumps.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace rrvm {

// "mov eax, [rbx+0x8]" (Intel syntax; a size like "dword ptr" only where no register implies it)
// for the first instruction in `bytes`, decoded as `bits`-bit (16, 32 or 64) code at `address`;
// "(bad)" when the bytes do not decode; nothing for another `bits`.
std::optional<std::string> disassemble_one(std::span<const uint8_t> bytes, unsigned bits,
                                           uint64_t address);

// "0f 01 d8" — bytes in hex, separated by spaces.
std::string hex_bytes(std::span<const uint8_t> bytes);

} // namespace rrvm
