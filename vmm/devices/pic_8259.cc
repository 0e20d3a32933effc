#include "vmm/devices/pic_8259.h"

namespace rrvm {

namespace {
uint8_t bit(unsigned line) {
  return static_cast<uint8_t>(1u << line);
}
} // namespace

// A PIIX's ELCR cannot make IRQ 0, 1, 2, 8 or 13 level-triggered.
Pic8259::Pic8259(Role role) : role_(role), level_capable_(role == Role::kMaster ? 0xF8 : 0xDE) {}

uint8_t Pic8259::slave_lines() const {
  return role_ == Role::kMaster && !single_mode_ ? icw3_ : 0;
}

int Pic8259::highest_priority(uint8_t bits) const {
  if (!bits) return -1; // the usual case, asked after every exit
  for (unsigned i = 1; i <= 8; ++i) {
    const unsigned line = (lowest_priority_ + i) & 7;
    if (bits & bit(line)) return static_cast<int>(line);
  }
  return -1;
}

int Pic8259::highest_request() const {
  const int request = highest_priority(irr_ & ~imr_);
  if (request < 0) return -1;
  uint8_t in_service = isr_;
  // Special mask mode lets a routine mask its own level to accept lower-priority requests.
  if (special_mask_) in_service &= ~imr_;
  // In special fully nested mode a slave may interrupt again while its cascade line is in service.
  if (special_fully_nested_) in_service &= ~slave_lines();
  const int serving = highest_priority(in_service);
  if (serving < 0) return request;
  const auto rank = [this](int line) { return (line - lowest_priority_ - 1) & 7; };
  return rank(request) < rank(serving) ? request : -1;
}

int Pic8259::acknowledge_request() {
  const int line = highest_request();
  if (line < 0) return -1;
  if (!(level_lines() & bit(line))) irr_ &= ~bit(line);
  if (auto_eoi_) {
    if (rotate_on_auto_eoi_) lowest_priority_ = static_cast<uint8_t>(line);
  } else {
    isr_ |= bit(line);
  }
  return line;
}

void Pic8259::set_input(unsigned line, bool level) {
  const uint8_t b = bit(line);
  if (level_lines() & b) {
    irr_ = level ? (irr_ | b) : (irr_ & ~b);
  } else if (level && !(pins_ & b)) {
    // Edge requests stay latched until acknowledged: devices signal events with short pulses.
    irr_ |= b;
  }
  pins_ = level ? (pins_ | b) : (pins_ & ~b);
}

void Pic8259::set_elcr(uint8_t value) {
  elcr_ = value & level_capable_;
  irr_ = (irr_ & ~level_lines()) | (pins_ & level_lines());
}

uint8_t Pic8259::read_port(unsigned offset) {
  if (poll_pending_) {
    poll_pending_ = false;
    return poll();
  }
  if (offset == 1) return imr_;
  return read_isr_ ? isr_ : irr_;
}

void Pic8259::write_port(unsigned offset, uint8_t value) {
  if (offset == 0) {
    if (value & 0x10) {
      start_initialization(value);
    } else if (value & 0x08) {
      write_ocw3(value);
    } else {
      write_ocw2(value);
    }
    return;
  }
  switch (init_step_) {
  case InitStep::kIcw2:
    vector_base_ = value & 0xF8;
    init_step_ =
        single_mode_ ? (icw4_needed_ ? InitStep::kIcw4 : InitStep::kReady) : InitStep::kIcw3;
    break;
  case InitStep::kIcw3:
    icw3_ = value;
    init_step_ = icw4_needed_ ? InitStep::kIcw4 : InitStep::kReady;
    break;
  case InitStep::kIcw4:
    auto_eoi_ = value & 0x02;
    special_fully_nested_ = value & 0x10;
    init_step_ = InitStep::kReady;
    break;
  case InitStep::kReady:
    imr_ = value;
    break;
  }
}

void Pic8259::start_initialization(uint8_t icw1) {
  init_step_ = InitStep::kIcw2;
  icw4_needed_ = icw1 & 0x01;
  single_mode_ = icw1 & 0x02;
  level_triggered_all_ = icw1 & 0x08;
  imr_ = 0;
  isr_ = 0;
  // The edge sense circuit is reset: an input held high must go low and high again to request.
  irr_ = pins_ & level_lines();
  lowest_priority_ = 7;
  special_mask_ = false;
  read_isr_ = false;
  poll_pending_ = false;
  // Without an ICW4 its functions are all zero.
  auto_eoi_ = false;
  special_fully_nested_ = false;
  rotate_on_auto_eoi_ = false;
}

void Pic8259::write_ocw2(uint8_t value) {
  const int level = value & 7;
  switch (value >> 5) {
  case 0:
    rotate_on_auto_eoi_ = false;
    break;
  case 4:
    rotate_on_auto_eoi_ = true;
    break;
  case 1:
    end_of_interrupt(highest_priority(isr_), false);
    break;
  case 5:
    end_of_interrupt(highest_priority(isr_), true);
    break;
  case 3:
    end_of_interrupt(level, false);
    break;
  case 7:
    end_of_interrupt(level, true);
    break;
  case 6:
    lowest_priority_ = static_cast<uint8_t>(level);
    break;
  default:
    break; // 2: no operation
  }
}

void Pic8259::end_of_interrupt(int line, bool rotate) {
  if (line < 0) return;
  isr_ &= ~bit(line);
  if (rotate) lowest_priority_ = static_cast<uint8_t>(line);
}

void Pic8259::write_ocw3(uint8_t value) {
  if (value & 0x04) poll_pending_ = true;
  if (value & 0x02) read_isr_ = value & 0x01;
  if (value & 0x40) special_mask_ = value & 0x20;
}

uint8_t Pic8259::poll() {
  const int line = acknowledge_request();
  return line < 0 ? 0 : static_cast<uint8_t>(0x80 | line);
}

void Pic8259::save(StateWriter& out) const {
  for (uint8_t v : {irr_, isr_, imr_, pins_, elcr_, vector_base_, icw3_, lowest_priority_})
    out.put(v);
  out.put(init_step_);
  for (bool v : {icw4_needed_, single_mode_, level_triggered_all_, auto_eoi_, rotate_on_auto_eoi_,
                 special_fully_nested_, special_mask_, read_isr_, poll_pending_})
    out.put(v);
}

void Pic8259::restore(StateReader& in) {
  for (uint8_t* v : {&irr_, &isr_, &imr_, &pins_, &elcr_, &vector_base_, &icw3_, &lowest_priority_})
    in.get(*v);
  in.get(init_step_);
  for (bool* v :
       {&icw4_needed_, &single_mode_, &level_triggered_all_, &auto_eoi_, &rotate_on_auto_eoi_,
        &special_fully_nested_, &special_mask_, &read_isr_, &poll_pending_})
    in.get(*v);
}

DualPic::DualPic()
    : master_(Pic8259::Role::kMaster), slave_(Pic8259::Role::kSlave),
      master_ports_(*this, master_, "pic-master"), slave_ports_(*this, slave_, "pic-slave"),
      elcr_ports_(*this) {}

void DualPic::set_irq(unsigned irq, bool level) {
  if (irq == kCascadeLine) irq = 9;
  if (irq < 8) {
    master_.set_input(irq, level);
  } else if (irq < 16) {
    slave_.set_input(irq - 8, level);
    update_cascade();
  }
}

uint8_t DualPic::acknowledge() {
  const int line = master_.acknowledge_request();
  uint8_t vector;
  if (line < 0) {
    vector = master_.vector_for(7);
  } else if (master_.slave_lines() & bit(line)) {
    const int slave_line = slave_.acknowledge_request();
    vector = slave_.vector_for(slave_line < 0 ? 7 : slave_line);
  } else {
    vector = master_.vector_for(line);
  }
  update_cascade();
  return vector;
}

void DualPic::save(StateWriter& out) const {
  master_.save(out);
  slave_.save(out);
}

void DualPic::restore(StateReader& in) {
  master_.restore(in);
  slave_.restore(in);
}

uint64_t DualPic::ChipPorts::read(uint64_t offset, unsigned size) {
  const uint64_t value = read_bytes(offset, size, [this](uint64_t port) -> uint8_t {
    return port < 2 ? chip_.read_port(static_cast<unsigned>(port)) : 0xFF;
  });
  pic_.update_cascade();
  return value;
}

void DualPic::ChipPorts::write(uint64_t offset, unsigned size, uint64_t value) {
  write_bytes(offset, size, value, [this](uint64_t port, uint8_t byte) {
    if (port < 2) chip_.write_port(static_cast<unsigned>(port), byte);
  });
  pic_.update_cascade();
}

uint64_t DualPic::ElcrPorts::read(uint64_t offset, unsigned size) {
  return read_bytes(offset, size, [this](uint64_t port) -> uint8_t {
    return port == 0 ? pic_.master_.elcr() : port == 1 ? pic_.slave_.elcr() : 0xFF;
  });
}

void DualPic::ElcrPorts::write(uint64_t offset, unsigned size, uint64_t value) {
  write_bytes(offset, size, value, [this](uint64_t port, uint8_t byte) {
    if (port == 0) pic_.master_.set_elcr(byte);
    if (port == 1) pic_.slave_.set_elcr(byte);
  });
  pic_.update_cascade();
}

} // namespace rrvm
