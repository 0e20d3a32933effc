// Intel 8254 programmable interval timer. The machine registers it at port 0x40 (4 ports), gives
// it the IrqSink for IRQ 0 (with an HPET: the HPET's legacy_irq_filter(), see hpet.h) and lists it
// among the timer sources. Port 0x61 (SystemControlPort, port_61.h) drives channel 2's gate and
// reads its output.
//
// Counters are a pure function of virtual time: the 1193182 Hz input clock has ticked
// floor(ns * 1193182 / 1e9) times at guest time ns, computed in exact integer arithmetic.
// All six modes and BCD counting are implemented, with these simplifications: a new count
// takes effect at once in every mode (a real 8254 waits for the end of the period in modes 2
// and 3), and in modes 1 and 5 a new count waits for the next gate trigger.
// Channel 0's output raises IRQ 0 with an edge (pulse) at each rising edge: periodically in
// modes 2 and 3, once in modes 0 and 4.
#pragma once

#include <array>
#include <cstdint>

#include "vmm/devices/oscillator.h"
#include "vmm/io_device.h"
#include "vmm/irq.h"
#include "vmm/virtual_clock.h"

namespace rrvm {

class Pit8254 : public IoDevice, public TimerSource {
public:
  // The 1.193182 MHz input clock all three channels count.
  using Input = Oscillator<1193182>;

  Pit8254(const VirtualClock& clock, IrqSink& irq_sink);

  std::string_view name() const override { return "pit-8254"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  void save(StateWriter& out) const override;
  void restore(StateReader& in) override;

  uint64_t next_deadline_ns() const override;
  void expire() override;

  // Channel 2's gate input and output, wired to port 0x61.
  void set_channel2_gate(bool high);
  bool channel2_output() const;
  // Input clock ticks since the machine started.
  uint64_t ticks_now() const { return Input::ticks_at(clock_.now_ns()); }

private:
  struct Channel {
    uint8_t mode = 0;
    uint8_t access = 3; // 1 LSB, 2 MSB, 3 LSB then MSB
    bool bcd = false;
    uint32_t reload = 0x10000; // as a number: 1..65536 (1..10000 in BCD)
    bool loaded = false;       // a count was written since the control word
    bool triggered = false;    // modes 1 and 5: a gate rising edge started the count
    bool gate = true;
    uint64_t start_tick = 0;     // tick at which the current count started
    uint64_t paused_elapsed = 0; // elapsed ticks frozen while the gate is low
    bool null_count = true;
    bool write_msb_next = false;
    uint8_t pending_lsb = 0;
    bool read_msb_next = false;
    bool count_latched = false;
    uint16_t latched_count = 0;
    bool status_latched = false;
    uint8_t latched_status = 0;
  };

  uint8_t read_counter(Channel& ch);
  void write_counter(Channel& ch, uint8_t value);
  void write_control(uint8_t value);
  void load(Channel& ch, uint16_t raw);
  void latch_count(Channel& ch);
  void latch_status(Channel& ch);
  void set_gate(Channel& ch, bool high);
  bool counting(const Channel& ch) const;
  uint64_t elapsed(const Channel& ch, uint64_t now_tick) const;
  uint16_t count(const Channel& ch, uint64_t now_tick) const;
  bool output(const Channel& ch, uint64_t now_tick) const;
  // Absolute tick of channel's first OUT rising edge after `after_tick`, or kNever.
  uint64_t next_rising_edge(const Channel& ch, uint64_t after_tick) const;

  const VirtualClock& clock_;
  IrqSink& irq_sink_;
  std::array<Channel, 3> channels_{};
  uint64_t irq_checked_tick_ = 0; // channel 0 edges up to this tick have been raised
};

} // namespace rrvm
