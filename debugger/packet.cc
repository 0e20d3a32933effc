#include "debugger/packet.h"

#include "debugger/hex.h"

namespace rrvm::gdb {

namespace {

bool reserved(char c) {
  return c == '$' || c == '#' || c == '}' || c == '*';
}

std::string escape(std::string_view data) {
  std::string out;
  out.reserve(data.size());
  for (char c : data) {
    if (reserved(c)) {
      out += '}';
      out += static_cast<char>(c ^ 0x20);
    } else {
      out += c;
    }
  }
  return out;
}

} // namespace

void PacketParser::start() {
  state_ = State::kPayload;
  payload_.clear();
  overlong_ = false;
  sum_ = 0;
}

void PacketParser::feed(std::span<const uint8_t> bytes, std::vector<Frame>& out) {
  for (uint8_t c : bytes) {
    switch (state_) {
    case State::kIdle:
      if (c == '$')
        start();
      else if (c == 0x03)
        out.push_back({Frame::Kind::kInterrupt, {}});
      else if (c == '+')
        out.push_back({Frame::Kind::kAck, {}});
      else if (c == '-')
        out.push_back({Frame::Kind::kNack, {}});
      break;
    case State::kPayload:
    case State::kEscape:
      if (c == '$') {
        start();
        break;
      }
      if (c == '#' && state_ == State::kPayload) {
        state_ = State::kChecksum1;
        break;
      }
      sum_ = static_cast<uint8_t>(sum_ + c);
      if (state_ == State::kPayload && c == '}') {
        state_ = State::kEscape;
        break;
      }
      if (payload_.size() >= max_payload_)
        overlong_ = true; // keep counting to the '#', so the stream stays in sync
      else
        payload_ += static_cast<char>(state_ == State::kEscape ? c ^ 0x20 : c);
      state_ = State::kPayload;
      break;
    case State::kChecksum1:
    case State::kChecksum2: {
      const int d = hex_digit_value(static_cast<char>(c));
      if (d < 0) {
        out.push_back({Frame::Kind::kBadChecksum, {}});
        state_ = State::kIdle;
        break;
      }
      if (state_ == State::kChecksum1) {
        received_sum_ = d;
        state_ = State::kChecksum2;
        break;
      }
      received_sum_ = received_sum_ << 4 | d;
      state_ = State::kIdle;
      if (received_sum_ != sum_)
        out.push_back({Frame::Kind::kBadChecksum, {}});
      else if (overlong_)
        out.push_back({Frame::Kind::kOverlong, {}});
      else
        out.push_back({Frame::Kind::kPacket, std::move(payload_)});
      payload_.clear();
      break;
    }
    }
  }
}

std::string frame_packet(std::string_view payload) {
  std::string body = escape(payload);
  uint8_t sum = 0;
  for (char c : body)
    sum = static_cast<uint8_t>(sum + static_cast<uint8_t>(c));
  return "$" + body + "#" + hex_byte(sum);
}

} // namespace rrvm::gdb
