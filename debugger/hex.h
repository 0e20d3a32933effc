// Hex text as gdb's remote protocol spells numbers and byte strings.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rrvm::gdb {

std::string to_hex(std::span<const uint8_t> bytes);
std::string to_hex(std::string_view text);
// Two-digit lowercase hex of one byte.
std::string hex_byte(uint8_t value);
// A number in big-endian hex without leading zeros ("0" for zero), as in addresses.
std::string hex_number(uint64_t value);

// The value of one hex digit (either case), or -1.
int hex_digit_value(char c);
// nullopt for an odd length or a non-hex digit.
std::optional<std::vector<uint8_t>> from_hex(std::string_view text);
// A number of at most 16 hex digits; nullopt when empty, too long or not hex.
std::optional<uint64_t> parse_hex_number(std::string_view text);

} // namespace rrvm::gdb
