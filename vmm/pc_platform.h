// The legacy PC platform: which devices exist, where they sit on the port and MMIO buses, and
// how their interrupt lines are wired (kvmtool style: the wiring lives in one place).
//
//   port 0x20-0x21, 0xa0-0xa1, 0x4d0-0x4d1  8259A master/slave PIC, ELCR
//   port 0x40-0x43, 0x61                    8254 PIT (IRQ0), system control port B
//   port 0x70-0x71                          MC146818 RTC/CMOS (IRQ8)
//   port 0x3f8-0x3ff                        16550A UART, COM1 (IRQ4)
//   port 0x64                               8042 keyboard controller: status, reset command
//   port 0xcf9                              reset control register
//   port 0xf4                               isa-debug-exit
//   mmio 0xfed00000-0xfed003ff              HPET (legacy replacement: IRQ0/IRQ8)
//
// isa-debug-exit, the 8042 and the reset control register end the run through one
// EndRequestLatch, which the machine looks at after every port I/O exit.
#pragma once

#include <array>
#include <cstdint>
#include <functional>

#include "vmm/devices/debug_exit.h"
#include "vmm/devices/end_request.h"
#include "vmm/devices/hpet.h"
#include "vmm/devices/i8042.h"
#include "vmm/devices/pic_8259.h"
#include "vmm/devices/pit_8254.h"
#include "vmm/devices/port_61.h"
#include "vmm/devices/reset_control.h"
#include "vmm/devices/rtc_cmos.h"
#include "vmm/devices/serial_16550.h"
#include "vmm/io_bus.h"

namespace rrvm {

class PcPlatform {
public:
  PcPlatform(const VirtualClock& clock, uint64_t ram_bytes, int64_t rtc_base_unix_seconds,
             std::function<void(uint8_t)> serial_output);

  void attach(IoBus& ports, IoBus& mmio);

  DualPic& pic() { return pic_; }
  Serial16550& serial() { return serial_; }
  // A device's request to end the run (the guest's exit status, a reset), if one was made.
  const std::optional<EndRequest>& end_request() const { return end_.pending(); }

  // Earliest deadline of all timer devices (guest ns), or TimerSource::kNever. Asked at every
  // exit, so it is kept: a deadline changes only when the guest accesses a timer device, a timer
  // expires or the platform is restored, and those mark it stale.
  uint64_t next_deadline_ns() const {
    if (deadline_stale_) [[unlikely]]
      recompute_deadline();
    return deadline_ns_;
  }
  // Lets every timer whose deadline has come raise its interrupts.
  void expire_timers() {
    if (next_deadline_ns() <= clock_.now_ns()) [[unlikely]]
      expire_due_timers();
  }

  // Interrupt edges each timer device has raised, for the statistics.
  uint64_t pit_interrupts() const { return pit_irq_.edges(); }
  uint64_t rtc_interrupts() const { return rtc_irq_.edges(); }
  // The HPET's comparators interrupt the PIC directly, not through the counting sinks (those sit
  // before its legacy filter, where the PIT and RTC enter).
  uint64_t hpet_interrupts() const { return hpet_.interrupts(); }

  void save(StateWriter& out) const;
  void restore(StateReader& in);

private:
  // Counts rising edges on the way to the PIC.
  class CountingIrqSink : public IrqSink {
  public:
    explicit CountingIrqSink(IrqSink& next) : next_(next) {}
    void set_irq(unsigned irq, bool level) override {
      if (level && !levels_[irq & 15]) ++edges_;
      levels_[irq & 15] = level;
      next_.set_irq(irq, level);
    }
    uint64_t edges() const { return edges_; }
    // Part of the platform's state: a restored machine (reverse execution) counts on from there.
    void save(StateWriter& out) const {
      out.put(edges_);
      out.put(levels_);
    }
    void restore(StateReader& in) {
      in.get(edges_);
      in.get(levels_);
    }

  private:
    IrqSink& next_;
    std::array<bool, 16> levels_{};
    uint64_t edges_ = 0;
  };

  // A timer device on the bus: any access may reprogram it (or, as a read of the RTC's register
  // C does, rearm it), so each one marks the platform's deadline stale.
  class TimerPort : public IoDevice {
  public:
    TimerPort(IoDevice& device, bool& deadline_stale)
        : device_(device), deadline_stale_(deadline_stale) {}
    std::string_view name() const override { return device_.name(); }
    uint64_t read(uint64_t offset, unsigned size) override {
      deadline_stale_ = true;
      return device_.read(offset, size);
    }
    void write(uint64_t offset, unsigned size, uint64_t value) override {
      deadline_stale_ = true;
      device_.write(offset, size, value);
    }
    // The platform saves and restores the device itself.
    void save(StateWriter&) const override {}
    void restore(StateReader&) override {}

  private:
    IoDevice& device_;
    bool& deadline_stale_;
  };

  void recompute_deadline() const;
  void expire_due_timers();

  const VirtualClock& clock_;
  DualPic pic_;
  Hpet hpet_; // before the PIT and RTC: they raise IRQ0/IRQ8 through its legacy filter
  CountingIrqSink pit_irq_;
  CountingIrqSink rtc_irq_;
  Pit8254 pit_;
  SystemControlPort port_61_;
  RtcCmos rtc_;
  Serial16550 serial_;
  EndRequestLatch end_;
  DebugExit debug_exit_;
  I8042 i8042_;
  ResetControl reset_control_;
  std::array<TimerSource*, 3> timers_;
  mutable uint64_t deadline_ns_ = TimerSource::kNever;
  mutable bool deadline_stale_ = true;
  TimerPort pit_port_{pit_, deadline_stale_};
  TimerPort port_61_port_{port_61_, deadline_stale_}; // channel 2's gate: the PIT's state
  TimerPort rtc_port_{rtc_, deadline_stale_};
  TimerPort hpet_port_{hpet_, deadline_stale_};
};

} // namespace rrvm
