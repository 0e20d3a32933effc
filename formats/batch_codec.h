// EventColumns <-> the EventBatch FlatBuffer (trace.fbs) inside a chunk.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <flatbuffers/flatbuffers.h>

#include "formats/event_columns.h"

namespace rrvm {

// Reused across batches so encoding does not allocate in steady state.
class BatchEncoder {
public:
  // The buffer stays valid until the next call.
  std::span<const uint8_t> encode(const EventColumns& columns, uint64_t first_event);

private:
  flatbuffers::FlatBufferBuilder builder_{1 << 20};
  std::vector<uint8_t> scratch_;
};

// Verifies `buffer` and fills `out` (reusing its capacity). Returns why the buffer is not a
// consistent batch of `event_count` events starting at `first_event`, or nothing.
std::optional<std::string> decode_batch(std::span<const uint8_t> buffer, uint64_t first_event,
                                        uint32_t event_count, EventColumns& out);

} // namespace rrvm
