// `rrvm ... --gdb 127.0.0.1:0` in the background for the tests that drive it with the real gdb:
// started with its stdout and stderr in files, its port read from "waiting for gdb on", killed
// when it goes out of scope.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

namespace rrvm::test {

class GdbServerProcess {
public:
  // Runs the build's rrvm with `args`, which must serve gdb on 127.0.0.1:0.
  GdbServerProcess(const std::vector<std::string>& args, const std::string& stderr_path,
                   const std::string& stdout_path = "/dev/null");
  ~GdbServerProcess();
  GdbServerProcess(const GdbServerProcess&) = delete;
  GdbServerProcess& operator=(const GdbServerProcess&) = delete;

  // The port it waits for gdb on, or 0 when it did not say so within `timeout_ms`.
  int port(int timeout_ms = 10'000) const;
  std::string err() const;
  pid_t pid() const { return pid_; }
  // Its exit status (128 + signal when killed) once it ends, or -1 when it did not end within
  // `timeout_ms`.
  int wait_status(int timeout_ms = 20'000);

private:
  std::string stderr_path_;
  pid_t pid_ = -1;
};

// Values printed as "TAG value" lines (gdb's `printf "TAG %d\n", ...`), in order.
std::vector<std::string> tagged_values(const std::string& output, const std::string& tag);

} // namespace rrvm::test
