#include "vmm/live_gate.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <poll.h>
#include <time.h>
#include <unistd.h>

#include "vmm/engine.h"

namespace rrvm {

uint64_t host_monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

LiveGate::LiveGate(bool read_stdin) : start_ns_(host_monotonic_ns()) {
  if (!read_stdin || !isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_termios_) != 0) return;
  if (pipe(wake_pipe_) != 0) return;
  termios raw = saved_termios_;
  cfmakeraw(&raw);
  raw.c_oflag = saved_termios_.c_oflag; // keep "\n" → "\r\n" for the guest's output
  tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  reading_ = true;
  reader_ = std::thread([this] { reader_loop(); });
}

LiveGate::~LiveGate() {
  if (!reading_) return;
  char c = 0;
  (void)!write(wake_pipe_[1], &c, 1);
  reader_.join();
  restore_terminal();
  close(wake_pipe_[0]);
  close(wake_pipe_[1]);
}

void LiveGate::reader_loop() {
  bool escape = false;
  for (;;) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {wake_pipe_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents) return;
    if (!(fds[0].revents & (POLLIN | POLLHUP))) continue;
    uint8_t buf[256];
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n <= 0) return;
    {
      std::lock_guard lock(mutex_);
      for (ssize_t i = 0; i < n; ++i) {
        if (escape) {
          escape = false;
          if (buf[i] == 'x') quit_ = true;
          if (buf[i] != 0x01) continue; // Ctrl-A Ctrl-A sends one Ctrl-A
        } else if (buf[i] == 0x01) {
          escape = true;
          continue;
        }
        if (input_.size() < (1u << 20)) input_.push_back(buf[i]);
      }
      has_input_ = !input_.empty() || quit_;
    }
    input_ready_.notify_all();
    if (Engine* e = engine_.load()) e->kick();
  }
}

void LiveGate::request_stop() {
  {
    std::lock_guard lock(mutex_);
    quit_ = true;
    has_input_ = true;
  }
  input_ready_.notify_all();
  if (Engine* e = engine_.load()) e->kick();
}

void LiveGate::restore_terminal() const {
  if (reading_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios_);
}

uint64_t LiveGate::sample_clock() {
  uint64_t now = host_monotonic_ns() - start_ns_;
  if (now > last_ns_) last_ns_ = now;
  return last_ns_;
}

std::optional<ClockTie> LiveGate::clock_tie(ClockTiePoint where, uint64_t icount, uint64_t guest_ns,
                                            uint64_t rate) {
  const uint64_t now = sample_clock();
  if (where == ClockTiePoint::kQuantum) return ties_.at_quantum(now, icount, guest_ns, rate);
  if (where == ClockTiePoint::kStart) return ties_.at_start(now, icount, guest_ns, rate);
  if (!woke_early_) return std::nullopt;
  woke_early_ = false;
  return ClockTie{std::max(now, guest_ns), rate};
}

void LiveGate::wait_idle(uint64_t deadline_ns) {
  const uint64_t start = host_monotonic_ns() - start_ns_;
  bool input = false;
  {
    std::unique_lock lock(mutex_);
    auto ready = [this] { return has_input_.load(); };
    if (deadline_ns == UINT64_MAX) {
      input_ready_.wait(lock, ready);
      input = true;
    } else if (deadline_ns > start)
      input = input_ready_.wait_for(lock, std::chrono::nanoseconds(deadline_ns - start), ready);
  }
  const uint64_t end = host_monotonic_ns() - start_ns_;
  ties_.waited(end - start);
  woke_early_ = input && end < deadline_ns;
}

size_t LiveGate::take_pending_input(std::span<uint8_t> out) {
  std::lock_guard lock(mutex_);
  size_t n = 0;
  while (n < out.size() && !input_.empty()) {
    out[n++] = input_.front();
    input_.pop_front();
  }
  has_input_ = !input_.empty() || quit_;
  return n;
}

} // namespace rrvm
