// Intel 8259A programmable interrupt controllers, as cascaded in a PC/AT.
//
// For the machine:
//   DualPic pic;
//   bus.add(0x20, 2, pic.master());  bus.add(0xA0, 2, pic.slave());  bus.add(0x4D0, 2, pic.elcr());
//   Devices get `pic` as their IrqSink (IRQs 0-15). IRQ 2 is the cascade input, so a device raising
//   ISA IRQ 2 reaches slave input 1 (IRQ 9), as AT boards wire it.
//   When interrupt_pending() and the vCPU can take an ExtINT, acknowledge() yields the vector.
#pragma once

#include <array>
#include <cstdint>

#include "vmm/io_device.h"
#include "vmm/irq.h"

namespace rrvm {

// One chip: its registers, priority logic and INTA behaviour. Port offsets are 0 (command) and 1
// (data). Rotation, special mask and poll mode are implemented; the 8080/8085 call-vector mode and
// buffered mode are accepted and ignored, as they change nothing an x86 guest can see.
class Pic8259 {
public:
  enum class Role : uint8_t { kMaster, kSlave };
  explicit Pic8259(Role role);

  uint8_t read_port(unsigned offset);
  void write_port(unsigned offset, uint8_t value);
  void set_input(unsigned line, bool level);

  // The chip's INT output: an unmasked request outranks everything in service.
  bool int_output() const { return highest_request() >= 0; }
  // First INTA pulse: the request being served (-1: none, the chip answers spuriously on IR7).
  // Sets ISR (unless auto-EOI) and clears an edge request.
  int acknowledge_request();
  uint8_t vector_for(unsigned line) const { return static_cast<uint8_t>(vector_base_ | line); }
  // Master inputs with a slave behind them (ICW3 of a master in cascade mode).
  uint8_t slave_lines() const;

  uint8_t elcr() const { return elcr_; }
  void set_elcr(uint8_t value);

  void save(StateWriter& out) const;
  void restore(StateReader& in);

private:
  void start_initialization(uint8_t icw1);
  void write_ocw2(uint8_t value);
  void write_ocw3(uint8_t value);
  void end_of_interrupt(int line, bool rotate);
  uint8_t poll();
  uint8_t level_lines() const { return level_triggered_all_ ? 0xFF : elcr_; }
  // Lowest-numbered position in priority order among `bits` (-1 if none).
  int highest_priority(uint8_t bits) const;
  int highest_request() const;

  enum class InitStep : uint8_t { kReady, kIcw2, kIcw3, kIcw4 };

  Role role_;
  uint8_t level_capable_;
  uint8_t irr_ = 0;
  uint8_t isr_ = 0;
  uint8_t imr_ = 0;
  uint8_t pins_ = 0;
  uint8_t elcr_ = 0;
  uint8_t vector_base_ = 0;
  uint8_t icw3_ = 0;
  uint8_t lowest_priority_ = 7; // the rotating part of the priority order
  InitStep init_step_ = InitStep::kReady;
  bool icw4_needed_ = false;
  bool single_mode_ = false;
  bool level_triggered_all_ = false;
  bool auto_eoi_ = false;
  bool rotate_on_auto_eoi_ = false;
  bool special_fully_nested_ = false;
  bool special_mask_ = false;
  bool read_isr_ = false;
  bool poll_pending_ = false;
};

class DualPic : public IrqSink {
public:
  DualPic();
  DualPic(const DualPic&) = delete;
  DualPic& operator=(const DualPic&) = delete;

  void set_irq(unsigned irq, bool level) override;

  // The CPU's INTR input.
  bool interrupt_pending() const { return master_.int_output(); }
  // The INTA cycle: returns the vector to deliver (IRQ 7 / IRQ 15 vectors when the request went
  // away, with no ISR bit set, as the 8259A does).
  uint8_t acknowledge();

  // Each of these carries the whole DualPic state in save()/restore(), so a machine that saves
  // every registered device stays correct; saving the DualPic itself once is enough.
  IoDevice& master() { return master_ports_; }
  IoDevice& slave() { return slave_ports_; }
  IoDevice& elcr() { return elcr_ports_; }

  // Whole state of both chips and the ELCR.
  void save(StateWriter& out) const;
  void restore(StateReader& in);

  const Pic8259& master_chip() const { return master_; }
  const Pic8259& slave_chip() const { return slave_; }

private:
  static constexpr unsigned kCascadeLine = 2;
  // Chip ports: forward to the chip, then let the slave's output reach the master's cascade input.
  class ChipPorts : public IoDevice {
  public:
    ChipPorts(DualPic& pic, Pic8259& chip, std::string_view name)
        : pic_(pic), chip_(chip), name_(name) {}
    std::string_view name() const override { return name_; }
    uint64_t read(uint64_t offset, unsigned size) override;
    void write(uint64_t offset, unsigned size, uint64_t value) override;
    void save(StateWriter& out) const override { pic_.save(out); }
    void restore(StateReader& in) override { pic_.restore(in); }

  private:
    DualPic& pic_;
    Pic8259& chip_;
    std::string_view name_;
  };
  class ElcrPorts : public IoDevice {
  public:
    explicit ElcrPorts(DualPic& pic) : pic_(pic) {}
    std::string_view name() const override { return "elcr"; }
    uint64_t read(uint64_t offset, unsigned size) override;
    void write(uint64_t offset, unsigned size, uint64_t value) override;
    void save(StateWriter& out) const override { pic_.save(out); }
    void restore(StateReader& in) override { pic_.restore(in); }

  private:
    DualPic& pic_;
  };

  void update_cascade() { master_.set_input(kCascadeLine, slave_.int_output()); }

  Pic8259 master_;
  Pic8259 slave_;
  ChipPorts master_ports_;
  ChipPorts slave_ports_;
  ElcrPorts elcr_ports_;
};

} // namespace rrvm
