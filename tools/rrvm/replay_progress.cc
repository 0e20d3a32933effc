#include "tools/rrvm/replay_progress.h"

#include <chrono>
#include <cstdio>
#include <unistd.h>

#include "replay/replay_gate.h"

namespace rrvm {

ReplayProgress::ReplayProgress(const ReplayGate& gate, std::optional<uint64_t> total_events)
    : gate_(gate), total_(total_events) {
  if (isatty(STDERR_FILENO)) thread_ = std::thread([this] { loop(); });
}

ReplayProgress::~ReplayProgress() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  stop_.notify_all();
  thread_.join();
  if (drawn_) std::fprintf(stderr, "\r\033[K");
}

void ReplayProgress::loop() {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  std::unique_lock lock(mutex_);
  // Short replays finish before the first redraw and print nothing.
  while (!stop_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; })) {
    const uint64_t done = gate_.position();
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    const double rate = done / seconds;
    if (total_ && *total_ > 0) {
      const double left = rate > 0 ? (*total_ - std::min(done, *total_)) / rate : 0;
      std::fprintf(stderr,
                   "\r\033[Krrvm: replayed %llu of %llu events (%.0f%%), %.2f M/s, %.0f s left",
                   static_cast<unsigned long long>(done), static_cast<unsigned long long>(*total_),
                   100.0 * done / *total_, rate / 1e6, left);
    } else {
      std::fprintf(stderr, "\r\033[Krrvm: replayed %llu events, %.2f M/s",
                   static_cast<unsigned long long>(done), rate / 1e6);
    }
    drawn_ = true;
  }
}

} // namespace rrvm
