// Packet framing of gdb's remote serial protocol: `$payload#cs` with a two-digit modulo-256
// checksum, `}`-escaping of `$#}*`, the `+`/`-` acknowledgements and the out-of-band ^C.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace rrvm::gdb {

// The largest payload the server accepts; qSupported announces it as PacketSize.
constexpr size_t kMaxPacketSize = 0x4000;

struct Frame {
  enum class Kind : uint8_t {
    kPacket,      // a well-formed packet; `payload` is unescaped
    kBadChecksum, // answer '-': the sender retransmits
    kOverlong,    // payload longer than the limit; its bytes were dropped
    kInterrupt,   // ^C: stop the running target
    kAck,         // '+'
    kNack,        // '-': retransmit the last reply
  };
  Kind kind;
  std::string payload;
};

// Turns the byte stream from gdb into frames; bytes may arrive split anywhere. Garbage between
// packets is skipped, and a '$' inside a packet starts a new one (gdb resynchronising).
class PacketParser {
public:
  explicit PacketParser(size_t max_payload = kMaxPacketSize) : max_payload_(max_payload) {}

  void feed(std::span<const uint8_t> bytes, std::vector<Frame>& out);
  // Whether the bytes fed so far end inside a packet.
  bool inside_packet() const { return state_ != State::kIdle; }

private:
  enum class State : uint8_t { kIdle, kPayload, kEscape, kChecksum1, kChecksum2 };
  void start();

  size_t max_payload_;
  State state_ = State::kIdle;
  std::string payload_;
  bool overlong_ = false;
  uint8_t sum_ = 0;      // running checksum over the raw (escaped) payload bytes
  int received_sum_ = 0; // the sender's checksum, first digit then both
};

// `$payload#cs`, `}`-escaping the bytes the framing reserves (gdb unescapes every packet, so
// binary `qXfer` data needs nothing more).
std::string frame_packet(std::string_view payload);

} // namespace rrvm::gdb
