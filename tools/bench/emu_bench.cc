// emu_bench: guest instructions per second on a compute-bound 64-bit ring-0 loop, measured in one
// run for three executors: the interpreter (emu engine), /dev/kvm (kvm engine, from the same
// state; on PVM hosts KVM emulates ring-0 code) and QEMU TCG (qemu-system-x86_64 -accel tcg, on a
// multiboot guest that enters long mode and runs the same loop). Prints each rate and the ratios.
//
// QEMU is timed as a whole process; a run of one iteration is subtracted so its startup (BIOS,
// multiboot loader, translation of the setup code) does not count. Each QEMU run is repeated and
// the fastest kept, since the build machines are shared.
//
// The translator (`--emu-translate on`) runs the same loop (emu-jit).
//
// The interpreter also runs the loop with SSE moves and inline integer SIMD (emu-sse) and with
// integer SIMD computed by host stubs (emu-stub) in place of the ALU instructions, neither of
// which may be slower per instruction, and with SSE floating point (emu-fp), reported.
//
// Usage: emu_bench [emu_iterations [qemu_iterations]]
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "vmm/emu/testing/emu_machine.h"
#include "vmm/error.h"
#include "vmm/kvm/kvm_engine.h"

extern char** environ;

namespace {

using namespace rrvm;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kRam = 16 << 20;
constexpr uint64_t kPerIteration = 8;
constexpr unsigned kQemuRounds = 3;

// The measured loop body: six integer ALU instructions.
constexpr const char* kAluBody = R"(
  add rax, rbx
  xor rbx, rcx
  rol rax, 3
  lea rdx, [rax + rbx*2 + 7]
  sub rsi, rdx
  and rdi, rsi
)";
// The same number of SSE moves and integer SIMD instructions (emu only: on PVM, KVM would
// emulate them at ring 0, and QEMU's guest leaves SSE disabled).
constexpr const char* kSseBody = R"(
  movdqa xmm0, xmm1
  paddd xmm0, xmm2
  pxor xmm1, xmm0
  movdqu [0x20000], xmm1
  pshufd xmm2, xmm0, 0x1b
  pcmpeqb xmm3, xmm1
)";

// Integer SIMD the interpreter computes through a host stub rather than inline (unpacks, byte
// shifts and shuffles, SSSE3 arithmetic), under the same rule.
constexpr const char* kSseStubBody = R"(
  punpckhbw xmm0, xmm1
  psrldq xmm1, 4
  pmaddubsw xmm2, xmm3
  palignr xmm4, xmm5, 3
  pshufb xmm6, xmm7
  phaddd xmm1, xmm2
)";

// Floating point, which runs under the guest's MXCSR (an LDMXCSR per flag-raising instruction):
// reported, not held to the ALU rule.
constexpr const char* kSseFpBody = R"(
  addps xmm0, xmm1
  mulsd xmm2, xmm3
  cvtsi2sd xmm4, eax
  sqrtpd xmm5, xmm6
  minps xmm6, xmm7
  divss xmm1, xmm2
)";

// The measured loop: eight instructions per iteration, ECX counting iterations (at least one).
std::string loop_source(uint32_t iterations, const char* body = kAluBody) {
  return "  mov ecx, " + std::to_string(iterations) + "\nagain:" + body +
         "  dec ecx\n  jnz again\n";
}

// Wall time, and the CPU time of the process (or of QEMU's), which a loaded machine inflates
// less: the build machines are shared.
struct Seconds {
  double wall, cpu;
};

struct Rate {
  uint64_t instructions;
  Seconds seconds;
  double per_second() const { return double(instructions) / seconds.wall; }
  double per_cpu_second() const { return double(instructions) / seconds.cpu; }
};

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

double process_cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
}

double seconds_of(const timeval& t) {
  return double(t.tv_sec) + double(t.tv_usec) / 1e6;
}

// Runs the loop on `engine` from the long-mode start state until its final port write. The count
// is the engine's own where it keeps one (emu); otherwise the loop plus its MOV and OUT.
std::optional<Rate> time_engine(Engine& engine, GuestMemory& memory, uint32_t iterations,
                                const char* body = kAluBody) {
  CpuState start = test::initial_state(test::Mode::kLong64, memory);
  start.cr4 |= cr4::kOSFXSR | cr4::kOSXMMEXCPT;
  memory.write(test::kCodeAddr, test::assemble(loop_source(iterations, body) + "out 0x80, al\n", 64,
                                               test::kCodeAddr));
  engine.set_state(start);
  const auto t0 = Clock::now();
  const double cpu0 = process_cpu_seconds();
  Exit& e = test::run_past_kicks(engine);
  const Seconds seconds{seconds_since(t0), process_cpu_seconds() - cpu0};
  if (e.reason != ExitReason::kIo) {
    std::fprintf(stderr, "emu_bench: %s stopped with %s %s\n", engine.name(),
                 exit_reason_name(e.reason), e.detail.c_str());
    return std::nullopt;
  }
  return Rate{engine.instruction_count().value_or(iterations * kPerIteration + 2), seconds};
}

// A multiboot (a.out kludge) image loaded at 1 MiB: with page tables built by the assembler that
// identity-map the first GiB in 2 MiB pages, it enters long mode, runs the loop and leaves through
// isa-debug-exit at port 0xf4.
std::string qemu_guest_source(uint32_t iterations) {
  return R"(
bits 32
org 0x100000
header:
  dd 0x1badb002, 0x00010000, -(0x1badb002 + 0x00010000)
  dd header, header, 0, 0, start
start:
  mov eax, pml4
  mov cr3, eax
  mov eax, cr4
  or eax, 0x20
  mov cr4, eax
  mov ecx, 0xc0000080
  rdmsr
  or eax, 0x100
  wrmsr
  lgdt [gdt_desc]
  mov eax, cr0
  or eax, 0x80000001
  mov cr0, eax
  jmp 0x08:long64
align 8
gdt:
  dq 0, 0x00af9b000000ffff
gdt_desc:
  dw gdt_desc - gdt - 1
  dd gdt
align 4096
pml4:
  dq pdpt + 3
  times 511 dq 0
pdpt:
  dq pd + 3
  times 511 dq 0
pd:
%assign i 0
%rep 512
  dq i * 0x200000 + 0x83
%assign i i + 1
%endrep
bits 64
long64:
)" + loop_source(iterations) +
         R"(
  xor eax, eax
  out 0xf4, al
  hlt
)";
}

// Wall time of one QEMU process running the guest image at `path`; nullopt if it did not leave
// through isa-debug-exit with status 0 (process exit status 1).
std::optional<Seconds> time_qemu_once(const std::string& path) {
  std::vector<std::string> args = {"qemu-system-x86_64",
                                   "-accel",
                                   "tcg",
                                   "-nodefaults",
                                   "-display",
                                   "none",
                                   "-no-reboot",
                                   "-m",
                                   "64",
                                   "-device",
                                   "isa-debug-exit,iobase=0xf4,iosize=0x04",
                                   "-kernel",
                                   path};
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  const auto t0 = Clock::now();
  pid_t pid;
  if (posix_spawnp(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return std::nullopt;
  int status = 0;
  rusage usage{};
  if (wait4(pid, &status, 0, &usage) != pid) return std::nullopt;
  const double seconds = seconds_since(t0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 1) return std::nullopt;
  return Seconds{seconds, seconds_of(usage.ru_utime) + seconds_of(usage.ru_stime)};
}

// The fastest of kQemuRounds runs of the guest looping `iterations` times.
std::optional<Seconds> time_qemu(const std::string& dir, uint32_t iterations) {
  const std::string path = dir + "/guest-" + std::to_string(iterations) + ".bin";
  {
    const std::vector<uint8_t> image = test::assemble(qemu_guest_source(iterations), 32, 0x100000);
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(image.data()), std::streamsize(image.size()));
  }
  std::optional<Seconds> best;
  for (unsigned i = 0; i < kQemuRounds; ++i) {
    std::optional<Seconds> t = time_qemu_once(path);
    if (!t) break;
    if (!best) best = t;
    best = Seconds{std::min(best->wall, t->wall), std::min(best->cpu, t->cpu)};
  }
  std::remove(path.c_str());
  return best;
}

std::optional<Rate> rate_qemu(uint32_t iterations) {
  char dir[] = "/tmp/rrvm-emu-bench-XXXXXX";
  if (!mkdtemp(dir)) return std::nullopt;
  std::optional<Seconds> empty = time_qemu(dir, 1), full = time_qemu(dir, iterations);
  rmdir(dir);
  if (!empty || !full || full->wall <= empty->wall || full->cpu <= empty->cpu) return std::nullopt;
  return Rate{uint64_t(iterations - 1) * kPerIteration,
              Seconds{full->wall - empty->wall, full->cpu - empty->cpu}};
}

void print(const char* name, const std::optional<Rate>& r, const char* note) {
  if (!r) {
    std::printf("%-9s unavailable (%s)\n", name, note);
    return;
  }
  std::printf("%-9s %12llu instructions in %7.3f s = %8.2f M instructions/s (%8.2f M per CPU "
              "second)\n",
              name, static_cast<unsigned long long>(r->instructions), r->seconds.wall,
              r->per_second() / 1e6, r->per_cpu_second() / 1e6);
}

void ratio(const char* name, const std::optional<Rate>& a, const std::optional<Rate>& b) {
  if (a && b) std::printf("ratio %-13s %8.2fx\n", name, a->per_second() / b->per_second());
}

// A positive decimal iteration count that fits the guest's 32-bit loop counter, or nullopt.
std::optional<uint32_t> iterations(const char* text) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (errno || end == text || *end || text[0] == '-' || v == 0 || v > UINT32_MAX)
    return std::nullopt;
  return uint32_t(v);
}

} // namespace

int main(int argc, char** argv) {
  std::optional<uint32_t> emu_arg = 50000000, qemu_arg = 1000000000;
  if (argc > 1) emu_arg = iterations(argv[1]);
  if (argc > 2) qemu_arg = iterations(argv[2]);
  if (argc > 3 || !emu_arg || !qemu_arg) {
    std::fprintf(stderr, "usage: emu_bench [EMU_ITERATIONS [QEMU_ITERATIONS]] (positive decimal "
                         "counts up to 4294967295; defaults 50000000 and 1000000000)\n");
    return 64;
  }
  const uint32_t emu_iterations = *emu_arg, qemu_iterations = *qemu_arg;
  // PVM emulates ring-0 code at about 2 M instructions/s: a second's worth.
  const uint32_t kvm_iterations = 250000;

  std::optional<Rate> emu;
  {
    GuestMemory memory(kRam);
    EmuEngine engine(memory, CpuidTable::emulated(), false);
    emu = time_engine(engine, memory, emu_iterations);
    if (!emu) return 1;
  }
  std::optional<Rate> emu_jit;
  {
    GuestMemory memory(kRam);
    EmuEngine engine(memory, CpuidTable::emulated(), true);
    emu_jit = time_engine(engine, memory, emu_iterations);
    if (!emu_jit) return 1;
  }
  std::optional<Rate> emu_sse;
  {
    GuestMemory memory(kRam);
    EmuEngine engine(memory, CpuidTable::emulated(), false);
    emu_sse = time_engine(engine, memory, emu_iterations, kSseBody);
    if (!emu_sse) return 1;
  }
  std::optional<Rate> emu_stub;
  {
    GuestMemory memory(kRam);
    EmuEngine engine(memory, CpuidTable::emulated(), false);
    emu_stub = time_engine(engine, memory, emu_iterations, kSseStubBody);
    if (!emu_stub) return 1;
  }
  std::optional<Rate> emu_fp;
  {
    GuestMemory memory(kRam);
    EmuEngine engine(memory, CpuidTable::emulated(), false);
    emu_fp = time_engine(engine, memory, emu_iterations, kSseFpBody);
    if (!emu_fp) return 1;
  }
  std::optional<Rate> kvm;
  std::string kvm_note;
  try {
    GuestMemory memory(kRam);
    KvmEngine engine(memory);
    kvm = time_engine(engine, memory, kvm_iterations);
    if (!kvm) return 1;
  } catch (const Error& e) {
    kvm_note = e.what();
  }
  std::optional<Rate> qemu = rate_qemu(qemu_iterations);

  print("emu", emu, "");
  print("emu-jit", emu_jit, "");
  print("emu-sse", emu_sse, "");
  print("emu-stub", emu_stub, "");
  print("emu-fp", emu_fp, "");
  print("kvm", kvm, kvm_note.c_str());
  print("qemu-tcg", qemu, "qemu-system-x86_64 missing or the guest did not exit through 0xf4");
  ratio("emu/kvm", emu, kvm);
  ratio("emu-jit/emu", emu_jit, emu);
  ratio("emu-sse/emu", emu_sse, emu);
  ratio("emu-stub/emu", emu_stub, emu);
  ratio("emu-fp/emu", emu_fp, emu);
  ratio("qemu-tcg/emu", qemu, emu);
  ratio("qemu-tcg/emu-jit", qemu, emu_jit);
  ratio("qemu-tcg/kvm", qemu, kvm);
  return 0;
}
