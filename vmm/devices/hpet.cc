#include "vmm/devices/hpet.h"

#include <algorithm>

namespace rrvm {

namespace {
constexpr uint64_t kCapabilities = 0x01                       // revision
                                   | (Hpet::kTimers - 1) << 8 // NUM_TIM_CAP
                                   | 1u << 13                 // COUNT_SIZE_CAP: 64-bit
                                   | 1u << 15                 // LEG_RT_CAP
                                   | uint64_t{0x8086} << 16 | Hpet::kPeriodFs << 32;
constexpr uint64_t kEnable = 0x1, kLegacyRoute = 0x2;

constexpr uint64_t kRegCapabilities = 0x000, kRegConfig = 0x010, kRegStatus = 0x020,
                   kRegCounter = 0x0F0, kRegTimers = 0x100, kTimerStride = 0x20;
constexpr uint64_t kTimerConfig = 0x00, kTimerComparator = 0x08;

constexpr uint64_t kLevelTriggered = 1u << 1, kInterruptEnable = 1u << 2, kPeriodic = 1u << 3,
                   kPeriodicCapable = 1u << 4, kSize64Capable = 1u << 5, kValueSet = 1u << 6,
                   kMode32 = 1u << 8, kRouteShift = 9, kRouteMask = 0x1Fu << kRouteShift;
constexpr uint64_t kTimerWritable =
    kLevelTriggered | kInterruptEnable | kPeriodic | kValueSet | kMode32 | kRouteMask;
constexpr uint64_t kLow32 = 0xFFFFFFFF;

uint64_t size_mask(unsigned size) {
  return size >= 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * size)) - 1;
}
uint64_t tick_at(uint64_t ns) {
  return ns / Hpet::kNsPerTick;
}
} // namespace

void Hpet::LegacyIrqFilter::set_irq(unsigned irq, bool level) {
  if (irq >= 16) return;
  const auto bit = static_cast<uint16_t>(1u << irq);
  levels_ = level ? (levels_ | bit) : (levels_ & ~bit);
  if (!withheld(irq)) pic_.set_irq(irq, level);
}

void Hpet::LegacyIrqFilter::set_suppressed(bool suppressed) {
  if (suppressed == suppressed_) return;
  suppressed_ = suppressed;
  for (unsigned irq : {0u, 8u}) {
    if (levels_ & (1u << irq)) pic_.set_irq(irq, !suppressed);
  }
}

void Hpet::LegacyIrqFilter::save(StateWriter& out) const {
  out.put(levels_);
  out.put(suppressed_);
}

void Hpet::LegacyIrqFilter::restore(StateReader& in) {
  in.get(levels_);
  in.get(suppressed_);
}

Hpet::Hpet(const VirtualClock& clock, IrqSink& pic)
    : clock_(clock), pic_(pic), legacy_filter_(pic) {}

bool Hpet::enabled() const {
  return config_ & kEnable;
}
bool Hpet::legacy_routing() const {
  return (config_ & (kEnable | kLegacyRoute)) == (kEnable | kLegacyRoute);
}

uint64_t Hpet::counter_now() const {
  if (!enabled()) return counter_base_;
  return counter_base_ + (tick_at(clock_.now_ns()) - enabled_tick_);
}

uint64_t Hpet::read(uint64_t offset, unsigned size) {
  catch_up();
  const unsigned shift = 8 * (offset & 7);
  return (register_value(offset & ~uint64_t{7}) >> shift) & size_mask(size);
}

void Hpet::write(uint64_t offset, unsigned size, uint64_t value) {
  catch_up();
  const unsigned shift = 8 * (offset & 7);
  const uint64_t mask = size_mask(size) << shift;
  write_register(offset & ~uint64_t{7}, mask, (value << shift) & mask);
}

uint64_t Hpet::register_value(uint64_t reg) {
  switch (reg) {
  case kRegCapabilities:
    return kCapabilities;
  case kRegConfig:
    return config_;
  case kRegStatus:
    return interrupt_status_;
  case kRegCounter:
    return counter_now();
  default:
    break;
  }
  if (reg < kRegTimers || reg >= kRegTimers + kTimers * kTimerStride) return 0;
  const Timer& timer = timers_[(reg - kRegTimers) / kTimerStride];
  switch ((reg - kRegTimers) % kTimerStride) {
  case kTimerConfig:
    return timer.config | kPeriodicCapable | kSize64Capable | uint64_t{kRouteCapability} << 32;
  case kTimerComparator:
    return timer.comparator;
  default:
    return 0; // FSB route: not offered
  }
}

void Hpet::write_register(uint64_t reg, uint64_t mask, uint64_t value) {
  switch (reg) {
  case kRegConfig:
    write_general_config((config_ & ~mask) | value);
    return;
  case kRegStatus:
    interrupt_status_ &= ~value; // write 1 to clear
    update_lines();
    return;
  case kRegCounter:
    if (!enabled()) {
      counter_base_ = (counter_base_ & ~mask) | value;
      checked_counter_ = counter_base_;
    }
    return;
  default:
    break;
  }
  if (reg < kRegTimers || reg >= kRegTimers + kTimers * kTimerStride) return;
  Timer& timer = timers_[(reg - kRegTimers) / kTimerStride];
  switch ((reg - kRegTimers) % kTimerStride) {
  case kTimerConfig:
    write_timer_config(timer, (timer.config & ~mask) | value);
    break;
  case kTimerComparator:
    write_comparator(timer, mask, value);
    break;
  default:
    break;
  }
}

void Hpet::write_general_config(uint64_t value) {
  value &= kEnable | kLegacyRoute;
  const bool was_enabled = enabled();
  const bool enable = value & kEnable;
  if (!was_enabled && enable) {
    enabled_tick_ = tick_at(clock_.now_ns());
    checked_counter_ = counter_base_;
  } else if (was_enabled && !enable) {
    counter_base_ = counter_now();
    checked_counter_ = counter_base_;
  }
  config_ = value;
  legacy_filter_.set_suppressed(legacy_routing());
  update_lines();
}

void Hpet::write_timer_config(Timer& timer, uint64_t value) {
  timer.config = value & kTimerWritable;
  if (timer.config & kMode32) {
    timer.comparator &= kLow32;
    timer.period &= kLow32;
  }
  update_lines();
}

void Hpet::write_comparator(Timer& timer, uint64_t mask, uint64_t value) {
  const bool mode32 = timer.config & kMode32;
  if (mode32) mask &= kLow32;
  // A periodic timer's comparator is its accumulator: software sets it only with VAL_SET; plain
  // writes set the period it advances by.
  if (!(timer.config & kPeriodic) || (timer.config & kValueSet))
    timer.comparator = (timer.comparator & ~mask) | (value & mask);
  timer.period = (timer.period & ~mask) | (value & mask);
  // VAL_SET lasts for one whole comparator value: its upper half, or its only half in 32-bit mode.
  if (mode32 || (mask & ~kLow32)) timer.config &= ~kValueSet;
}

uint64_t Hpet::next_match(const Timer& timer, uint64_t after) const {
  if (!(timer.config & kMode32)) return timer.comparator > after ? timer.comparator : kNever;
  uint64_t match = (after & ~kLow32) | (timer.comparator & kLow32);
  if (match <= after) match += kLow32 + 1;
  return match;
}

int Hpet::route(unsigned index) const {
  if (legacy_routing() && index < 2) return index == 0 ? 0 : 8;
  const auto line = static_cast<unsigned>((timers_[index].config & kRouteMask) >> kRouteShift);
  return (kRouteCapability >> line) & 1 ? static_cast<int>(line) : -1;
}

void Hpet::catch_up() {
  if (!enabled()) return;
  const uint64_t now = counter_now();
  if (now <= checked_counter_) return;
  for (unsigned i = 0; i < kTimers; ++i) {
    Timer& timer = timers_[i];
    const uint64_t match = next_match(timer, checked_counter_);
    if (match > now) continue;
    fire(i);
    if ((timer.config & kPeriodic) && timer.period != 0) {
      // However many periods a slow guest let pass, one interrupt; the next is in the future.
      const uint64_t periods = (now - match) / timer.period + 1;
      timer.comparator += periods * timer.period;
      if (timer.config & kMode32) timer.comparator &= kLow32;
    }
  }
  checked_counter_ = now;
}

void Hpet::fire(unsigned index) {
  const Timer& timer = timers_[index];
  if (timer.config & kLevelTriggered) {
    interrupt_status_ |= uint64_t{1} << index;
    update_lines();
    return;
  }
  const int line = route(index);
  if ((timer.config & kInterruptEnable) && line >= 0) {
    pic_.pulse_irq(static_cast<unsigned>(line));
    ++interrupts_;
  }
}

void Hpet::update_lines() {
  for (unsigned i = 0; i < kTimers; ++i) {
    Timer& timer = timers_[i];
    const bool asserted = enabled() && (timer.config & kLevelTriggered) &&
                          (timer.config & kInterruptEnable) && (interrupt_status_ >> i & 1);
    const int line = asserted ? route(i) : -1;
    if (line == timer.asserted_line) continue;
    if (timer.asserted_line >= 0) pic_.set_irq(static_cast<unsigned>(timer.asserted_line), false);
    if (line >= 0) {
      pic_.set_irq(static_cast<unsigned>(line), true);
      ++interrupts_;
    }
    timer.asserted_line = line;
  }
}

uint64_t Hpet::next_deadline_ns() const {
  if (!enabled()) return kNever;
  uint64_t deadline = kNever;
  for (const Timer& timer : timers_) {
    // An edge timer with its interrupt disabled has no visible effect until it is read.
    if (!(timer.config & (kInterruptEnable | kLevelTriggered))) continue;
    const uint64_t match = next_match(timer, checked_counter_);
    if (match == kNever) continue;
    const uint64_t tick = enabled_tick_ + (match - counter_base_);
    if (tick < enabled_tick_ || tick > kNever / kNsPerTick) continue;
    deadline = std::min(deadline, tick * kNsPerTick);
  }
  return deadline;
}

void Hpet::expire() {
  catch_up();
}

void Hpet::save(StateWriter& out) const {
  out.put(config_);
  out.put(interrupt_status_);
  out.put(counter_base_);
  out.put(enabled_tick_);
  out.put(checked_counter_);
  for (const Timer& timer : timers_)
    out.put(timer);
  legacy_filter_.save(out);
  out.put(interrupts_);
}

void Hpet::restore(StateReader& in) {
  in.get(config_);
  in.get(interrupt_status_);
  in.get(counter_base_);
  in.get(enabled_tick_);
  in.get(checked_counter_);
  for (Timer& timer : timers_)
    in.get(timer);
  legacy_filter_.restore(in);
  in.get(interrupts_);
}

} // namespace rrvm
