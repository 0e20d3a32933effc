// Differential tests: random short sequences of 64-bit user-mode instructions run natively at
// ring 3 under /dev/kvm (PVM runs 64-bit user code on the real CPU) and on the interpreter from
// the same state; every register, every defined flag and the data buffer must match.
//
// The sequences and their undefined flags come from SequenceGenerator (sequence_generator.h).
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <random>
#include <sstream>
#include <string>

#include "tests/emu/differential_harness.h"
#include "tests/emu/sequence_generator.h"
#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {
namespace {

TEST(EmuDifferential, RandomSequencesMatchTheRealCpu) {
  GuestMemory kvm_mem(kRam);
  std::string unusable;
  std::unique_ptr<KvmEngine> kvm = open_kvm(kvm_mem, &unusable);
  if (!kvm) {
    if (kvm_required()) FAIL() << "/dev/kvm unusable under CI: " << unusable;
    GTEST_SKIP() << "/dev/kvm unusable, differential test skipped: " << unusable;
  }
  constexpr unsigned kSequences = 2000;
  SequenceGenerator gen(20240601);
  std::vector<std::string> seqs(kSequences);
  std::vector<uint64_t> undefined(kSequences);
  std::ostringstream all;
  for (unsigned i = 0; i < kSequences; ++i) {
    seqs[i] = gen.sequence(4 + i % 6, &undefined[i]);
    all << seqs[i] << "align " << kSlot << ", db 0xcc\n";
  }
  const std::vector<uint8_t> code = assemble(all.str(), 64, kDiffCode);
  ASSERT_LE(code.size(), kSequences * kSlot) << "a sequence outgrew its slot";

  GuestMemory mem(kRam);
  EmuEngine emu(mem);
  std::mt19937_64 rng(7);
  std::vector<uint8_t> data(kDiffDataSize);
  unsigned failures = 0;
  for (unsigned i = 0; i < kSequences && failures < 10; ++i) {
    CpuState s = ring3_state(mem);
    for (unsigned r = 0; r < 16; ++r)
      s.gpr[r] = rng();
    // Some small and boundary values make carries, zero results and shifts interesting.
    for (unsigned r = 0; r < 16; ++r)
      if (rng() % 4 == 0)
        s.gpr[r] = std::array<uint64_t, 6>{
            0, 1, ~0ull, 0x80000000ull, 0x7fffffffffffffffull, 0xff}[rng() % 6];
    s.gpr[kRsp] = kStackTop;
    s.gpr[kR15] = kDiffData;
    s.rflags = 0x3002 | (rng() & kAll);
    s.rip = kDiffCode + uint64_t(i) * kSlot;
    for (auto& b : data)
      b = uint8_t(rng());

    std::memcpy(mem.host() + kDiffData, data.data(), data.size());
    std::memcpy(mem.host() + kDiffCode, code.data(), code.size());
    std::memcpy(kvm_mem.host(), mem.host(), kRam);

    std::string why;
    std::optional<CpuState> hw = run_sequence(*kvm, s, &why);
    ASSERT_TRUE(hw) << "kvm: " << why << "\n" << seqs[i];
    std::optional<CpuState> sw = run_sequence(emu, s, &why);
    ASSERT_TRUE(sw) << "emu: " << why << "\n" << seqs[i];

    std::ostringstream diff;
    static const char* kNames[] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                   "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
    for (unsigned r = 0; r < 16; ++r)
      if (hw->gpr[r] != sw->gpr[r])
        diff << kNames[r] << ": cpu " << std::hex << hw->gpr[r] << " emu " << sw->gpr[r] << "\n";
    if (hw->rip != sw->rip)
      diff << "rip: cpu " << std::hex << hw->rip << " emu " << sw->rip << "\n";
    const uint64_t mask = (kAll | rflags::kDF) & ~undefined[i];
    if ((hw->rflags & mask) != (sw->rflags & mask))
      diff << "rflags (mask " << std::hex << mask << "): cpu " << hw->rflags << " emu "
           << sw->rflags << "\n";
    if (std::memcmp(kvm_mem.host() + kDiffData, mem.host() + kDiffData, kDiffDataSize) != 0)
      diff << "data buffer differs\n";
    if (!diff.str().empty()) {
      ++failures;
      ADD_FAILURE() << "sequence " << i << ":\n" << seqs[i] << "\n" << diff.str();
    }
  }
}

} // namespace
} // namespace rrvm::test
