// The hand-over between the engines carries the x87/SSE state: a state set on kvm reads back
// unchanged, and the same SSE code run from it on kvm and on emu ends in the same state.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>

#include "tests/emu/differential_harness.h"
#include "vmm/emu/testing/emu_machine.h"
#include "vmm/kvm/kvm_engine.h"

namespace rrvm::test {
namespace {

TEST(FpuHandover, KvmAndEmuContinueFromTheSameFpuState) {
  GuestMemory kvm_mem(kRam), emu_mem(kRam);
  std::string unusable;
  std::unique_ptr<KvmEngine> kvm = open_kvm(kvm_mem, &unusable);
  if (!kvm) {
    if (kvm_required()) FAIL() << "/dev/kvm unusable under CI: " << unusable;
    GTEST_SKIP() << "/dev/kvm unusable: " << unusable;
  }
  CpuState s = ring3_state(emu_mem);
  s.cr4 |= cr4::kOSFXSR | cr4::kOSXMMEXCPT;
  s.rip = kDiffCode;
  s.gpr[kRsp] = kStackTop;
  std::mt19937_64 rng(5);
  for (auto& x : s.fpu.xmm)
    for (auto& b : x)
      b = uint8_t(rng());
  s.fpu.mxcsr = 0x3f80; // round down
  s.fpu.fcw = 0x027f;
  s.fpu.ftw = 0x80;
  s.fpu.st[0] = {1, 2, 3, 4, 5, 6, 7, 0x80, 0xff, 0x3f};

  kvm->set_state(s);
  const CpuState back = kvm->state();
  if (back.fpu.xmm != s.fpu.xmm || back.fpu.mxcsr != s.fpu.mxcsr)
    GTEST_SKIP() << "this host's KVM does not give the VMM the guest's FPU state (mxcsr reads "
                 << std::hex << back.fpu.mxcsr << ")";
  EXPECT_EQ(back.fpu.fcw, s.fpu.fcw);
  EXPECT_EQ(back.fpu.ftw, s.fpu.ftw);
  EXPECT_EQ(back.fpu.st, s.fpu.st);

  const std::vector<uint8_t> code = assemble(
      "paddd xmm0, xmm1\naddps xmm2, xmm3\ndivsd xmm4, xmm5\nout 0x80, al\n", 64, kDiffCode);
  std::memcpy(emu_mem.host() + kDiffCode, code.data(), code.size());
  std::memcpy(kvm_mem.host(), emu_mem.host(), kRam);
  EmuEngine emu(emu_mem);
  std::string why;
  std::optional<CpuState> hw = run_sequence(*kvm, s, &why);
  ASSERT_TRUE(hw) << why;
  std::optional<CpuState> sw = run_sequence(emu, s, &why);
  ASSERT_TRUE(sw) << why;
  EXPECT_EQ(hw->fpu.xmm, sw->fpu.xmm);
  EXPECT_EQ(hw->fpu.mxcsr, sw->fpu.mxcsr);
}

} // namespace
} // namespace rrvm::test
