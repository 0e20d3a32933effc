// While one gdb is attached, turns away everyone else who connects to the listening socket, at
// once: from its own thread, because a replay may run for long between looks at the connection.
// The log says so once and counts the rest, so a client retrying in a loop cannot flood it.
#pragma once

#include <cstdint>
#include <thread>

#include "vmm/unique_fd.h"

namespace rrvm::gdb {

class ConnectionRefuser {
public:
  // `listener` stays owned by the caller and must outlive this.
  explicit ConnectionRefuser(int listener);
  // Stops refusing; says how many more were refused after the first.
  ~ConnectionRefuser();
  ConnectionRefuser(const ConnectionRefuser&) = delete;
  ConnectionRefuser& operator=(const ConnectionRefuser&) = delete;

private:
  void refuse_until_stopped();

  int listener_;
  int listener_flags_;
  UniqueFd stop_; // an eventfd: readable once the destructor wants the thread to end
  uint64_t refused_ = 0;
  std::thread thread_;
};

} // namespace rrvm::gdb
