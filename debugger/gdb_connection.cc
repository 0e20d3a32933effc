#include "debugger/gdb_connection.h"

#include <cerrno>
#include <iostream>
#include <poll.h>
#include <sys/socket.h>
#include <vector>

#include "debugger/hex.h"

namespace rrvm::gdb {

Connection::Connection(UniqueFd client, int listener)
    : fd_(std::move(client)), listener_(listener) {}

void Connection::refuse_newcomer() {
  UniqueFd other(::accept(listener_, nullptr, nullptr));
  if (other) std::cerr << "rrvm: refused a second gdb connection: one is attached\n";
}

bool Connection::fill(int timeout_ms) {
  if (closed_) return false;
  pollfd fds[2] = {{fd_.get(), POLLIN, 0}, {listener_, POLLIN, 0}};
  const int ready = ::poll(fds, 2, timeout_ms);
  if (ready < 0) return errno == EINTR;
  if (fds[1].revents & POLLIN) refuse_newcomer();
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

std::optional<Connection::Packet> Connection::receive() {
  for (;;) {
    while (!frames_.empty()) {
      Frame f = std::move(frames_.front());
      frames_.pop_front();
      switch (f.kind) {
      case Frame::Kind::kPacket:
      case Frame::Kind::kOverlong:
        if (!no_ack_) write_all("+");
        return Packet{std::move(f.payload), f.kind == Frame::Kind::kOverlong};
      case Frame::Kind::kBadChecksum:
        if (!no_ack_) write_all("-");
        break;
      case Frame::Kind::kNack:
        if (!no_ack_ && !last_sent_.empty()) write_all(last_sent_);
        break;
      case Frame::Kind::kAck:
      case Frame::Kind::kInterrupt: // the target is already stopped
        break;
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
  send("O" + to_hex(text));
}

} // namespace rrvm::gdb
