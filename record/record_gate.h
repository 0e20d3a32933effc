// The gate in record mode: answers come from the host (through a LiveGate) and every answer, and
// everything the machine did with it, is appended to the trace.
#pragma once

#include "formats/trace_writer.h"
#include "vmm/host_sampler.h"
#include "vmm/live_gate.h"

namespace rrvm {

class RecordGate : public Gate {
public:
  // `register_hashes`: --verify=full, log a hash of the registers at every exit.
  RecordGate(LiveGate& host, bool register_hashes)
      : host_(host), register_hashes_(register_hashes) {}
  // The trace to log to. Set before the machine runs (the header needs the loaded kernel, so the
  // writer is created after the machine, which needs its gate).
  void start(TraceWriter& writer) { writer_ = &writer; }

  uint64_t sample_clock() override {
    uint64_t ns = host_.sample_clock();
    writer_->clock(ns);
    return ns;
  }
  std::optional<ClockTie> clock_tie(ClockTiePoint where, uint64_t icount, uint64_t guest_ns,
                                    uint64_t rate) override;
  void wait_idle(uint64_t deadline_ns) override { host_.wait_idle(deadline_ns); }
  size_t take_input(std::span<uint8_t> out) override {
    size_t n = host_.take_input(out);
    if (n) writer_->serial_input(out.first(n));
    return n;
  }
  bool input_possible() override { return host_.input_possible(); }
  uint64_t host_deadline(uint64_t guest_ns) const override { return host_.host_deadline(guest_ns); }
  bool stop_requested() const override { return host_.stop_requested(); }

  void on_exit(ExitReason reason, uint64_t rip, std::optional<uint64_t>) override {
    writer_->exit(static_cast<uint8_t>(reason), rip);
  }
  void on_port_read(uint16_t port, uint8_t size, uint32_t value) override {
    writer_->port_read(port, size, value);
  }
  void on_mmio_read(uint64_t gpa, uint8_t size, uint64_t value) override {
    writer_->mmio_read(gpa, size, value);
  }
  void on_msr_read(uint32_t index, uint64_t value) override { writer_->msr_read(index, value); }
  void on_injection(uint8_t vector, uint64_t exit_index, std::optional<uint64_t> icount) override;
  void on_guest_exit(int status) override { writer_->guest_exit(status); }
  bool tracks_kicks() const override { return true; }
  bool wants_register_hashes() const override { return register_hashes_; }
  void on_register_hash(uint64_t hash) override { writer_->register_hash(hash); }
  void on_kick(const KickPoint& kick) override {
    writer_->kick({kick.rip, 0, kick.state_hash, kick.dirty_hash});
  }

  // The host-time counters replay cannot recompute (Machine::set_sample_sink).
  void stats_sample(const HostSample& s) {
    writer_->stats_sample({s.host_ns, s.runtime_ns, s.ready_ns, s.idle_ns, s.exits});
  }

private:
  LiveGate& host_;
  bool register_hashes_;
  TraceWriter* writer_ = nullptr;
};

} // namespace rrvm
