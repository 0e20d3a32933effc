#include "debugger/gdb_connection.h"

#include <cerrno>
#include <poll.h>
#include <sys/socket.h>
#include <vector>

#include "debugger/hex.h"
#include "debugger/request_parser.h"

namespace rrvm::gdb {

Connection::Connection(UniqueFd client) : fd_(std::move(client)) {}

bool Connection::fill(int timeout_ms) {
  if (closed_) return false;
  pollfd fds[1] = {{fd_.get(), POLLIN, 0}};
  const int ready = ::poll(fds, 1, timeout_ms);
  if (ready < 0) return errno == EINTR;
  if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR))) return true;
  uint8_t buffer[4096];
  const ssize_t n = ::recv(fd_.get(), buffer, sizeof buffer, 0);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  std::vector<Frame> frames;
  parser_.feed({buffer, static_cast<size_t>(n)}, frames);
  for (Frame& f : frames)
    frames_.push_back(std::move(f));
  return true;
}

std::optional<Request> Connection::receive() {
  for (;;) {
    while (!frames_.empty()) {
      Frame f = std::move(frames_.front());
      frames_.pop_front();
      switch (f.kind) {
      case Frame::Kind::kPacket:
        if (!no_ack_) write_all("+");
        return parse_request(f.payload);
      case Frame::Kind::kOverlong:
        if (!no_ack_) write_all("+");
        return request::Malformed{};
      case Frame::Kind::kBadChecksum:
        if (!no_ack_) write_all("-");
        break;
      case Frame::Kind::kNack:
        if (!no_ack_ && !last_sent_.empty()) write_all(last_sent_);
        break;
      case Frame::Kind::kAck:
        break;
      case Frame::Kind::kInterrupt:
        return request::Interrupt{};
      }
    }
    if (!fill(-1)) return std::nullopt;
  }
}

bool Connection::interrupt_requested() {
  fill(0);
  for (auto it = frames_.begin(); it != frames_.end(); ++it) {
    if (it->kind == Frame::Kind::kInterrupt) {
      frames_.erase(it);
      return true;
    }
  }
  return closed_; // a vanished gdb stops the run too
}

void Connection::write_all(std::string_view bytes) {
  while (!bytes.empty() && !closed_) {
    const ssize_t n = ::send(fd_.get(), bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      closed_ = true;
      return;
    }
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

void Connection::send(std::string_view payload) {
  last_sent_ = frame_packet(payload);
  write_all(last_sent_);
}

void Connection::send_console(std::string_view text) {
  std::string payload(1, 'O');
  payload += to_hex(text);
  send(payload);
}

} // namespace rrvm::gdb
