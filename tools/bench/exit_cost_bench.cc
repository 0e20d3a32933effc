// The cost of one port-I/O exit.
// kvm (the default): under rrvm's machine against a bare /dev/kvm loop running the same guest
// (tests/guests/io_loop_real.asm) and handling the same exits. Both run in this process,
// alternately, and the best of several rounds is compared.
// --emu: the emu engine's whole round trip (engine -> machine -> device -> engine) for port writes
// and reads and an MMIO read, with the translator on and off: a loop of one access, DEC and JNZ
// (real mode; protected mode for the MMIO read) runs under a Machine (live gate, --clock icount),
// and the same loop with a NOP in place of the access is subtracted, so what is left is the exit.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fstream>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

#include "vmm/emu/testing/emu_machine.h"
#include "vmm/error.h"
#include "vmm/live_gate.h"
#include "vmm/machine.h"

namespace {

constexpr uint64_t kLoadAddress = 0x7c00;
constexpr uint64_t kMemory = 2 << 20;

std::vector<uint8_t> guest_image(uint32_t iterations) {
  std::ifstream in(RRVM_GUEST_DIR "/io_loop_real.bin", std::ios::binary);
  std::vector<uint8_t> image((std::istreambuf_iterator<char>(in)), {});
  if (image.size() < 4) throw std::runtime_error("io_loop_real.bin missing; build test_guests");
  std::memcpy(image.data() + image.size() - 4, &iterations, 4); // `iterations` is the last dword
  return image;
}

// The smallest correct KVM loop: real mode at 0000:7c00, every exit an OUT handled inline.
double bare_kvm_seconds(const std::vector<uint8_t>& image) {
  int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
  int vm = ioctl(kvm, KVM_CREATE_VM, 0);
  void* mem = mmap(nullptr, kMemory, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  std::memcpy(static_cast<uint8_t*>(mem) + kLoadAddress, image.data(), image.size());
  kvm_userspace_memory_region region{0, 0, 0, kMemory, reinterpret_cast<uint64_t>(mem)};
  ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region);
  int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
  int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
  auto* run =
      static_cast<kvm_run*>(mmap(nullptr, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0));
  kvm_sregs sregs{};
  ioctl(vcpu, KVM_GET_SREGS, &sregs);
  sregs.cs.base = 0;
  sregs.cs.selector = 0;
  ioctl(vcpu, KVM_SET_SREGS, &sregs);
  kvm_regs regs{};
  regs.rip = kLoadAddress;
  regs.rflags = 2;
  ioctl(vcpu, KVM_SET_REGS, &regs);
  auto start = std::chrono::steady_clock::now();
  for (;;) {
    if (ioctl(vcpu, KVM_RUN, 0) < 0) throw std::runtime_error("KVM_RUN failed");
    if (run->exit_reason != KVM_EXIT_IO) throw std::runtime_error("unexpected exit");
    if (run->io.port == 0xf4) break;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  munmap(run, run_size);
  close(vcpu);
  close(vm);
  close(kvm);
  munmap(mem, kMemory);
  return seconds;
}

double rrvm_seconds(const std::string& path) {
  rrvm::LiveGate gate(false);
  rrvm::MachineConfig config;
  config.memory_bytes = kMemory;
  config.engine = rrvm::EngineKind::kKvm;
  config.serial_output = [](uint8_t) {};
  rrvm::GuestMemory memory(config.memory_bytes);
  rrvm::Machine machine(config, memory, rrvm::create_engine(config.engine, memory), gate);
  rrvm::BootOptions boot;
  boot.kernel_path = path;
  boot.flat = true;
  boot.flat_address = kLoadAddress;
  machine.boot(boot);
  auto start = std::chrono::steady_clock::now();
  rrvm::RunOutcome outcome = machine.run();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (outcome.kind != rrvm::RunOutcome::Kind::kGuestExit)
    throw std::runtime_error("guest did not exit: " + outcome.message);
  return seconds;
}

// One emu case: the loop's body, the setup before the loop, and whether the loop runs in 32-bit
// protected mode (flat segments reach the HPET) instead of real mode.
struct EmuCase {
  const char* name;
  const char* setup;
  const char* access;
  bool protected_mode = false;
};

constexpr EmuCase kEmuCases[] = {
    {"OUT 0x80 (no device)", "", "out 0x80, al"},
    {"OUT COM1 data (serial)", "mov dx, 0x3f8", "out dx, al"},
    {"IN COM1 line status (serial)", "mov dx, 0x3fd", "in al, dx"},
    {"MOV from the HPET counter (MMIO)", "mov esi, 0xfed000f0", "mov eax, [esi]", true},
};

// emu runs on this thread alone: its CPU time, unlike the wall time, holds still on a loaded host.
double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

double emu_seconds(const EmuCase& c, const std::string& access, uint32_t iterations,
                   bool translate) {
  const std::string source = std::string(c.setup) + "\nmov ecx, " + std::to_string(iterations) +
                             "\n.loop:\n" + access +
                             "\ndec ecx\njnz .loop\nmov al, 0\nout 0xf4, al\nhlt\n";
  const uint64_t origin = c.protected_mode ? rrvm::test::kCodeAddr : kLoadAddress;
  const std::vector<uint8_t> image =
      rrvm::test::assemble(source, c.protected_mode ? 32 : 16, origin);
  rrvm::LiveGate gate(false);
  rrvm::MachineConfig config;
  config.memory_bytes = kMemory;
  config.engine = rrvm::EngineKind::kEmu;
  config.clock_mode = rrvm::ClockMode::kIcount;
  config.emu_translate = translate;
  config.serial_output = [](uint8_t) {};
  rrvm::GuestMemory memory(config.memory_bytes);
  rrvm::Machine machine(
      config, memory,
      rrvm::create_engine(config.engine, memory, config.clock_mode, config.emu_translate), gate);
  if (c.protected_mode) {
    memory.write(origin, image);
    machine.engine().set_state(rrvm::test::initial_state(rrvm::test::Mode::kProtected32, memory));
  } else {
    const std::string path = "/tmp/rrvm-exit-bench-emu-" + std::to_string(getpid()) + ".bin";
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(image.data()),
               static_cast<std::streamsize>(image.size()));
    rrvm::BootOptions boot;
    boot.kernel_path = path;
    boot.flat = true;
    boot.flat_address = kLoadAddress;
    machine.boot(boot);
    std::remove(path.c_str());
  }
  const double start = thread_cpu_seconds();
  rrvm::RunOutcome outcome = machine.run();
  const double seconds = thread_cpu_seconds() - start;
  if (outcome.kind != rrvm::RunOutcome::Kind::kGuestExit)
    throw std::runtime_error("guest did not exit: " + outcome.message);
  return seconds;
}

void emu_bench(uint32_t iterations, int rounds) {
  std::printf("port-I/O exits per run: %u, best of %d; CPU ns per exit (the loop without the "
              "access subtracted)\n",
              iterations, rounds);
  std::printf("%-32s %12s %12s\n", "access", "translated", "interpreted");
  for (const EmuCase& c : kEmuCases) {
    std::printf("%-32s", c.name);
    for (bool translate : {true, false}) {
      double best_io = 1e9, best_base = 1e9;
      for (int i = 0; i < rounds; ++i) {
        best_io = std::min(best_io, emu_seconds(c, c.access, iterations, translate));
        best_base = std::min(best_base, emu_seconds(c, "nop", iterations, translate));
      }
      std::printf(" %12.1f", (best_io - best_base) * 1e9 / iterations);
    }
    std::printf("\n");
  }
}

} // namespace

int main(int argc, char** argv) {
  const bool emu = argc > 1 && std::string(argv[1]) == "--emu";
  if (emu) {
    --argc;
    ++argv;
  }
  uint32_t iterations = argc > 1 ? static_cast<uint32_t>(std::atoi(argv[1])) : 100000;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  try {
    if (emu) {
      emu_bench(iterations, rounds);
      return 0;
    }
    std::vector<uint8_t> image = guest_image(iterations);
    std::string path = "/tmp/rrvm-exit-bench.bin";
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(image.data()),
               static_cast<std::streamsize>(image.size()));
    double best_bare = 1e9, best_rrvm = 1e9;
    for (int i = 0; i < rounds; ++i) {
      best_bare = std::min(best_bare, bare_kvm_seconds(image));
      best_rrvm = std::min(best_rrvm, rrvm_seconds(path));
    }
    std::printf("port-I/O exits per run:  %u\n", iterations);
    std::printf("bare /dev/kvm loop:      %.2f us/exit\n", best_bare * 1e6 / iterations);
    std::printf("rrvm run (kvm engine):   %.2f us/exit\n", best_rrvm * 1e6 / iterations);
    std::printf("ratio rrvm/bare:         %.3f  (target <= 1.3)\n", best_rrvm / best_bare);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "exit_cost_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
