// Interrupt request lines from devices to the interrupt controller.
#pragma once

namespace rrvm {

class IrqSink {
public:
  virtual ~IrqSink() = default;
  // Level of ISA IRQ line `irq` (0-15). Edge-triggered controllers latch a rising edge.
  virtual void set_irq(unsigned irq, bool level) = 0;
  // A full edge on an edge-triggered line (raise then lower), for devices that signal events.
  void pulse_irq(unsigned irq) {
    set_irq(irq, true);
    set_irq(irq, false);
  }
};

} // namespace rrvm
