// libFuzzer target: the gdb packet parser takes any byte stream, split anywhere, and what it
// accepts as a packet frames back to the same payload; the request parser takes any payload
// (the input itself, and every packet framed out of it) and yields a request whose decoded
// arguments keep the protocol's promises. The dictionary names every request, so the fuzzer
// reaches all request kinds; fuzz_seeds/ starts it from one of each.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "debugger/hex.h"
#include "debugger/packet.h"
#include "debugger/request_parser.h"

using rrvm::gdb::Frame;
using rrvm::gdb::Request;
namespace request = rrvm::gdb::request;

namespace {

void check(std::string_view payload) {
  const Request r = rrvm::gdb::parse_request(payload);
  // Decoded data never outgrows the text it came from.
  if (auto* w = std::get_if<request::WriteMemory>(&r); w && w->data.size() > payload.size())
    std::abort();
  if (auto* g = std::get_if<request::WriteRegisters>(&r); g && g->bytes.size() * 2 > payload.size())
    std::abort();
  if (auto* p = std::get_if<request::SetPoint>(&r); p && p->type > request::PointType::kAccess)
    std::abort();
  if (auto* v = std::get_if<request::VCont>(&r); v && v->actions.empty()) std::abort();
  if (auto* m = std::get_if<request::Monitor>(&r); m && m->command.size() * 2 > payload.size())
    std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  check({reinterpret_cast<const char*>(data) + 1, size - 1});
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
    check(f.payload);
  }
  return 0;
}
