// libFuzzer target: the gdb packet parser takes any byte stream, split anywhere, and what it
// accepts as a packet frames back to the same payload.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "debugger/hex.h"
#include "debugger/packet.h"

using rrvm::gdb::Frame;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // The first byte picks where the stream is split, as a socket may deliver it.
  const size_t split = size > 1 ? data[0] % size : 0;
  rrvm::gdb::PacketParser parser(256);
  std::vector<Frame> frames;
  parser.feed({data + 1, split > 0 ? split - 1 : 0}, frames);
  parser.feed({data + (split > 0 ? split : 1), size - (split > 0 ? split : 1)}, frames);
  for (const Frame& f : frames) {
    if (f.kind != Frame::Kind::kPacket) continue;
    if (f.payload.size() > 256) std::abort();
    const std::string framed = rrvm::gdb::frame_packet(f.payload);
    rrvm::gdb::PacketParser again(256);
    std::vector<Frame> back;
    again.feed({reinterpret_cast<const uint8_t*>(framed.data()), framed.size()}, back);
    if (back.size() != 1 || back[0].kind != Frame::Kind::kPacket || back[0].payload != f.payload)
      std::abort();
    // The hex helpers see the same untrusted text in the server.
    (void)rrvm::gdb::from_hex(f.payload);
    (void)rrvm::gdb::parse_hex_number(f.payload);
  }
  return 0;
}
