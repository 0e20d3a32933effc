#include "record/record_gate.h"

namespace rrvm {

void RecordGate::on_injection(uint8_t vector, uint64_t exit_index, std::optional<uint64_t> icount) {
  InjectionEvent event{};
  event.vector = vector;
  event.kind = icount ? InjectionKind::kAtIcount : InjectionKind::kAtExit;
  event.point = icount ? *icount : exit_index;
  writer_->injection(event);
}

std::optional<ClockTie> RecordGate::clock_tie(ClockTiePoint where, uint64_t icount,
                                              uint64_t guest_ns, uint64_t rate) {
  const std::optional<ClockTie> tie = host_.clock_tie(where, icount, guest_ns, rate);
  if (tie) writer_->clock_tie({icount, tie->ns, tie->rate, uint8_t(where)});
  return tie;
}

} // namespace rrvm
