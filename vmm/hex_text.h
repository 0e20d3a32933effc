// Numbers in messages: "0x" and lowercase hex digits, the one form every message uses.
#pragma once

#include <cstdint>
#include <string>

namespace rrvm {

std::string hex_text(uint64_t value);

} // namespace rrvm
