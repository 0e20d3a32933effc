#include "record/record_gate.h"

namespace rrvm {

void RecordGate::on_injection(uint8_t vector, uint64_t exit_index, std::optional<uint64_t> icount) {
  InjectionEvent event{};
  event.vector = vector;
  event.kind = icount ? InjectionKind::kAtIcount : InjectionKind::kAtExit;
  event.point = icount ? *icount : exit_index;
  writer_->injection(event);
}

} // namespace rrvm
