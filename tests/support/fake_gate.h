// A Gate for unit tests of the machine: guest time is whatever the test sets (a halted guest
// fast-forwards to its deadline, as in replay), and everything the machine reports is kept.
#pragma once

#include <algorithm>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "vmm/gate.h"

namespace rrvm::test {

class FakeGate : public Gate {
public:
  struct Read {
    uint64_t address; // port, gpa or MSR index
    uint64_t value;
  };

  // Each clock sample takes the next of `clock_script` (times of successive exits), then stays.
  uint64_t sample_clock() override {
    if (!clock_script.empty()) {
      now_ns = std::max(now_ns, clock_script.front());
      clock_script.pop_front();
    }
    return now_ns;
  }
  void wait_idle(uint64_t deadline_ns) override {
    idle_waits.push_back(deadline_ns);
    if (deadline_ns != UINT64_MAX) now_ns = std::max(now_ns, deadline_ns);
  }
  size_t take_input(std::span<uint8_t>) override { return 0; }
  bool input_possible() override { return false; }
  uint64_t host_deadline(uint64_t) const override { return 0; }

  bool on_exit(ExitReason reason, uint64_t, MaybeCount) override {
    exits.push_back(reason);
    return false;
  }
  void on_port_read(uint16_t port, uint8_t, uint32_t value) override {
    port_reads.push_back({port, value});
  }
  void on_mmio_read(uint64_t gpa, uint8_t, uint64_t value) override {
    mmio_reads.push_back({gpa, value});
  }
  void on_msr_read(uint32_t index, uint64_t value) override { msr_reads.push_back({index, value}); }
  void on_injection(uint8_t vector, uint64_t, std::optional<uint64_t>) override {
    injected.push_back(vector);
    injected_at_ns.push_back(now_ns);
  }
  void on_guest_exit(int status) override { guest_exit = status; }

  // Kicks, as a replay sees them: `kicks` are the recording's, consumed by on_kick().
  bool tracks_kicks() const override { return track_kicks; }
  void on_kick(const KickPoint& kick) override {
    reported_kicks.push_back(kick);
    if (!kicks.empty()) kicks.pop_front();
  }
  std::optional<KickPoint> next_kick() override {
    if (kicks.empty()) return std::nullopt;
    return kicks.front();
  }
  std::optional<ExitReason> next_exit_reason() override { return next_exit; }

  uint64_t now_ns = 0;
  std::deque<uint64_t> clock_script;
  bool track_kicks = false;
  std::deque<KickPoint> kicks;
  std::optional<ExitReason> next_exit; // what a replay's trace says the next exit is

  std::vector<uint64_t> idle_waits;
  std::vector<ExitReason> exits;
  std::vector<Read> port_reads;
  std::vector<Read> mmio_reads;
  std::vector<Read> msr_reads;
  std::vector<uint8_t> injected;
  std::vector<uint64_t> injected_at_ns;
  std::vector<KickPoint> reported_kicks;
  std::optional<int> guest_exit;
};

} // namespace rrvm::test
