// Records what devices do to their interrupt lines.
#pragma once

#include <array>
#include <vector>

#include "vmm/irq.h"

namespace rrvm::testing {

class FakeIrqSink : public IrqSink {
public:
  void set_irq(unsigned irq, bool level) override {
    if (level && !levels[irq]) ++rising_edges[irq];
    levels[irq] = level;
    events.push_back({irq, level});
  }
  struct Event {
    unsigned irq;
    bool level;
  };
  std::array<bool, 16> levels{};
  std::array<unsigned, 16> rising_edges{};
  std::vector<Event> events;
};

} // namespace rrvm::testing
