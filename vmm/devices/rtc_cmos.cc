#include "vmm/devices/rtc_cmos.h"

#include "vmm/devices/oscillator.h"

#include <algorithm>
#include <chrono>

namespace rrvm {

namespace {
constexpr unsigned kIrq = 8;
constexpr uint64_t kUpdateInProgressNs = 244'000;
// The 32.768 kHz crystal the periodic interrupt divides.
using Crystal = Oscillator<32768>;
constexpr int64_t kSecondsPerDay = 86400;

enum Index : uint8_t {
  kSeconds = 0x00,
  kSecondsAlarm = 0x01,
  kMinutes = 0x02,
  kMinutesAlarm = 0x03,
  kHours = 0x04,
  kHoursAlarm = 0x05,
  kDayOfWeek = 0x06,
  kDayOfMonth = 0x07,
  kMonth = 0x08,
  kYear = 0x09,
  kRegA = 0x0A,
  kRegB = 0x0B,
  kRegC = 0x0C,
  kRegD = 0x0D,
  kCentury = 0x32,
};
constexpr uint8_t kRegAUpdateInProgress = 0x80;
constexpr uint8_t kRegBSet = 0x80, kRegBPeriodic = 0x40, kRegBAlarm = 0x20, kRegBUpdate = 0x10,
                  kRegBBinary = 0x04, kRegB24Hour = 0x02;
constexpr uint8_t kRegCIrq = 0x80, kRegCPeriodic = 0x40, kRegCAlarm = 0x20, kRegCUpdate = 0x10;
constexpr uint8_t kRegDValidRam = 0x80;
constexpr uint8_t kHourPm = 0x80;
constexpr uint8_t kAlarmDontCare = 0xC0;

bool is_time_register(uint8_t index) {
  return index == kSeconds || index == kMinutes || index == kHours ||
         (index >= kDayOfWeek && index <= kYear) || index == kCentury;
}

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

void put16(std::array<uint8_t, 128>& cmos, uint8_t index, uint64_t value) {
  cmos[index] = static_cast<uint8_t>(value);
  cmos[index + 1] = static_cast<uint8_t>(value >> 8);
}
} // namespace

RtcCmos::RtcCmos(const VirtualClock& clock, IrqSink& irq_sink, int64_t base_unix_seconds,
                 uint64_t ram_below_4g_bytes)
    : clock_(clock), irq_sink_(irq_sink), base_unix_seconds_(base_unix_seconds) {
  cmos_[kRegA] = 0x26; // 32.768 kHz divider, 1024 Hz periodic rate
  cmos_[kRegB] = kRegB24Hour;
  constexpr uint64_t kMiB = 1 << 20;
  put16(cmos_, 0x15, 640);
  const uint64_t extended_kib = ram_below_4g_bytes > kMiB
                                    ? std::min<uint64_t>((ram_below_4g_bytes - kMiB) / 1024, 0xFFFF)
                                    : 0;
  put16(cmos_, 0x17, extended_kib);
  put16(cmos_, 0x30, extended_kib);
  const uint64_t above_16m_blocks =
      ram_below_4g_bytes > 16 * kMiB
          ? std::min<uint64_t>((ram_below_4g_bytes - 16 * kMiB) / 65536, 0xFFFF)
          : 0;
  put16(cmos_, 0x34, above_16m_blocks);
}

uint64_t RtcCmos::read(uint64_t offset, unsigned size) {
  // The index port is write-only.
  return read_bytes(offset, size, [this](uint64_t port) -> uint8_t {
    return port == 1 ? read_cmos(index_) : 0xFF;
  });
}

void RtcCmos::write(uint64_t offset, unsigned size, uint64_t value) {
  write_bytes(offset, size, value, [this](uint64_t port, uint8_t byte) {
    if (port == 0) {
      index_ = byte & 0x7F;
      nmi_masked_ = byte & 0x80;
    } else if (port == 1) {
      write_cmos(index_, byte);
    }
  });
}

uint8_t RtcCmos::read_cmos(uint8_t index) {
  if (is_time_register(index) && !setting())
    return time_register(index, rtc_seconds_at(clock_.now_ns()));
  switch (index) {
  case kRegA: {
    const bool updating =
        !setting() && clock_.now_ns() % kNsPerSecond >= kNsPerSecond - kUpdateInProgressNs;
    return static_cast<uint8_t>(cmos_[kRegA] | (updating ? kRegAUpdateInProgress : 0));
  }
  case kRegC: {
    catch_up();
    const uint8_t flags = cmos_[kRegC];
    cmos_[kRegC] = 0;
    update_irq();
    return flags;
  }
  case kRegD:
    return kRegDValidRam;
  default:
    return cmos_[index];
  }
}

void RtcCmos::write_cmos(uint8_t index, uint8_t value) {
  catch_up();
  if (is_time_register(index)) {
    if (setting()) {
      cmos_[index] = value;
    } else {
      freeze_time_registers();
      cmos_[index] = value;
      take_time_from_registers();
    }
    return;
  }
  switch (index) {
  case kRegA:
    cmos_[kRegA] = value & ~kRegAUpdateInProgress;
    break;
  case kRegB:
    write_register_b(value);
    break;
  case kRegC:
  case kRegD:
    break; // read-only
  default:
    cmos_[index] = value;
    break;
  }
  update_irq();
}

void RtcCmos::write_register_b(uint8_t value) {
  const bool was_setting = setting();
  // SET stops updates, so it also clears the update-ended interrupt enable.
  if (value & kRegBSet) value &= ~kRegBUpdate;
  if (!was_setting && (value & kRegBSet)) freeze_time_registers();
  const bool resume = was_setting && !(value & kRegBSet);
  cmos_[kRegB] = value;
  if (resume) take_time_from_registers();
}

bool RtcCmos::setting() const {
  return cmos_[kRegB] & kRegBSet;
}

int64_t RtcCmos::rtc_seconds_at(uint64_t ns) const {
  return base_unix_seconds_ + offset_seconds_ + static_cast<int64_t>(ns / kNsPerSecond);
}

void RtcCmos::freeze_time_registers() {
  const int64_t now = rtc_seconds_at(clock_.now_ns());
  for (uint8_t index :
       {kSeconds, kMinutes, kHours, kDayOfWeek, kDayOfMonth, kMonth, kYear, kCentury})
    cmos_[index] = time_register(index, now);
}

void RtcCmos::take_time_from_registers() {
  using namespace std::chrono;
  const unsigned month_number = std::clamp(decode(cmos_[kMonth]), 1u, 12u);
  const int full_year = static_cast<int>(decode(cmos_[kCentury]) * 100 + decode(cmos_[kYear]));
  const sys_days date = year_month_day{year{full_year}, month{month_number}, day{1}};
  const int64_t day_number =
      date.time_since_epoch().count() + static_cast<int64_t>(decode(cmos_[kDayOfMonth])) - 1;
  const int64_t seconds = day_number * kSecondsPerDay + decode_hour(cmos_[kHours]) * 3600 +
                          decode(cmos_[kMinutes]) * 60 + decode(cmos_[kSeconds]);
  offset_seconds_ = seconds - rtc_seconds_at(clock_.now_ns()) + offset_seconds_;
}

uint8_t RtcCmos::time_register(uint8_t index, int64_t seconds) const {
  using namespace std::chrono;
  const int64_t day_number = floor_div(seconds, kSecondsPerDay);
  const int64_t second_of_day = seconds - day_number * kSecondsPerDay;
  const sys_days date{days{day_number}};
  const year_month_day ymd{date};
  const int full_year = static_cast<int>(ymd.year());
  switch (index) {
  case kSeconds:
    return encode(static_cast<unsigned>(second_of_day % 60));
  case kMinutes:
    return encode(static_cast<unsigned>(second_of_day / 60 % 60));
  case kHours: {
    const auto hour = static_cast<unsigned>(second_of_day / 3600);
    if (cmos_[kRegB] & kRegB24Hour) return encode(hour);
    const unsigned twelve_hour = hour % 12 == 0 ? 12 : hour % 12;
    return static_cast<uint8_t>(encode(twelve_hour) | (hour >= 12 ? kHourPm : 0));
  }
  case kDayOfWeek:
    return encode(weekday{date}.c_encoding() + 1); // Sunday is 1
  case kDayOfMonth:
    return encode(static_cast<unsigned>(ymd.day()));
  case kMonth:
    return encode(static_cast<unsigned>(ymd.month()));
  case kYear:
    return encode(static_cast<unsigned>(full_year % 100));
  default:
    return encode(static_cast<unsigned>(full_year / 100));
  }
}

uint8_t RtcCmos::encode(unsigned value) const {
  if (cmos_[kRegB] & kRegBBinary) return static_cast<uint8_t>(value);
  return static_cast<uint8_t>((value / 10 % 10) << 4 | value % 10);
}

unsigned RtcCmos::decode(uint8_t value) const {
  if (cmos_[kRegB] & kRegBBinary) return value;
  return (value >> 4) * 10 + (value & 0x0F);
}

unsigned RtcCmos::decode_hour(uint8_t value) const {
  if (cmos_[kRegB] & kRegB24Hour) return decode(value);
  const unsigned twelve_hour = decode(value & ~kHourPm) % 12;
  return twelve_hour + ((value & kHourPm) ? 12 : 0);
}

bool RtcCmos::alarm_matches(int64_t seconds) const {
  const int64_t second_of_day = seconds - floor_div(seconds, kSecondsPerDay) * kSecondsPerDay;
  const auto field_matches = [](uint8_t alarm, unsigned decoded_alarm, int64_t actual) {
    return (alarm & kAlarmDontCare) == kAlarmDontCare || decoded_alarm == actual;
  };
  return field_matches(cmos_[kSecondsAlarm], decode(cmos_[kSecondsAlarm]), second_of_day % 60) &&
         field_matches(cmos_[kMinutesAlarm], decode(cmos_[kMinutesAlarm]),
                       second_of_day / 60 % 60) &&
         field_matches(cmos_[kHoursAlarm], decode_hour(cmos_[kHoursAlarm]), second_of_day / 3600);
}

uint64_t RtcCmos::periodic_ticks() const {
  const unsigned rate = cmos_[kRegA] & 0x0F;
  if (rate == 0) return 0;
  // Rates 1 and 2 repeat rates 8 and 9 on a 32.768 kHz time base.
  return uint64_t{1} << ((rate <= 2 ? rate + 7 : rate) - 1);
}

void RtcCmos::catch_up() {
  const uint64_t now = clock_.now_ns();
  const uint64_t before = events_checked_ns_;
  if (now <= before) return;
  events_checked_ns_ = now;
  uint8_t flags = 0;
  if (const uint64_t period = periodic_ticks();
      period && Crystal::ticks_at(now) / period > Crystal::ticks_at(before) / period)
    flags |= kRegCPeriodic;
  const uint64_t first_update = before / kNsPerSecond + 1;
  const uint64_t last_update = now / kNsPerSecond;
  if (!setting() && last_update >= first_update) {
    flags |= kRegCUpdate;
    // The alarm compares the time of day, so a day of updates covers every possible match.
    const uint64_t first_checked =
        std::max<uint64_t>(first_update, last_update - std::min<uint64_t>(last_update, 86399));
    for (uint64_t s = first_checked; s <= last_update; ++s) {
      if (alarm_matches(rtc_seconds_at(s * kNsPerSecond))) {
        flags |= kRegCAlarm;
        break;
      }
    }
  }
  cmos_[kRegC] |= flags;
  update_irq();
}

void RtcCmos::update_irq() {
  const uint8_t b = cmos_[kRegB];
  const uint8_t c = cmos_[kRegC];
  const bool level = ((b & kRegBPeriodic) && (c & kRegCPeriodic)) ||
                     ((b & kRegBAlarm) && (c & kRegCAlarm)) ||
                     ((b & kRegBUpdate) && (c & kRegCUpdate));
  cmos_[kRegC] = static_cast<uint8_t>(level ? (c | kRegCIrq) : (c & ~kRegCIrq));
  if (level == irq_level_) return;
  irq_level_ = level;
  irq_sink_.set_irq(kIrq, level);
}

uint64_t RtcCmos::next_deadline_ns() const {
  // Until the guest reads register C, a new event cannot change the IRQ line.
  if (irq_level_) return kNever;
  const uint8_t b = cmos_[kRegB];
  uint64_t deadline = kNever;
  if (const uint64_t period = periodic_ticks(); period && (b & kRegBPeriodic)) {
    const uint64_t next_tick = (Crystal::ticks_at(events_checked_ns_) / period + 1) * period;
    deadline = Crystal::ns_at_tick(next_tick);
  }
  if ((b & (kRegBUpdate | kRegBAlarm)) && !setting())
    deadline = std::min(deadline, (events_checked_ns_ / kNsPerSecond + 1) * kNsPerSecond);
  return deadline;
}

void RtcCmos::expire() {
  catch_up();
}

void RtcCmos::save(StateWriter& out) const {
  out.put(cmos_);
  out.put(base_unix_seconds_);
  out.put(offset_seconds_);
  out.put(index_);
  out.put(nmi_masked_);
  out.put(events_checked_ns_);
  out.put(irq_level_);
}

void RtcCmos::restore(StateReader& in) {
  in.get(cmos_);
  in.get(base_unix_seconds_);
  in.get(offset_seconds_);
  in.get(index_);
  in.get(nmi_masked_);
  in.get(events_checked_ns_);
  in.get(irq_level_);
}

} // namespace rrvm
