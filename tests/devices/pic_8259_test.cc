#include "vmm/devices/pic_8259.h"

#include <gtest/gtest.h>

namespace rrvm {
namespace {

class Pic8259Test : public ::testing::Test {
protected:
  // What a PC BIOS does: vectors 0x08 and 0x70, slave on IRQ2, 8086 mode.
  void SetUp() override { initialize(pic, 0x01); }

  static void initialize(DualPic& p, uint8_t icw4) {
    p.master().write(0, 1, 0x11);
    p.master().write(1, 1, 0x08);
    p.master().write(1, 1, 0x04);
    p.master().write(1, 1, icw4);
    p.slave().write(0, 1, 0x11);
    p.slave().write(1, 1, 0x70);
    p.slave().write(1, 1, 0x02);
    p.slave().write(1, 1, icw4);
  }
  uint8_t master_isr() {
    pic.master().write(0, 1, 0x0B);
    return static_cast<uint8_t>(pic.master().read(0, 1));
  }
  uint8_t master_irr() {
    pic.master().write(0, 1, 0x0A);
    return static_cast<uint8_t>(pic.master().read(0, 1));
  }
  uint8_t slave_isr() {
    pic.slave().write(0, 1, 0x0B);
    return static_cast<uint8_t>(pic.slave().read(0, 1));
  }
  void master_eoi() { pic.master().write(0, 1, 0x20); }
  void slave_eoi() { pic.slave().write(0, 1, 0x20); }

  DualPic pic;
};

TEST_F(Pic8259Test, EdgeRequestIsDeliveredOnceAndBlockedUntilEoi) {
  EXPECT_FALSE(pic.interrupt_pending());
  pic.pulse_irq(1);
  EXPECT_TRUE(pic.interrupt_pending());
  EXPECT_EQ(master_irr(), 0x02);
  EXPECT_EQ(pic.acknowledge(), 0x09);
  EXPECT_EQ(master_irr(), 0x00);
  EXPECT_EQ(master_isr(), 0x02);
  pic.pulse_irq(1);
  EXPECT_FALSE(pic.interrupt_pending()) << "same level is in service";
  master_eoi();
  EXPECT_EQ(master_isr(), 0x00);
  EXPECT_TRUE(pic.interrupt_pending());
  EXPECT_EQ(pic.acknowledge(), 0x09);
}

TEST_F(Pic8259Test, HeldLineNeedsANewRisingEdge) {
  pic.set_irq(4, true);
  EXPECT_EQ(pic.acknowledge(), 0x0C);
  master_eoi();
  EXPECT_FALSE(pic.interrupt_pending());
  pic.set_irq(4, true);
  EXPECT_FALSE(pic.interrupt_pending());
  pic.set_irq(4, false);
  pic.set_irq(4, true);
  EXPECT_TRUE(pic.interrupt_pending());
}

TEST_F(Pic8259Test, FixedPriorityAndNesting) {
  pic.pulse_irq(3);
  pic.pulse_irq(1);
  EXPECT_EQ(pic.acknowledge(), 0x09);
  EXPECT_FALSE(pic.interrupt_pending()) << "IRQ3 ranks below IRQ1 in service";
  pic.pulse_irq(0);
  EXPECT_TRUE(pic.interrupt_pending());
  EXPECT_EQ(pic.acknowledge(), 0x08);
  EXPECT_EQ(master_isr(), 0x03);
  master_eoi(); // clears the highest in service: IRQ0
  EXPECT_EQ(master_isr(), 0x02);
  EXPECT_FALSE(pic.interrupt_pending());
  master_eoi();
  EXPECT_EQ(pic.acknowledge(), 0x0B);
}

TEST_F(Pic8259Test, SpecificEoiClearsTheNamedLevel) {
  pic.pulse_irq(1);
  EXPECT_EQ(pic.acknowledge(), 0x09);
  pic.pulse_irq(0);
  EXPECT_EQ(pic.acknowledge(), 0x08);
  pic.master().write(0, 1, 0x61); // specific EOI, level 1
  EXPECT_EQ(master_isr(), 0x01);
}

TEST_F(Pic8259Test, MaskHoldsRequestsBack) {
  pic.master().write(1, 1, 0x02);
  EXPECT_EQ(pic.master().read(1, 1), 0x02u);
  pic.pulse_irq(1);
  EXPECT_FALSE(pic.interrupt_pending());
  EXPECT_EQ(master_irr(), 0x02);
  pic.master().write(1, 1, 0x00);
  EXPECT_TRUE(pic.interrupt_pending());
}

TEST_F(Pic8259Test, CascadeDeliversSlaveVectorsAndSetsBothIsrs) {
  pic.pulse_irq(12);
  EXPECT_TRUE(pic.interrupt_pending());
  EXPECT_EQ(pic.acknowledge(), 0x74);
  EXPECT_EQ(master_isr(), 0x04);
  EXPECT_EQ(slave_isr(), 0x10);
  pic.pulse_irq(8);
  EXPECT_FALSE(pic.interrupt_pending()) << "cascade line in service on the master";
  slave_eoi();
  master_eoi();
  EXPECT_TRUE(pic.interrupt_pending());
  EXPECT_EQ(pic.acknowledge(), 0x70);
}

TEST_F(Pic8259Test, Irq2IsRedirectedToIrq9) {
  pic.pulse_irq(2);
  EXPECT_EQ(pic.acknowledge(), 0x71);
}

TEST_F(Pic8259Test, SpuriousMasterInterruptIsIrq7WithoutIsr) {
  pic.pulse_irq(3);
  EXPECT_TRUE(pic.interrupt_pending());
  pic.master().write(1, 1, 0x08); // masked between INTR and INTA
  EXPECT_EQ(pic.acknowledge(), 0x0F);
  EXPECT_EQ(master_isr(), 0x00);
}

TEST_F(Pic8259Test, SpuriousSlaveInterruptIsIrq15AndMasterCascadeIsInService) {
  pic.elcr().write(1, 1, 0x04); // IRQ10 level-triggered
  pic.set_irq(10, true);
  EXPECT_TRUE(pic.interrupt_pending());
  pic.set_irq(10, false); // the request went away before INTA
  EXPECT_EQ(pic.acknowledge(), 0x77);
  EXPECT_EQ(slave_isr(), 0x00);
  EXPECT_EQ(master_isr(), 0x04);
}

TEST_F(Pic8259Test, LevelTriggeredLineRequestsAgainAfterEoiWhileHigh) {
  pic.elcr().write(0, 2, 0x0820); // IRQ5 and IRQ11
  EXPECT_EQ(pic.elcr().read(0, 2), 0x0820u);
  pic.set_irq(5, true);
  EXPECT_EQ(pic.acknowledge(), 0x0D);
  master_eoi();
  EXPECT_TRUE(pic.interrupt_pending());
  EXPECT_EQ(pic.acknowledge(), 0x0D);
  pic.set_irq(5, false);
  master_eoi();
  EXPECT_FALSE(pic.interrupt_pending());
}

TEST_F(Pic8259Test, ElcrCannotMakeSystemLinesLevelTriggered) {
  pic.elcr().write(0, 1, 0xFF);
  pic.elcr().write(1, 1, 0xFF);
  EXPECT_EQ(pic.elcr().read(0, 1), 0xF8u);
  EXPECT_EQ(pic.elcr().read(1, 1), 0xDEu);
}

TEST_F(Pic8259Test, AutoEoiLeavesIsrClear) {
  initialize(pic, 0x03);
  pic.pulse_irq(1);
  EXPECT_EQ(pic.acknowledge(), 0x09);
  EXPECT_EQ(master_isr(), 0x00);
  pic.pulse_irq(1);
  EXPECT_TRUE(pic.interrupt_pending());
}

TEST_F(Pic8259Test, InitializationWithoutIcw4AndSingleMode) {
  DualPic single;
  single.master().write(0, 1, 0x12); // single, no ICW4
  single.master().write(1, 1, 0x40);
  single.master().write(1, 1, 0xBF); // already OCW1: no ICW3/ICW4 expected
  EXPECT_EQ(single.master().read(1, 1), 0xBFu);
  single.pulse_irq(6);
  EXPECT_EQ(single.acknowledge(), 0x46);
}

TEST_F(Pic8259Test, RotationCommandsChangePriority) {
  pic.master().write(0, 1, 0xC4); // set priority: IRQ4 lowest, IRQ5 highest
  pic.pulse_irq(0);
  pic.pulse_irq(5);
  EXPECT_EQ(pic.acknowledge(), 0x0D);
  pic.master().write(0, 1, 0xA0); // rotate on non-specific EOI: IRQ5 becomes lowest
  pic.pulse_irq(5);
  EXPECT_EQ(pic.acknowledge(), 0x08) << "IRQ0 now outranks IRQ5";
}

TEST_F(Pic8259Test, PollModeAcknowledgesThroughThePort) {
  pic.pulse_irq(6);
  pic.master().write(0, 1, 0x0C);
  EXPECT_EQ(pic.master().read(0, 1), 0x86u);
  EXPECT_EQ(master_isr(), 0x40);
  pic.master().write(0, 1, 0x0C);
  EXPECT_EQ(pic.master().read(0, 1), 0x00u);
}

TEST_F(Pic8259Test, SpecialMaskModeAdmitsLowerPriority) {
  pic.pulse_irq(1);
  EXPECT_EQ(pic.acknowledge(), 0x09);
  pic.pulse_irq(3);
  EXPECT_FALSE(pic.interrupt_pending());
  pic.master().write(1, 1, 0x02);
  pic.master().write(0, 1, 0x68); // set special mask
  EXPECT_TRUE(pic.interrupt_pending());
  pic.master().write(0, 1, 0x48); // reset special mask
  EXPECT_FALSE(pic.interrupt_pending());
}

TEST_F(Pic8259Test, SaveRestoreRoundTrip) {
  pic.elcr().write(0, 1, 0x20);
  pic.pulse_irq(3);
  EXPECT_EQ(pic.acknowledge(), 0x0B);
  pic.master().write(1, 1, 0x10);
  pic.pulse_irq(12);
  pic.pulse_irq(4); // masked
  pic.set_irq(5, true);

  StateWriter out;
  pic.save(out);
  DualPic fresh;
  StateReader in(out.bytes());
  fresh.restore(in);
  EXPECT_TRUE(in.at_end());

  for (DualPic* p : {&pic, &fresh}) {
    EXPECT_EQ(p->master().read(1, 1), 0x10u);
    EXPECT_EQ(p->elcr().read(0, 1), 0x20u);
    EXPECT_TRUE(p->interrupt_pending());
    EXPECT_EQ(p->acknowledge(), 0x74);
    p->slave().write(0, 1, 0x20);
    p->master().write(0, 1, 0x20);
    EXPECT_FALSE(p->interrupt_pending()) << "IRQ5 ranks below IRQ3 in service";
    p->master().write(0, 1, 0x63); // specific EOI IRQ3
    EXPECT_EQ(p->acknowledge(), 0x0D);
    p->set_irq(5, false);
    p->master().write(0, 1, 0x20);
    EXPECT_FALSE(p->interrupt_pending());
    p->master().write(1, 1, 0x00);
    EXPECT_EQ(p->acknowledge(), 0x0C);
  }
}

} // namespace
} // namespace rrvm
