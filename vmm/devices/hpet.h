// High Precision Event Timer (IA-PC HPET 1.0a): 3 timers, 64-bit main counter at 100 MHz
// (period 10,000,000 fs, so one tick every 10 ns of virtual time, exactly).
// The machine registers it on the MMIO bus at kBase with length kSize and lists it among the
// timer sources. 4- and 8-byte accesses work at any register (and smaller ones too).
//
// Interrupt wiring (there is no IOAPIC yet, so every HPET interrupt goes to the 8259 pair):
//   DualPic pic;
//   Hpet hpet(clock, pic);
//   Pit8254 pit(clock, hpet.legacy_irq_filter());   // not `pic`
//   RtcCmos rtc(clock, hpet.legacy_irq_filter(), base_time, ram);
// The filter passes every line through to the PIC, except that while the HPET is enabled in
// legacy replacement mode (ENABLE_CNF and LEG_RT_CNF) it withholds IRQ 0 and IRQ 8, where
// timers 0 and 1 interrupt instead. A line that was high when suppression began is lowered at
// the PIC, and raised again when suppression ends.
// Outside legacy mode a timer interrupts on the PIC input named by Tn_INT_ROUTE; the route
// capability advertises IRQ 5, 9, 10 and 11, the ISA lines a PC leaves free (0 timer, 1 keyboard,
// 2 cascade, 3/4 serial, 6 floppy, 7 printer, 8 RTC, 12 mouse, 13 FPU, 14/15 IDE). A route the
// capability does not list delivers nothing. FSB (MSI) delivery is not offered.
// The main counter can only be written while the HPET is halted (ENABLE_CNF clear), as the
// specification requires of software; writes while it runs are ignored.
#pragma once

#include <array>
#include <cstdint>

#include "vmm/io_device.h"
#include "vmm/irq.h"
#include "vmm/virtual_clock.h"

namespace rrvm {

class Hpet : public IoDevice, public TimerSource {
public:
  static constexpr uint64_t kBase = 0xFED00000;
  static constexpr uint64_t kSize = 0x400;
  static constexpr uint64_t kPeriodFs = 10'000'000;
  static constexpr uint64_t kNsPerTick = 10;
  static constexpr unsigned kTimers = 3;
  static constexpr uint32_t kRouteCapability = 1u << 5 | 1u << 9 | 1u << 10 | 1u << 11;

  Hpet(const VirtualClock& clock, IrqSink& pic);
  Hpet(const Hpet&) = delete;
  Hpet& operator=(const Hpet&) = delete;

  // The IrqSink the PIT and the RTC raise their interrupts through.
  IrqSink& legacy_irq_filter() { return legacy_filter_; }

  std::string_view name() const override { return "hpet"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  // Includes the legacy filter's state.
  void save(StateWriter& out) const override;
  void restore(StateReader& in) override;

  uint64_t next_deadline_ns() const override;
  void expire() override;

  // Interrupt edges the comparators have delivered to the PIC (pulses, and rising levels), for
  // the statistics. Saved with the device state, so that a restored machine (reverse execution)
  // counts on from the snapshot's figure.
  uint64_t interrupts() const { return interrupts_; }

private:
  class LegacyIrqFilter : public IrqSink {
  public:
    explicit LegacyIrqFilter(IrqSink& pic) : pic_(pic) {}
    void set_irq(unsigned irq, bool level) override;
    void set_suppressed(bool suppressed);
    void save(StateWriter& out) const;
    void restore(StateReader& in);

  private:
    bool withheld(unsigned irq) const { return suppressed_ && (irq == 0 || irq == 8); }
    IrqSink& pic_;
    uint16_t levels_ = 0; // what the PIT and RTC last drove, suppressed or not
    bool suppressed_ = false;
  };

  struct Timer {
    uint64_t config = 0; // writable bits only
    uint64_t comparator = ~uint64_t{0};
    uint64_t period = 0;
    int32_t asserted_line = -1; // PIC input this timer holds high (level mode)
  };

  uint64_t register_value(uint64_t reg);
  void write_register(uint64_t reg, uint64_t mask, uint64_t value);
  void write_general_config(uint64_t value);
  void write_timer_config(Timer& timer, uint64_t value);
  void write_comparator(Timer& timer, uint64_t mask, uint64_t value);
  bool enabled() const;
  bool legacy_routing() const;
  uint64_t counter_now() const;
  // Absolute counter value of the timer's first match after `after`, or kNever.
  uint64_t next_match(const Timer& timer, uint64_t after) const;
  int route(unsigned index) const;
  // Processes every comparator match up to the current counter value.
  void catch_up();
  void fire(unsigned index);
  void update_lines();

  const VirtualClock& clock_;
  IrqSink& pic_;
  LegacyIrqFilter legacy_filter_;
  uint64_t config_ = 0;
  uint64_t interrupt_status_ = 0;
  uint64_t counter_base_ = 0;    // counter value when last enabled, or while halted
  uint64_t enabled_tick_ = 0;    // virtual-time tick when last enabled
  uint64_t checked_counter_ = 0; // matches up to this counter value have been processed
  std::array<Timer, kTimers> timers_{};
  uint64_t interrupts_ = 0;
};

} // namespace rrvm
