// One gdb client on a socket: bytes in, framed packets parsed into typed requests, acknowledgements
// and replies out.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "debugger/gdb_peer.h"
#include "debugger/gdb_request.h"
#include "debugger/packet.h"
#include "vmm/unique_fd.h"

namespace rrvm::gdb {

class Connection : public GdbPeer {
public:
  explicit Connection(UniqueFd client);

  // The next request from gdb, blocking; nullopt once gdb has disconnected. Bad checksums are
  // answered with '-' (gdb retransmits); an overlong packet is a Malformed request.
  std::optional<Request> receive();
  void send(std::string_view payload);
  void send_console(std::string_view text) override;
  bool interrupt_requested() override;
  void set_no_ack() { no_ack_ = true; }
  // Once gdb has disconnected: whether it went away in the middle of a packet.
  bool closed_mid_packet() const { return parser_.inside_packet(); }

private:
  // Reads what is available, waiting up to `timeout_ms` (-1: forever); false once closed.
  bool fill(int timeout_ms);
  void write_all(std::string_view bytes);

  UniqueFd fd_;
  PacketParser parser_;
  std::deque<Frame> frames_;
  bool no_ack_ = false;
  bool closed_ = false;
  std::string last_sent_;
};

} // namespace rrvm::gdb
