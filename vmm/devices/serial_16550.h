// A 16550A UART. The machine registers COM1 at port 0x3F8 (8 ports) with IRQ 4.
//
// Transmission is instantaneous: a byte written to THR goes straight to the output callback and
// THR is empty again at once. Received bytes come only from the gate, through receive(): the
// first 16 (1 with the FIFO off) are what the guest can see, the rest wait as on a flow-controlled
// line, up to kRxQueueLimit bytes; beyond that bytes are dropped and LSR.OE reports it. Since
// nothing here depends on time, the FIFO character-timeout interrupt (IIR 0xC) is reported at
// once whenever the FIFO holds fewer bytes than the trigger level. The IRQ line is driven
// level-style from IIR's "interrupt pending" state, without OUT2 gating (as QEMU does).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <span>

#include "vmm/io_device.h"
#include "vmm/irq.h"

namespace rrvm {

class Serial16550 : public IoDevice {
public:
  using Output = std::function<void(uint8_t)>;
  static constexpr size_t kFifoSize = 16;
  static constexpr size_t kRxQueueLimit = 4096;

  Serial16550(IrqSink& irq_sink, unsigned irq, Output output);

  std::string_view name() const override { return "serial-16550"; }
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  void save(StateWriter& out) const override;
  void restore(StateReader& in) override;

  // Input bytes delivered through the gate.
  void receive(std::span<const uint8_t> bytes);
  // Bytes dropped because the receive queue was full.
  uint64_t overrun_count() const { return overruns_; }

private:
  uint8_t read_register(unsigned reg);
  void write_register(unsigned reg, uint8_t value);
  void transmit(uint8_t byte);
  void enqueue(uint8_t byte);
  void write_fcr(uint8_t value);
  void write_mcr(uint8_t value);
  uint8_t modem_lines() const;
  size_t rx_visible() const;
  unsigned rx_trigger_level() const;
  uint8_t interrupt_id() const;
  void update_irq();

  IrqSink& irq_sink_;
  unsigned irq_;
  Output output_;
  std::deque<uint8_t> rx_;
  uint64_t overruns_ = 0;
  uint8_t ier_ = 0;
  uint8_t fcr_ = 0; // FIFO enable and trigger bits as last written
  uint8_t lcr_ = 0;
  uint8_t mcr_ = 0;
  uint8_t scr_ = 0;
  uint8_t dll_ = 0x0C; // 9600 baud, what a BIOS leaves
  uint8_t dlm_ = 0;
  uint8_t msr_deltas_ = 0;
  bool overrun_error_ = false;
  bool thr_interrupt_ = false;
  bool irq_level_ = false;
};

} // namespace rrvm
