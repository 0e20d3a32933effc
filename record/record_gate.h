// The gate in record mode: answers come from the host (through a LiveGate) and every answer is
// appended to the trace. What the machine did with them (its reports) is logged one by one
// (--verify exits, full: kvm cannot recompute its exits) or, on emu by default (--verify hashes),
// folded into a ReportDigest that is logged only at verification events.
#pragma once

#include "formats/trace_writer.h"
#include "formats/verify_mode.h"
#include "vmm/folded_reports.h"
#include "vmm/host_sampler.h"
#include "vmm/live_gate.h"

namespace rrvm {

class RecordGate : public Gate {
public:
  explicit RecordGate(LiveGate& host) : host_(host) { folded_.input_waiting = &host_.input_flag(); }
  // The trace to log to and how. Set before the machine runs (the header needs the loaded kernel,
  // so the writer is created after the machine, which needs its gate).
  void start(TraceWriter& writer, VerifyMode mode) {
    writer_ = &writer;
    mode_ = mode;
    folded_.gate_wants_at = mode == VerifyMode::kHashes ? kVerifyReports : UINT64_MAX;
  }
  // Closes the verification after the run: under --verify hashes, the reports since the last
  // check and, when the user stopped the run (`stopped`), where.
  void finish(bool stopped);

  uint64_t sample_clock() override {
    uint64_t ns = host_.sample_clock();
    writer_->clock(ns);
    return ns;
  }
  std::optional<ClockTie> clock_tie(ClockTiePoint where, uint64_t icount, uint64_t guest_ns,
                                    uint64_t rate) override;
  void wait_idle(uint64_t deadline_ns) override { host_.wait_idle(deadline_ns); }
  // Polled at every exit: with no input waiting, a count and no frame.
  size_t take_input(std::span<uint8_t> out) override {
    if (!host_.input_waiting()) [[likely]] {
      ++folded_.polls;
      return 0;
    }
    return take_and_log_input(out);
  }
  bool input_possible() override { return host_.input_possible(); }
  uint64_t host_deadline(uint64_t guest_ns) const override { return host_.host_deadline(guest_ns); }
  bool stop_requested() const override { return host_.stop_requested(); }

  // The reports come at every exit: under --verify hashes they only fold into the digest (most
  // exits the machine folds itself, folded_reports()), and what logs them is kept out of line so
  // that folding stays a leaf function. --verify full wants the registers' hash at every exit,
  // hashes at the exit that closes a window.
  bool on_exit(ExitReason reason, uint64_t rip, MaybeCount icount) override {
    if (mode_ != VerifyMode::kHashes) [[unlikely]]
      return log_exit(reason, rip);
    folded_.fold(reason, rip, icount);
    return folded_.digest.reports() >= folded_.gate_wants_at;
  }
  FoldedReports* folded_reports() override {
    return mode_ == VerifyMode::kHashes ? &folded_ : nullptr;
  }
  void on_port_read(uint16_t port, uint8_t size, uint32_t value) override {
    if (mode_ != VerifyMode::kHashes) [[unlikely]]
      return log_port_read(port, size, value);
    folded_.digest.port_read(port, size, value);
  }
  void on_mmio_read(uint64_t gpa, uint8_t size, uint64_t value) override {
    if (mode_ != VerifyMode::kHashes) return writer_->mmio_read(gpa, size, value);
    folded_.digest.mmio_read(gpa, size, value);
  }
  void on_msr_read(uint32_t index, uint64_t value) override {
    if (mode_ != VerifyMode::kHashes) return writer_->msr_read(index, value);
    folded_.digest.msr_read(index, value);
  }
  void on_injection(uint8_t vector, uint64_t exit_index, std::optional<uint64_t> icount) override;
  void on_guest_exit(int status) override {
    if (mode_ == VerifyMode::kHashes) folded_.digest.guest_exit(status);
    writer_->guest_exit(status);
  }
  bool tracks_kicks() const override { return true; }
  void on_register_hash(uint64_t hash) override;
  void on_kick(const KickPoint& kick) override {
    writer_->kick({kick.rip, 0, kick.state_hash, kick.dirty_hash});
  }

  // The host-time counters replay cannot recompute (Machine::set_sample_sink); under --verify
  // hashes also the exits by reason since the previous sample, which the trace holds no other way.
  void stats_sample(const HostSample& s);

private:
  // Out of line, so that the --verify hashes path of on_exit and on_port_read needs no frame.
  // Returns on_exit's answer: --verify full hashes the registers at every exit.
  [[gnu::noinline]] bool log_exit(ExitReason reason, uint64_t rip);
  [[gnu::noinline]] void log_port_read(uint16_t port, uint8_t size, uint32_t value);
  [[gnu::noinline]] size_t take_and_log_input(std::span<uint8_t> out);
  void verify(VerifyKind kind, uint64_t state_hash);

  // How much host time of recording a killed recorder may lose at most, plus one window.
  static constexpr uint64_t kChunkIntervalNs = 1'000'000'000;

  LiveGate& host_;
  TraceWriter* writer_ = nullptr;
  VerifyMode mode_ = VerifyMode::kExits;
  // The input polls so far; --verify hashes: the digest, the instruction count at the last exit
  // and the report count that wants a register hash.
  FoldedReports folded_;
  ExitCounts sampled_exits_;                  // --verify hashes: as of the last stats sample
  uint64_t chunked_ns_ = host_monotonic_ns(); // when the writer last ended a chunk
};

} // namespace rrvm
