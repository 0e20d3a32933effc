// MC146818-style real-time clock and 128 bytes of CMOS memory. The machine registers it at port
// 0x70 (2 ports), gives it the IrqSink for IRQ 8 (with an HPET: the HPET's legacy_irq_filter(),
// see hpet.h) and lists it among the timer sources.
//
// Wall-clock time is the machine config's base Unix time plus virtual time, plus an offset the
// guest sets by writing the time registers. Seconds roll over exactly at whole seconds of virtual
// time; UIP is set in the last 244 us before each. The divider bits of register A are stored but
// do not stop the clock.
#pragma once

#include <array>
#include <cstdint>

#include "vmm/io_device.h"
#include "vmm/irq.h"
#include "vmm/virtual_clock.h"

namespace rrvm {

class RtcCmos : public IoDevice, public TimerSource {
public:
  // `ram_below_4g_bytes` fills the memory-size bytes SeaBIOS reads (0x15-0x18, 0x30-0x31,
  // 0x34-0x35).
  RtcCmos(const VirtualClock& clock, IrqSink& irq_sink, int64_t base_unix_seconds,
          uint64_t ram_below_4g_bytes);

  std::string_view name() const override { return "rtc-cmos"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  void save(StateWriter& out) const override;
  void restore(StateReader& in) override;

  uint64_t next_deadline_ns() const override;
  void expire() override;

  // Bit 7 of the last index written to port 0x70.
  bool nmi_masked() const { return nmi_masked_; }

private:
  uint8_t read_cmos(uint8_t index);
  void write_cmos(uint8_t index, uint8_t value);
  void write_register_b(uint8_t value);
  bool setting() const;
  int64_t rtc_seconds_at(uint64_t ns) const;
  // Copies the running time into the time registers.
  void freeze_time_registers();
  // Makes the running time equal to what the time registers say.
  void take_time_from_registers();
  uint8_t time_register(uint8_t index, int64_t seconds) const;
  uint8_t encode(unsigned value) const;
  unsigned decode(uint8_t value) const;
  unsigned decode_hour(uint8_t value) const;
  bool alarm_matches(int64_t seconds) const;
  uint64_t periodic_ticks() const; // in 32768 Hz ticks; 0 = off
  // Sets the flags of every event in (events_checked_ns_, now].
  void catch_up();
  void update_irq();

  const VirtualClock& clock_;
  IrqSink& irq_sink_;
  int64_t base_unix_seconds_;
  int64_t offset_seconds_ = 0;
  std::array<uint8_t, 128> cmos_{};
  uint8_t index_ = 0;
  bool nmi_masked_ = false;
  uint64_t events_checked_ns_ = 0;
  bool irq_level_ = false;
};

} // namespace rrvm
