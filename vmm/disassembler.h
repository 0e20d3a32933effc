// One-instruction disassembly with Capstone, for error messages and dumps.
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace rrvm {

// "mov eax, dword ptr [rbx]" for the first instruction in `bytes`, decoded as `bits`-bit (16, 32
// or 64) code at `address`; "(bad)" when the bytes do not decode.
std::string disassemble_one(std::span<const uint8_t> bytes, unsigned bits, uint64_t address);

// "0f 01 d8" — bytes in hex, separated by spaces.
std::string hex_bytes(std::span<const uint8_t> bytes);

} // namespace rrvm
