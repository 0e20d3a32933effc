// What the server needs from the gdb at the other end besides replies to requests: console text
// for the user, and whether gdb asked to stop a running target. The connection implements it;
// server tests use a fake.
#pragma once

#include <string_view>

namespace rrvm::gdb {

class GdbPeer {
public:
  virtual ~GdbPeer() = default;
  // Console output for gdb to print ('O' packet); only while gdb waits for a stop reply.
  virtual void send_console(std::string_view text) = 0;
  // Without blocking: whether gdb sent ^C (or went away) since the last call.
  virtual bool interrupt_requested() = 0;
};

} // namespace rrvm::gdb
