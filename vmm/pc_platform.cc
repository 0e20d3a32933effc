#include "vmm/pc_platform.h"

namespace rrvm {

namespace {
constexpr unsigned kSerialIrq = 4;
} // namespace

PcPlatform::PcPlatform(const VirtualClock& clock, uint64_t ram_bytes, int64_t rtc_base_unix_seconds,
                       std::function<void(uint8_t)> serial_output)
    : clock_(clock), hpet_(clock, pic_), pit_irq_(hpet_.legacy_irq_filter()),
      rtc_irq_(hpet_.legacy_irq_filter()), pit_(clock, pit_irq_), port_61_(pit_),
      rtc_(clock, rtc_irq_, rtc_base_unix_seconds, ram_bytes),
      serial_(pic_, kSerialIrq, std::move(serial_output)), debug_exit_(end_), i8042_(end_),
      reset_control_(end_), timers_{&pit_, &rtc_, &hpet_} {}

void PcPlatform::attach(IoBus& ports, IoBus& mmio) {
  ports.add(0x20, 2, pic_.master());
  ports.add(0xa0, 2, pic_.slave());
  ports.add(0x4d0, 2, pic_.elcr());
  ports.add(0x40, 4, pit_port_);
  ports.add(0x61, 1, port_61_port_);
  ports.add(0x70, 2, rtc_port_);
  ports.add(0x3f8, 8, serial_);
  ports.add(0x64, 1, i8042_);
  ports.add(0xcf9, 1, reset_control_);
  ports.add(0xf4, 1, debug_exit_);
  mmio.add(Hpet::kBase, Hpet::kSize, hpet_port_);
}

void PcPlatform::recompute_deadline() const {
  uint64_t next = TimerSource::kNever;
  for (const TimerSource* t : timers_)
    next = std::min(next, t->next_deadline_ns());
  deadline_ns_ = next;
  deadline_stale_ = false;
}

void PcPlatform::expire_due_timers() {
  const uint64_t now = clock_.now_ns();
  for (TimerSource* t : timers_) {
    if (t->next_deadline_ns() <= now) t->expire();
  }
  deadline_stale_ = true;
}

void PcPlatform::save(StateWriter& out) const {
  pic_.save(out);
  hpet_.save(out);
  pit_.save(out);
  port_61_.save(out);
  rtc_.save(out);
  serial_.save(out);
  end_.save(out);
  reset_control_.save(out);
  pit_irq_.save(out);
  rtc_irq_.save(out);
}

void PcPlatform::restore(StateReader& in) {
  pic_.restore(in);
  hpet_.restore(in);
  pit_.restore(in);
  port_61_.restore(in);
  rtc_.restore(in);
  serial_.restore(in);
  end_.restore(in);
  reset_control_.restore(in);
  pit_irq_.restore(in);
  rtc_irq_.restore(in);
  deadline_stale_ = true;
}

} // namespace rrvm
