// The TCP socket gdb connects to: `[HOST:]PORT`, loopback unless a host is given (the stub gives
// whoever connects full control of the replay).
#pragma once

#include <cstdint>
#include <string>

#include "vmm/unique_fd.h"

namespace rrvm::gdb {

class Listener {
public:
  // Binds and listens; throws Error(kUsage) for a bad address, Error(kIo) when it cannot bind.
  explicit Listener(const std::string& address);

  int fd() const { return fd_.get(); }
  // "HOST:PORT" as bound (the port the kernel chose for port 0).
  const std::string& name() const { return name_; }
  // Waits for a client; throws Error(kIo) on failure.
  UniqueFd accept();

private:
  UniqueFd fd_;
  std::string name_;
};

} // namespace rrvm::gdb
