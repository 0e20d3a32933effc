// The exception facts emu's delivery is driven by: error codes, classes, and the escalation
// table of SDM vol. 3 table 6-5.
#include <gtest/gtest.h>

#include "vmm/x86/exceptions.h"

namespace rrvm::x86 {
namespace {

TEST(ExceptionTable, ErrorCodesAreTheArchitecturalOnes) {
  for (uint8_t v : {vec::kDF, vec::kTS, vec::kNP, vec::kSS, vec::kGP, vec::kPF, vec::kAC, vec::kCP})
    EXPECT_TRUE(exception_info(v).error_code) << int(v);
  for (uint8_t v : {vec::kDE, vec::kDB, vec::kNMI, vec::kBP, vec::kOF, vec::kBR, vec::kUD, vec::kNM,
                    vec::kMF, vec::kMC, vec::kXM, vec::kVE, uint8_t(0x20), uint8_t(0xff)})
    EXPECT_FALSE(exception_info(v).error_code) << int(v);
  EXPECT_STREQ(exception_info(vec::kGP).mnemonic, "#GP");
  EXPECT_EQ(exception_info(vec::kBP).kind, ExceptionKind::kTrap);
  EXPECT_EQ(exception_info(vec::kDF).kind, ExceptionKind::kAbort);
}

TEST(ExceptionTable, EscalationFollowsTheDoubleFaultTable) {
  // Contributory during contributory, and anything but benign during #PF: #DF.
  EXPECT_EQ(escalate(vec::kGP, vec::kNP), Escalation::kDoubleFault);
  EXPECT_EQ(escalate(vec::kDE, vec::kTS), Escalation::kDoubleFault);
  EXPECT_EQ(escalate(vec::kPF, vec::kPF), Escalation::kDoubleFault);
  EXPECT_EQ(escalate(vec::kPF, vec::kGP), Escalation::kDoubleFault);
  // A page fault during a contributory exception, and anything during a benign one: serially.
  EXPECT_EQ(escalate(vec::kGP, vec::kPF), Escalation::kDeliverSecond);
  EXPECT_EQ(escalate(vec::kUD, vec::kGP), Escalation::kDeliverSecond);
  EXPECT_EQ(escalate(0x80, vec::kNP), Escalation::kDeliverSecond);
  EXPECT_EQ(escalate(vec::kPF, vec::kUD), Escalation::kDeliverSecond);
  // Anything during #DF: shutdown.
  EXPECT_EQ(escalate(vec::kDF, vec::kUD), Escalation::kShutdown);
  EXPECT_EQ(escalate(vec::kDF, vec::kGP), Escalation::kShutdown);
}

} // namespace
} // namespace rrvm::x86
