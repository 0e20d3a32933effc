#include "record/record_gate.h"

namespace rrvm {

bool RecordGate::log_exit(ExitReason reason, uint64_t rip) {
  writer_->exit(static_cast<uint8_t>(reason), rip);
  return mode_ == VerifyMode::kFull;
}

void RecordGate::log_port_read(uint16_t port, uint8_t size, uint32_t value) {
  writer_->port_read(port, size, value);
}

size_t RecordGate::take_and_log_input(std::span<uint8_t> out) {
  const size_t n = host_.take_input(out);
  if (n) writer_->serial_input(out.first(n), folded_.polls);
  ++folded_.polls;
  return n;
}

void RecordGate::on_injection(uint8_t vector, uint64_t exit_index, std::optional<uint64_t> icount) {
  InjectionEvent event{};
  event.vector = vector;
  event.kind = icount ? InjectionKind::kAtIcount : InjectionKind::kAtExit;
  event.point = icount ? *icount : exit_index;
  if (mode_ == VerifyMode::kHashes)
    folded_.digest.injection(vector, event.point);
  else
    writer_->injection(event);
}

void RecordGate::on_register_hash(uint64_t hash) {
  if (mode_ == VerifyMode::kHashes) {
    verify(VerifyKind::kBoundary, hash);
    folded_.gate_wants_at = folded_.digest.reports() + kVerifyReports;
    if (const uint64_t now = host_monotonic_ns(); now - chunked_ns_ >= kChunkIntervalNs) {
      writer_->end_chunk();
      chunked_ns_ = now;
    }
  } else {
    writer_->register_hash(hash);
  }
}

void RecordGate::stats_sample(const HostSample& s) {
  StatsSampleEvent sample{s.host_ns, s.runtime_ns, s.ready_ns, s.idle_ns, s.exits.total(), {}};
  if (mode_ == VerifyMode::kHashes) {
    for (size_t reason = 0; reason < kExitReasonCount; ++reason) {
      const ExitReason r = ExitReason(reason);
      sample.exits_by_reason.push_back(s.exits.of(r) - sampled_exits_.of(r));
    }
    while (!sample.exits_by_reason.empty() && sample.exits_by_reason.back() == 0)
      sample.exits_by_reason.pop_back();
    sampled_exits_ = s.exits;
  }
  writer_->stats_sample(sample);
}

void RecordGate::finish(bool stopped) {
  if (mode_ == VerifyMode::kHashes) verify(stopped ? VerifyKind::kStop : VerifyKind::kEnd, 0);
}

void RecordGate::verify(VerifyKind kind, uint64_t state_hash) {
  writer_->verify({kind, folded_.digest.reports(), folded_.digest.hash(),
                   folded_.last_icount.value_or(0), state_hash, folded_.polls});
}

std::optional<ClockTie> RecordGate::clock_tie(ClockTiePoint where, uint64_t icount,
                                              uint64_t guest_ns, uint64_t rate) {
  const std::optional<ClockTie> tie = host_.clock_tie(where, icount, guest_ns, rate);
  if (tie) writer_->clock_tie({icount, tie->ns, tie->rate, uint8_t(where)});
  return tie;
}

} // namespace rrvm
