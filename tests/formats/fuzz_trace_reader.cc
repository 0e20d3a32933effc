// libFuzzer target: any byte string opened as a trace must end in a clean Error or a clean stop.
#include <cstdint>

#include "formats/trace_reader.h"
#include "tests/formats/trace_test_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    rrvm::TraceReader reader(rrvm::test::memory_file({data, size}));
    rrvm::Event event;
    uint64_t n = 0;
    while (reader.next(event))
      ++n;
    if (n != reader.status().events) __builtin_trap();
    reader.seek(n / 2);
    while (reader.next(event)) {
    }
    // Images may legitimately decompress to 1 GiB; stay within libFuzzer's memory limit.
    for (const rrvm::GuestImage& image : reader.header().images)
      if (image.original_size <= (16u << 20)) (void)image.bytes();
  } catch (const rrvm::Error&) {
  }
  return 0;
}
