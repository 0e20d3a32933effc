#include "vmm/devices/pit_8254.h"

namespace rrvm {

namespace {
constexpr unsigned kIrq = 0;

uint16_t to_bcd(uint32_t v) {
  return static_cast<uint16_t>((v % 10) | (v / 10 % 10) << 4 | (v / 100 % 10) << 8 |
                               (v / 1000 % 10) << 12);
}
uint32_t from_bcd(uint16_t raw) {
  return (raw & 0xF) + ((raw >> 4) & 0xF) * 10 + ((raw >> 8) & 0xF) * 100 + (raw >> 12) * 1000;
}
} // namespace

Pit8254::Pit8254(const VirtualClock& clock, IrqSink& irq_sink)
    : clock_(clock), irq_sink_(irq_sink) {
  channels_[2].gate = false; // port 0x61 bit 0 starts clear
}

uint64_t Pit8254::read(uint64_t offset, unsigned size) {
  return read_bytes(offset, size, [this](uint64_t port) -> uint8_t {
    return port < 3 ? read_counter(channels_[port]) : 0xFF;
  });
}

void Pit8254::write(uint64_t offset, unsigned size, uint64_t value) {
  write_bytes(offset, size, value, [this](uint64_t port, uint8_t byte) {
    if (port < 3) write_counter(channels_[port], byte);
    if (port == 3) write_control(byte);
  });
}

uint8_t Pit8254::read_counter(Channel& ch) {
  if (ch.status_latched) {
    ch.status_latched = false;
    return ch.latched_status;
  }
  const uint16_t value = ch.count_latched ? ch.latched_count : count(ch, ticks_now());
  bool msb;
  if (ch.access == 3) {
    msb = ch.read_msb_next;
    ch.read_msb_next = !msb;
    if (msb) ch.count_latched = false;
  } else {
    msb = ch.access == 2;
    ch.count_latched = false;
  }
  return static_cast<uint8_t>(msb ? value >> 8 : value);
}

void Pit8254::write_counter(Channel& ch, uint8_t value) {
  switch (ch.access) {
  case 1:
    load(ch, value);
    break;
  case 2:
    load(ch, static_cast<uint16_t>(value << 8));
    break;
  default:
    if (!ch.write_msb_next) {
      ch.pending_lsb = value;
      ch.write_msb_next = true;
    } else {
      ch.write_msb_next = false;
      load(ch, static_cast<uint16_t>(ch.pending_lsb | value << 8));
    }
    break;
  }
}

void Pit8254::load(Channel& ch, uint16_t raw) {
  const uint32_t value = ch.bcd ? from_bcd(raw) : raw;
  ch.reload = value != 0 ? value : (ch.bcd ? 10000 : 0x10000);
  ch.loaded = true;
  ch.triggered = false;
  ch.null_count = false;
  ch.start_tick = ticks_now();
  ch.paused_elapsed = 0;
  if (&ch == &channels_[0]) irq_checked_tick_ = ch.start_tick;
}

void Pit8254::write_control(uint8_t value) {
  const unsigned select = value >> 6;
  if (select == 3) {
    // Read-back: bit 5 clear latches counts, bit 4 clear latches status, bits 1-3 pick channels.
    for (unsigned i = 0; i < 3; ++i) {
      if (!(value & (2u << i))) continue;
      if (!(value & 0x10)) latch_status(channels_[i]);
      if (!(value & 0x20)) latch_count(channels_[i]);
    }
    return;
  }
  Channel& ch = channels_[select];
  const unsigned access = (value >> 4) & 3;
  if (access == 0) {
    latch_count(ch);
    return;
  }
  const bool gate = ch.gate;
  ch = Channel{};
  ch.gate = gate;
  ch.access = static_cast<uint8_t>(access);
  ch.mode = static_cast<uint8_t>((value >> 1) & 7);
  if (ch.mode > 5) ch.mode -= 4; // 6 and 7 are aliases of 2 and 3
  ch.bcd = value & 1;
}

void Pit8254::latch_count(Channel& ch) {
  if (ch.count_latched) return;
  ch.latched_count = count(ch, ticks_now());
  ch.count_latched = true;
  ch.read_msb_next = false;
}

void Pit8254::latch_status(Channel& ch) {
  if (ch.status_latched) return;
  ch.latched_status = static_cast<uint8_t>(output(ch, ticks_now()) << 7 | ch.null_count << 6 |
                                           ch.access << 4 | ch.mode << 1 | ch.bcd);
  ch.status_latched = true;
}

void Pit8254::set_channel2_gate(bool high) {
  set_gate(channels_[2], high);
}

bool Pit8254::channel2_output() const {
  return output(channels_[2], ticks_now());
}

void Pit8254::set_gate(Channel& ch, bool high) {
  if (high == ch.gate) return;
  const uint64_t now = ticks_now();
  if (!high) {
    ch.paused_elapsed = elapsed(ch, now);
  } else if (ch.loaded) {
    if (ch.mode == 0 || ch.mode == 4) {
      ch.start_tick = now - ch.paused_elapsed; // counting resumes where it stopped
    } else {
      ch.start_tick = now; // the rising edge (re)starts the count
      ch.triggered = true;
    }
  }
  ch.gate = high;
}

bool Pit8254::counting(const Channel& ch) const {
  if (!ch.loaded) return false;
  if (ch.mode == 1 || ch.mode == 5) return ch.triggered;
  return ch.gate;
}

uint64_t Pit8254::elapsed(const Channel& ch, uint64_t now_tick) const {
  if (counting(ch)) return now_tick - ch.start_tick;
  return (ch.mode == 1 || ch.mode == 5) ? 0 : ch.paused_elapsed;
}

uint16_t Pit8254::count(const Channel& ch, uint64_t now_tick) const {
  const uint64_t n = ch.reload;
  const uint64_t modulus = ch.bcd ? 10000 : 0x10000;
  const uint64_t d = elapsed(ch, now_tick);
  uint64_t value;
  switch (ch.mode) {
  case 2:
    value = n - d % n;
    break;
  case 3: {
    // Counts down by two through each half of the period.
    const uint64_t phase = d % n;
    const uint64_t high_half = (n + 1) / 2;
    const uint64_t into_half = phase < high_half ? phase : phase - high_half;
    value = (n & ~uint64_t{1}) - 2 * into_half;
    break;
  }
  default:
    value = n + modulus - d % modulus;
    break; // wraps past zero and keeps counting
  }
  value %= modulus;
  return ch.bcd ? to_bcd(static_cast<uint32_t>(value)) : static_cast<uint16_t>(value);
}

bool Pit8254::output(const Channel& ch, uint64_t now_tick) const {
  const uint64_t n = ch.reload;
  const uint64_t d = elapsed(ch, now_tick);
  switch (ch.mode) {
  case 0:
    return ch.loaded && d >= n;
  case 1:
    return !ch.triggered || d >= n;
  case 2:
    return !counting(ch) || d % n != n - 1;
  case 3:
    return !counting(ch) || d % n < (n + 1) / 2;
  case 4:
    return !ch.loaded || d != n;
  default:
    return !ch.triggered || d != n;
  }
}

uint64_t Pit8254::next_rising_edge(const Channel& ch, uint64_t after_tick) const {
  if (!counting(ch)) return kNever;
  const uint64_t n = ch.reload;
  const uint64_t first = after_tick >= ch.start_tick ? after_tick - ch.start_tick + 1 : 0;
  uint64_t d;
  switch (ch.mode) {
  case 0:
  case 1:
    d = n;
    break;
  case 4:
  case 5:
    d = n + 1;
    break;
  default:
    d = first <= n ? n : (first + n - 1) / n * n;
    break;
  }
  return d >= first ? ch.start_tick + d : kNever;
}

uint64_t Pit8254::next_deadline_ns() const {
  const uint64_t edge = next_rising_edge(channels_[0], irq_checked_tick_);
  return edge == kNever ? kNever : Input::ns_at_tick(edge);
}

void Pit8254::expire() {
  const uint64_t now = ticks_now();
  // However many periods went by, one edge: a late guest sees one tick, not a storm.
  if (next_rising_edge(channels_[0], irq_checked_tick_) <= now) irq_sink_.pulse_irq(kIrq);
  if (now > irq_checked_tick_) irq_checked_tick_ = now;
}

namespace {
// Field by field, so saved state has no padding bytes and equal states save equal bytes.
template <typename Channel, typename Visit> void for_each_field(Channel& ch, Visit&& visit) {
  visit(ch.mode, ch.access, ch.bcd, ch.reload, ch.loaded, ch.triggered, ch.gate, ch.start_tick,
        ch.paused_elapsed, ch.null_count, ch.write_msb_next, ch.pending_lsb, ch.read_msb_next,
        ch.count_latched, ch.latched_count, ch.status_latched, ch.latched_status);
}
} // namespace

void Pit8254::save(StateWriter& out) const {
  for (const Channel& ch : channels_)
    for_each_field(ch, [&](const auto&... field) { (out.put(field), ...); });
  out.put(irq_checked_tick_);
}

void Pit8254::restore(StateReader& in) {
  for (Channel& ch : channels_)
    for_each_field(ch, [&](auto&... field) { (in.get(field), ...); });
  in.get(irq_checked_tick_);
}

} // namespace rrvm
