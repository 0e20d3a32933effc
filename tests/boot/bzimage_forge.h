// Small bzImages made in a test: a setup header with chosen fields and a payload, enough for the
// loader's parsing, its refusals and the in-guest decompressor path.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace rrvm::test {

struct ForgedBzImage {
  uint16_t version = 0x020f;
  uint32_t cmdline_size = 2047;
  uint64_t pref_address = 0x1000000;
  uint32_t init_size = 0x100000;
  uint32_t initrd_addr_max = 0x7fffffff;
  std::vector<uint8_t> payload = {'B', 'Z', 'h', '9', 0, 0, 0, 0, 0x10, 0, 0, 0};
  unsigned setup_sects = 4;

  std::vector<uint8_t> bytes() const;
};

std::string write_temp_file(const std::string& name, const std::vector<uint8_t>& bytes);

} // namespace rrvm::test
