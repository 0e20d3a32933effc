// The gate of a plain `rrvm run`: guest time is host CLOCK_MONOTONIC time since the machine
// started (sampled, or tied by ClockTiePolicy for the adaptive clock); serial input comes from
// stdin when it is an interactive terminal.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <termios.h>
#include <thread>

#include "vmm/clock_tie_policy.h"
#include "vmm/gate.h"

namespace rrvm {

class Engine;

class LiveGate final : public Gate {
public:
  // `read_stdin`: forward stdin to the guest (only honoured when stdin is a terminal, which is
  // then put in raw mode until the gate is destroyed; Ctrl-A x quits, as in QEMU).
  explicit LiveGate(bool read_stdin);
  ~LiveGate() override;

  uint64_t sample_clock() override;
  // At a quantum, ClockTiePolicy's answer; after a wait that input (or a stop) ended before its
  // deadline, a tie to the host time of the wake-up; at the start, a tie to the host time now
  // when the machine took longer than the policy's drift limit to start.
  std::optional<ClockTie> clock_tie(ClockTiePoint where, uint64_t icount, uint64_t guest_ns,
                                    uint64_t rate) override;
  void wait_idle(uint64_t deadline_ns) override;
  // Polled at every exit: without input, only an atomic load (inlined where the gate's type is
  // known, as in RecordGate).
  size_t take_input(std::span<uint8_t> out) override {
    return input_waiting() ? take_pending_input(out) : 0;
  }
  // Whether take_input() would find input (or a stop request) now.
  bool input_waiting() const { return has_input_.load(std::memory_order_relaxed); }
  const std::atomic<bool>& input_flag() const { return has_input_; }
  bool input_possible() override { return reading_; }
  uint64_t host_deadline(uint64_t guest_ns) const override { return start_ns_ + guest_ns; }

  // The engine to kick when input arrives while the guest runs.
  void set_engine(Engine* engine) { engine_.store(engine); }
  bool stop_requested() const override { return quit_.load(); }
  // Ends the run as Ctrl-A x does: the running vCPU is kicked and a halted one woken. Callable
  // from any thread.
  void request_stop();
  // Puts the terminal back as it was, for a process about to die without unwinding.
  void restore_terminal() const;

private:
  void reader_loop();
  size_t take_pending_input(std::span<uint8_t> out);

  uint64_t start_ns_;
  uint64_t last_ns_ = 0;
  ClockTiePolicy ties_;
  bool woke_early_ = false; // the last wait_idle ended before its deadline
  bool reading_ = false;
  termios saved_termios_{};
  int wake_pipe_[2] = {-1, -1};
  std::thread reader_;
  std::mutex mutex_;
  std::condition_variable input_ready_;
  std::deque<uint8_t> input_;
  std::atomic<bool> has_input_{false};
  std::atomic<bool> quit_{false};
  std::atomic<Engine*> engine_{nullptr};
};

uint64_t host_monotonic_ns();

} // namespace rrvm
