// Progress of a long replay on a terminal: events replayed of the total, rate and time left,
// redrawn on one stderr line twice a second by a background thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>

namespace rrvm {

class ReplayGate;

class ReplayProgress {
public:
  // Shows nothing unless stderr is a terminal.
  ReplayProgress(const ReplayGate& gate, std::optional<uint64_t> total_events);
  ~ReplayProgress();
  ReplayProgress(const ReplayProgress&) = delete;
  ReplayProgress& operator=(const ReplayProgress&) = delete;

private:
  void loop();

  const ReplayGate& gate_;
  std::optional<uint64_t> total_;
  std::mutex mutex_;
  std::condition_variable stop_;
  bool stopping_ = false;
  bool drawn_ = false;
  std::thread thread_;
};

} // namespace rrvm
