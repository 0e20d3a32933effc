// emu_bench: guest instructions per second of the interpreter on a compute-bound 64-bit ring-0
// loop, and of /dev/kvm on the same loop from the same state (on PVM hosts KVM emulates ring-0
// code), with the ratio; optionally QEMU TCG's time on the equivalent real-mode-started guest.
//
// Usage: emu_bench [iterations]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/emu/emu_machine.h"
#include "tests/emu/kvm_runner.h"

namespace {

using namespace rrvm;
using Clock = std::chrono::steady_clock;

// Eight instructions per iteration; ECX counts iterations.
constexpr const char* kLoop = R"(
  mov ecx, [rel iterations]
again:
  add rax, rbx
  xor rbx, rcx
  rol rax, 3
  lea rdx, [rax + rbx*2 + 7]
  sub rsi, rdx
  and rdi, rsi
  dec ecx
  jnz again
  out 0x80, al
iterations: dd 0
)";
constexpr uint64_t kPerIteration = 8;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

void set_iterations(uint8_t* code_at, const std::vector<uint8_t>& code, uint32_t n) {
  std::memcpy(code_at + code.size() - 4, &n, 4);
}

} // namespace

int main(int argc, char** argv) {
  const uint32_t emu_iterations = argc > 1 ? uint32_t(std::strtoul(argv[1], nullptr, 0)) : 50000000;
  const uint32_t kvm_iterations = 250000;
  const std::vector<uint8_t> code = test::assemble(kLoop, 64, test::kCodeAddr);
  constexpr uint64_t kRam = 16 << 20;

  GuestMemory mem(kRam);
  const CpuState start = test::initial_state(test::Mode::kLong64, mem);
  mem.write(test::kCodeAddr, code);
  set_iterations(mem.host() + test::kCodeAddr, code, emu_iterations);
  EmuEngine emu(mem);
  emu.set_state(start);
  auto t0 = Clock::now();
  Exit& e = emu.run();
  const double emu_s = seconds_since(t0);
  if (e.reason != ExitReason::kIo) {
    std::fprintf(stderr, "emu_bench: emu stopped with %s %s\n", exit_reason_name(e.reason),
                 e.detail.c_str());
    return 1;
  }
  const uint64_t emu_insns = *emu.instruction_count();
  const double emu_rate = double(emu_insns) / emu_s;
  std::printf("emu:  %llu instructions in %.3f s = %.1f M instructions/s\n",
              static_cast<unsigned long long>(emu_insns), emu_s, emu_rate / 1e6);

  test::KvmRunner kvm(kRam);
  if (!kvm.available()) {
    std::printf("kvm:  unavailable (%s); no ratio\n", kvm.error().c_str());
    return 0;
  }
  // The same state plus a TSS, which KVM requires in long mode.
  CpuState ks = start;
  mem.store<uint64_t>(0x530, 0x0000890006000067ull);
  mem.store<uint64_t>(0x538, 0);
  ks.gdt.limit = 0x3f;
  ks.tr.selector = 0x30;
  ks.tr.base = 0x600;
  ks.tr.limit = 0x67;
  ks.tr.type = 0xb;
  ks.tr.s = 0;
  ks.tr.present = 1;
  std::memcpy(kvm.memory(), mem.host(), kRam);
  set_iterations(kvm.memory() + test::kCodeAddr, code, kvm_iterations);
  t0 = Clock::now();
  auto out = kvm.run(ks);
  const double kvm_s = seconds_since(t0);
  if (!out) {
    std::printf("kvm:  failed: %s\n", kvm.error().c_str());
    return 1;
  }
  const double kvm_rate = double(kvm_iterations * kPerIteration + 2) / kvm_s;
  std::printf("kvm:  %llu instructions in %.3f s = %.2f M instructions/s (ring 0)\n",
              static_cast<unsigned long long>(kvm_iterations * kPerIteration + 2), kvm_s,
              kvm_rate / 1e6);
  std::printf("ratio emu/kvm: %.1fx\n", emu_rate / kvm_rate);
  return 0;
}
