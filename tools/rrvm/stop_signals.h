// SIGINT, SIGTERM and SIGHUP end a run, a recording or a replay cleanly: the first one asks the
// machine to stop at its next exit, after which the trace, the serial output and the terminal
// are finished as at any other end. A second one ends the process at once, as if rrvm had no
// handler, leaving what was already written readable.
//
// The signals are blocked in every thread and taken by a watcher thread (signalfd), so the
// actions run in an ordinary thread and may lock, notify and rename.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "vmm/unique_fd.h"

namespace rrvm {

class StopSignals {
public:
  // Blocks the signals in the calling thread, which every thread started later inherits:
  // construct it before any other thread starts.
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // An action installed for the lifetime of the Hook.
  class Hook {
  public:
    Hook(StopSignals& owner, std::function<void()> StopSignals::*slot)
        : owner_(owner), slot_(slot) {}
    ~Hook();
    Hook(const Hook&) = delete;
    Hook& operator=(const Hook&) = delete;

  private:
    StopSignals& owner_;
    std::function<void()> StopSignals::*slot_;
  };

  // `stop` runs on the first signal (at once, if one came already): it asks the machine to stop.
  [[nodiscard]] Hook on_stop(std::function<void()> stop);
  // `last_words` runs on a second signal just before the process dies, e.g. to move a partial
  // trace to its name.
  [[nodiscard]] Hook on_kill(std::function<void()> last_words);

  // The first signal received; 0 if none.
  int received() const { return received_.load(); }
  // "SIGINT", "SIGTERM" or "SIGHUP".
  static std::string name(int signal);

private:
  void watch();

  UniqueFd signals_;
  UniqueFd wake_;
  std::mutex mutex_;
  std::function<void()> stop_;
  std::function<void()> last_words_;
  std::atomic<int> received_{0};
  std::thread watcher_;
};

} // namespace rrvm
