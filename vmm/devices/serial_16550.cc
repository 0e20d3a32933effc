#include "vmm/devices/serial_16550.h"

#include <algorithm>

namespace rrvm {

namespace {
enum Register : unsigned {
  kData = 0,
  kIer = 1,
  kIir = 2,
  kLcr = 3,
  kMcr = 4,
  kLsr = 5,
  kMsr = 6,
  kScr = 7
};
constexpr uint8_t kLcrDlab = 0x80;
constexpr uint8_t kFcrEnable = 0x01;
constexpr uint8_t kIerRx = 0x01, kIerThr = 0x02, kIerLineStatus = 0x04, kIerModem = 0x08;
constexpr uint8_t kMcrLoopback = 0x10;
constexpr uint8_t kLsrDataReady = 0x01, kLsrOverrun = 0x02, kLsrThrEmpty = 0x20,
                  kLsrTransmitterEmpty = 0x40;
constexpr uint8_t kIirNone = 0x01, kIirLineStatus = 0x06, kIirRxData = 0x04, kIirTimeout = 0x0C,
                  kIirThrEmpty = 0x02, kIirModem = 0x00, kIirFifoEnabled = 0xC0;
// MSR line bits and their delta bits.
constexpr uint8_t kMsrCts = 0x10, kMsrDsr = 0x20, kMsrRi = 0x40, kMsrDcd = 0x80;
constexpr uint8_t kMsrDeltaCts = 0x01, kMsrDeltaDsr = 0x02, kMsrTrailingRi = 0x04,
                  kMsrDeltaDcd = 0x08;
} // namespace

Serial16550::Serial16550(IrqSink& irq_sink, unsigned irq, Output output)
    : irq_sink_(irq_sink), irq_(irq), output_(std::move(output)) {}

uint64_t Serial16550::read(uint64_t offset, unsigned size) {
  const uint64_t value = read_bytes(offset, size, [this](uint64_t reg) -> uint8_t {
    return reg < 8 ? read_register(static_cast<unsigned>(reg)) : 0xFF;
  });
  update_irq();
  return value;
}

void Serial16550::write(uint64_t offset, unsigned size, uint64_t value) {
  write_bytes(offset, size, value, [this](uint64_t reg, uint8_t byte) {
    if (reg < 8) write_register(static_cast<unsigned>(reg), byte);
  });
  update_irq();
}

void Serial16550::receive(std::span<const uint8_t> bytes) {
  for (uint8_t b : bytes)
    enqueue(b);
  update_irq();
}

uint8_t Serial16550::read_register(unsigned reg) {
  const bool dlab = lcr_ & kLcrDlab;
  switch (reg) {
  case kData: {
    if (dlab) return dll_;
    if (rx_.empty()) return 0;
    const uint8_t byte = rx_.front();
    rx_.pop_front();
    return byte;
  }
  case kIer:
    return dlab ? dlm_ : ier_;
  case kIir: {
    const uint8_t id = interrupt_id();
    // Reading IIR is how the guest acknowledges a THR-empty interrupt.
    if (id == kIirThrEmpty) thr_interrupt_ = false;
    return static_cast<uint8_t>(id | ((fcr_ & kFcrEnable) ? kIirFifoEnabled : 0));
  }
  case kLcr:
    return lcr_;
  case kMcr:
    return mcr_;
  case kLsr: {
    uint8_t lsr = kLsrThrEmpty | kLsrTransmitterEmpty;
    if (!rx_.empty()) lsr |= kLsrDataReady;
    if (overrun_error_) lsr |= kLsrOverrun;
    overrun_error_ = false;
    return lsr;
  }
  case kMsr: {
    const uint8_t msr = modem_lines() | msr_deltas_;
    msr_deltas_ = 0;
    return msr;
  }
  default:
    return scr_;
  }
}

void Serial16550::write_register(unsigned reg, uint8_t value) {
  const bool dlab = lcr_ & kLcrDlab;
  switch (reg) {
  case kData:
    if (dlab) {
      dll_ = value;
    } else {
      transmit(value);
    }
    break;
  case kIer:
    if (dlab) {
      dlm_ = value;
    } else {
      // Enabling the THR-empty interrupt while THR is empty (it always is) raises it.
      if ((value & kIerThr) && !(ier_ & kIerThr)) thr_interrupt_ = true;
      if (!(value & kIerThr)) thr_interrupt_ = false;
      ier_ = value & 0x0F;
    }
    break;
  case kIir:
    write_fcr(value);
    break;
  case kLcr:
    lcr_ = value;
    break;
  case kMcr:
    write_mcr(value);
    break;
  case kLsr:
    break; // factory test register
  case kMsr:
    break;
  default:
    scr_ = value;
    break;
  }
}

void Serial16550::transmit(uint8_t byte) {
  if (mcr_ & kMcrLoopback) {
    enqueue(byte);
  } else if (output_) {
    output_(byte);
  }
  thr_interrupt_ = true;
}

void Serial16550::enqueue(uint8_t byte) {
  if (rx_.size() >= kRxQueueLimit) {
    overrun_error_ = true;
    ++overruns_;
    return;
  }
  rx_.push_back(byte);
}

void Serial16550::write_fcr(uint8_t value) {
  // Resetting drops what the receiver holds; bytes still queued on the line arrive afterwards.
  const auto drop_visible = [this] { rx_.erase(rx_.begin(), rx_.begin() + rx_visible()); };
  if ((value & kFcrEnable) != (fcr_ & kFcrEnable)) {
    drop_visible();
  } else if ((value & kFcrEnable) && (value & 0x02)) {
    drop_visible();
  }
  fcr_ = (value & kFcrEnable) ? (value & 0xC1) : 0;
}

void Serial16550::write_mcr(uint8_t value) {
  const uint8_t before = modem_lines();
  mcr_ = value & 0x1F;
  const uint8_t after = modem_lines();
  const uint8_t changed = before ^ after;
  if (changed & kMsrCts) msr_deltas_ |= kMsrDeltaCts;
  if (changed & kMsrDsr) msr_deltas_ |= kMsrDeltaDsr;
  if ((before & kMsrRi) && !(after & kMsrRi)) msr_deltas_ |= kMsrTrailingRi;
  if (changed & kMsrDcd) msr_deltas_ |= kMsrDeltaDcd;
}

uint8_t Serial16550::modem_lines() const {
  // The host side is always ready (carrier, data set ready, clear to send, no ring); in loopback
  // the modem outputs feed the inputs: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD.
  if (!(mcr_ & kMcrLoopback)) return kMsrDcd | kMsrDsr | kMsrCts;
  uint8_t lines = 0;
  if (mcr_ & 0x02) lines |= kMsrCts;
  if (mcr_ & 0x01) lines |= kMsrDsr;
  if (mcr_ & 0x04) lines |= kMsrRi;
  if (mcr_ & 0x08) lines |= kMsrDcd;
  return lines;
}

size_t Serial16550::rx_visible() const {
  return std::min(rx_.size(), (fcr_ & kFcrEnable) ? kFifoSize : size_t{1});
}

unsigned Serial16550::rx_trigger_level() const {
  static constexpr unsigned kLevels[] = {1, 4, 8, 14};
  return kLevels[fcr_ >> 6];
}

uint8_t Serial16550::interrupt_id() const {
  if ((ier_ & kIerLineStatus) && overrun_error_) return kIirLineStatus;
  if ((ier_ & kIerRx) && !rx_.empty()) {
    if (!(fcr_ & kFcrEnable)) return kIirRxData;
    return rx_visible() >= rx_trigger_level() ? kIirRxData : kIirTimeout;
  }
  if ((ier_ & kIerThr) && thr_interrupt_) return kIirThrEmpty;
  if ((ier_ & kIerModem) && msr_deltas_) return kIirModem;
  return kIirNone;
}

void Serial16550::update_irq() {
  const bool level = interrupt_id() != kIirNone;
  if (level == irq_level_) return;
  irq_level_ = level;
  irq_sink_.set_irq(irq_, level);
}

void Serial16550::save(StateWriter& out) const {
  out.put_bytes(std::vector<uint8_t>(rx_.begin(), rx_.end()));
  out.put(overruns_);
  for (uint8_t v : {ier_, fcr_, lcr_, mcr_, scr_, dll_, dlm_, msr_deltas_})
    out.put(v);
  for (bool v : {overrun_error_, thr_interrupt_, irq_level_})
    out.put(v);
}

void Serial16550::restore(StateReader& in) {
  const auto rx = in.get_bytes();
  rx_.assign(rx.begin(), rx.end());
  in.get(overruns_);
  for (uint8_t* v : {&ier_, &fcr_, &lcr_, &mcr_, &scr_, &dll_, &dlm_, &msr_deltas_})
    in.get(*v);
  for (bool* v : {&overrun_error_, &thr_interrupt_, &irq_level_})
    in.get(*v);
}

} // namespace rrvm
