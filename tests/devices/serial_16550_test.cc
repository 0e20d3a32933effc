#include "vmm/devices/serial_16550.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/devices/fake_irq_sink.h"

namespace rrvm {
namespace {

constexpr unsigned kThr = 0, kIer = 1, kIir = 2, kFcr = 2, kLcr = 3, kMcr = 4, kLsr = 5, kMsr = 6,
                   kScr = 7;

class Serial16550Test : public ::testing::Test {
protected:
  uint8_t in(unsigned reg) { return static_cast<uint8_t>(uart.read(reg, 1)); }
  void out(unsigned reg, uint8_t value) { uart.write(reg, 1, value); }
  void receive(const std::string& s) {
    uart.receive({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  }
  bool irq() const { return irqs.levels[4]; }

  testing::FakeIrqSink irqs;
  std::string sent;
  Serial16550 uart{irqs, 4, [this](uint8_t b) { sent.push_back(static_cast<char>(b)); }};
};

TEST_F(Serial16550Test, TransmitGoesToOutputAndTransmitterStaysEmpty) {
  EXPECT_EQ(in(kLsr), 0x60);
  out(kThr, 'h');
  out(kThr, 'i');
  EXPECT_EQ(sent, "hi");
  EXPECT_EQ(in(kLsr), 0x60);
  EXPECT_FALSE(irq());
}

TEST_F(Serial16550Test, DivisorLatchSharesPortsWithDataAndIer) {
  out(kLcr, 0x83);
  out(0, 0x01);
  out(1, 0x02);
  EXPECT_EQ(in(0), 0x01);
  EXPECT_EQ(in(1), 0x02);
  out(kLcr, 0x03);
  EXPECT_EQ(in(kLcr), 0x03);
  EXPECT_EQ(in(kIer), 0x00);
  out(kThr, 'x');
  EXPECT_EQ(sent, "x");
  out(kLcr, 0x83);
  EXPECT_EQ(in(0), 0x01) << "data writes do not touch DLL";
}

TEST_F(Serial16550Test, ThrEmptyInterruptOnEnableAndAfterEachWrite) {
  EXPECT_EQ(in(kIir), 0x01);
  out(kIer, 0x02);
  EXPECT_TRUE(irq());
  EXPECT_EQ(in(kIir), 0x02);
  EXPECT_FALSE(irq()) << "reading IIR acknowledges THRE";
  EXPECT_EQ(in(kIir), 0x01);
  out(kThr, 'a');
  EXPECT_TRUE(irq());
  out(kIer, 0x00);
  EXPECT_FALSE(irq());
}

TEST_F(Serial16550Test, ReceiveWithoutFifo) {
  out(kIer, 0x01);
  receive("ab");
  EXPECT_TRUE(irq());
  EXPECT_EQ(in(kLsr)&0x01, 0x01);
  EXPECT_EQ(in(kIir), 0x04);
  EXPECT_EQ(in(kThr), 'a');
  EXPECT_TRUE(irq());
  EXPECT_EQ(in(kThr), 'b');
  EXPECT_FALSE(irq());
  EXPECT_EQ(in(kLsr), 0x60);
}

TEST_F(Serial16550Test, InterruptPriorities) {
  out(kMcr, 0x10); // loopback, so modem lines can change
  out(kMcr, 0x12); // RTS -> CTS changes
  out(kIer, 0x0F);
  receive(std::string(Serial16550::kRxQueueLimit + 1, 'z'));
  EXPECT_EQ(uart.overrun_count(), 1u);
  EXPECT_EQ(in(kIir), 0x06);
  EXPECT_EQ(in(kLsr), 0x63) << "DR, OE, THRE, TEMT";
  EXPECT_EQ(in(kIir), 0x04);
  for (size_t i = 0; i < Serial16550::kRxQueueLimit; ++i)
    in(kThr);
  EXPECT_EQ(in(kIir), 0x02);
  EXPECT_EQ(in(kIir), 0x00);
  EXPECT_EQ(in(kMsr), 0x1B) << "CTS, its delta, and the deltas of entering loopback";
  EXPECT_EQ(in(kIir), 0x01);
  EXPECT_FALSE(irq());
}

TEST_F(Serial16550Test, FifoTriggerLevelTimeoutAndReset) {
  out(kFcr, 0xC7); // enable, clear both, trigger at 14
  out(kIer, 0x01);
  EXPECT_EQ(in(kIir), 0xC1);
  receive(std::string(10, 'a'));
  EXPECT_EQ(in(kIir), 0xCC) << "below the trigger level: character timeout";
  receive(std::string(24, 'b'));
  EXPECT_EQ(in(kIir), 0xC4);
  out(kFcr, 0xC3); // clear RX: the 16 bytes in the FIFO go, the queued ones follow
  std::string got;
  while (in(kLsr)&0x01)
    got.push_back(static_cast<char>(in(kThr)));
  EXPECT_EQ(got, std::string(18, 'b'));
  EXPECT_FALSE(irq());
  out(kFcr, 0x00);
  EXPECT_EQ(in(kIir), 0x01);
}

TEST_F(Serial16550Test, FifoTriggerLevelFour) {
  out(kFcr, 0x41);
  out(kIer, 0x01);
  receive("abc");
  EXPECT_EQ(in(kIir), 0xCC);
  receive("d");
  EXPECT_EQ(in(kIir), 0xC4);
}

TEST_F(Serial16550Test, LoopbackEchoesAndMirrorsModemLines) {
  EXPECT_EQ(in(kMsr), 0xB0) << "host side ready: DCD, DSR, CTS";
  out(kMcr, 0x10);
  EXPECT_EQ(in(kMsr), 0x0B) << "DCD, DSR, CTS dropped: deltas";
  out(kThr, 'q');
  EXPECT_EQ(sent, "");
  EXPECT_EQ(in(kLsr)&0x01, 0x01);
  EXPECT_EQ(in(kThr), 'q');
  out(kMcr, 0x1F);
  EXPECT_EQ(in(kMsr), 0xFB);
  out(kMcr, 0x1B); // OUT1 low: RI trailing edge
  EXPECT_EQ(in(kMsr), 0xB4);
  out(kIer, 0x08);
  EXPECT_FALSE(irq());
  out(kMcr, 0x19);
  EXPECT_TRUE(irq());
  EXPECT_EQ(in(kIir), 0x00);
  in(kMsr);
  EXPECT_FALSE(irq());
}

TEST_F(Serial16550Test, ScratchAndWideAccesses) {
  out(kScr, 0x5A);
  EXPECT_EQ(in(kScr), 0x5A);
  uart.write(kLcr, 2, 0x0B03); // LCR and MCR in one access
  EXPECT_EQ(uart.read(kLcr, 2), 0x0B03u);
}

TEST_F(Serial16550Test, SaveRestoreRoundTrip) {
  out(kFcr, 0x81);
  out(kLcr, 0x83);
  out(0, 0x01);
  out(kLcr, 0x03);
  out(kScr, 0x42);
  out(kIer, 0x03);
  receive("hello world");
  StateWriter state;
  uart.save(state);

  testing::FakeIrqSink fresh_irqs;
  std::string fresh_sent;
  Serial16550 fresh(fresh_irqs, 4, [&](uint8_t b) { fresh_sent.push_back(static_cast<char>(b)); });
  StateReader reader(state.bytes());
  fresh.restore(reader);
  EXPECT_TRUE(reader.at_end());

  for (Serial16550* u : {&uart, &fresh}) {
    EXPECT_EQ(u->read(kIir, 1), 0xC4u) << "11 bytes, trigger at 8";
    EXPECT_EQ(u->read(kScr, 1), 0x42u);
    std::string got;
    while (u->read(kLsr, 1) & 0x01)
      got.push_back(static_cast<char>(u->read(kThr, 1)));
    EXPECT_EQ(got, "hello world");
    EXPECT_EQ(u->read(kIir, 1), 0xC2u);
    u->write(kLcr, 1, 0x83);
    EXPECT_EQ(u->read(0, 1), 0x01u);
  }
  fresh.write(kLcr, 1, 0x03);
  fresh.write(kThr, 1, '!');
  EXPECT_EQ(fresh_sent, "!");
}

} // namespace
} // namespace rrvm
