// One gdb client on a socket: frames in, acknowledgements, replies out; and, while one client is
// attached, turning away anyone else who connects to the listening socket.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <string_view>

#include "debugger/packet.h"
#include "vmm/unique_fd.h"

namespace rrvm::gdb {

class Connection {
public:
  // `listener` stays owned by the caller; connections to it are refused while this one lives.
  Connection(UniqueFd client, int listener);

  // The next packet from gdb, blocking; nullopt once gdb has disconnected. Bad checksums are
  // answered with '-' (gdb retransmits); overlong packets come back as nullopt in `overlong`.
  struct Packet {
    std::string payload;
    bool overlong = false;
  };
  std::optional<Packet> receive();
  void send(std::string_view payload);
  // Console output for gdb to print ('O' packet); only while gdb waits for a stop reply.
  void send_console(std::string_view text);
  void set_no_ack() { no_ack_ = true; }
  // Without blocking: whether gdb sent ^C since the last call (other input is kept).
  bool interrupt_requested();

private:
  // Reads what is available, waiting up to `timeout_ms` (-1: forever); false once closed.
  bool fill(int timeout_ms);
  void refuse_newcomer();
  void write_all(std::string_view bytes);

  UniqueFd fd_;
  int listener_;
  PacketParser parser_;
  std::deque<Frame> frames_;
  bool no_ack_ = false;
  bool closed_ = false;
  std::string last_sent_;
};

} // namespace rrvm::gdb
