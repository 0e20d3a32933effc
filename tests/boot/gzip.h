// gzip compression in tests, as a kernel's build compresses a bzImage's payload (gzip's trailer
// already ends in the uncompressed size).
#pragma once

#include <cstdint>
#include <vector>

namespace rrvm::test {

std::vector<uint8_t> gzip(const std::vector<uint8_t>& in);

} // namespace rrvm::test
