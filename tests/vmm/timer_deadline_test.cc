// The platform keeps the earliest timer deadline between exits (PcPlatform::next_deadline_ns), and
// the machine the instruction count it falls at. A guest that reprograms a timer to fire sooner
// (a PIT channel's reload, the RTC's periodic rate, an HPET comparator written twice) must see
// the new deadline at once: each interrupt's guest time and instruction count follow the timer's
// programming, on both instruction-counted clocks, busy and halted.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/support/fake_gate.h"
#include "vmm/emu/testing/emu_machine.h"
#include "vmm/machine.h"

namespace rrvm::test {
namespace {

constexpr uint64_t kIdt = 0x8000;
constexpr uint64_t kStamps = 0x9000; // the guest's TSC at each interrupt, 8 bytes each
constexpr unsigned kInterrupts = 6;
constexpr unsigned kReprogramAt = 3; // the interrupt whose handler reprograms the timer
constexpr uint64_t kInstructionBound = 100'000'000;

// One timer: how the guest programs it, what the handler does at every interrupt, how it makes the
// timer fire sooner, and the periods (guest ns) before and after.
struct TimerCase {
  const char* name;
  const char* setup;
  const char* rearm;
  const char* reprogram;
  double period_ns;
  double reprogrammed_period_ns;
  // How far an interval may stray from its period: the instructions the handler runs before it
  // reads the TSC shift a timer rearmed from the handler.
  unsigned slack_instructions;
};

constexpr double kPitNs = 1e9 / 1193182;
constexpr double kRtcNs = 1e9 / 32768;

const TimerCase kCases[] = {
    {"PitChannelReload",
     // Channel 0, mode 2 (rate generator), reload 2000.
     "mov al, 0x34\n out 0x43, al\n mov al, 2000 & 0xff\n out 0x40, al\n mov al, 2000 >> 8\n"
     " out 0x40, al\n",
     "",
     "mov al, 0x34\n out 0x43, al\n mov al, 500 & 0xff\n out 0x40, al\n mov al, 500 >> 8\n"
     " out 0x40, al\n",
     2000 * kPitNs, 500 * kPitNs, 0},
    {"RtcPeriodicRate",
     // Rate 6 (1024 Hz), periodic interrupt enabled; register C is read to rearm it.
     "mov al, 0x0a\n out 0x70, al\n mov al, 0x26\n out 0x71, al\n mov al, 0x0b\n out 0x70, al\n"
     " in al, 0x71\n or al, 0x40\n out 0x71, al\n",
     "mov al, 0x0c\n out 0x70, al\n in al, 0x71\n",
     // Rate 3 (8192 Hz).
     "mov al, 0x0a\n out 0x70, al\n mov al, 0x23\n out 0x71, al\n", 32 * kRtcNs, 4 * kRtcNs, 0},
    {"HpetComparator",
     // Timer 0 one-shot with its interrupt enabled, comparator 1 ms, then counting with the legacy
     // route (timer 0 on IRQ0).
     "mov dword [0xfed00100], 4\n mov dword [0xfed00108], 100000\n"
     " mov dword [0xfed0010c], 0\n mov dword [0xfed00010], 3\n",
     "mov eax, [0xfed000f0]\n add eax, ebp\n mov [0xfed00108], eax\n",
     // The comparator is written twice: 1 ms ahead, then 0.2 ms ahead.
     "mov eax, [0xfed000f0]\n add eax, 100000\n mov [0xfed00108], eax\n mov ebp, 20000\n"
     " mov eax, [0xfed000f0]\n add eax, ebp\n mov [0xfed00108], eax\n",
     1e6, 2e5, 12},
};

std::string guest_source(const TimerCase& timer, bool idle) {
  std::string s;
  s += "  mov eax, isr\n mov edi, " + std::to_string(kIdt + 0x20 * 8) + "\n call set_gate\n";
  s += "  mov edi, " + std::to_string(kIdt + 0x28 * 8) + "\n call set_gate\n lidt [idtr]\n";
  // Both PICs: vectors 0x20 and 0x28, IRQ0, the cascade and IRQ8 unmasked.
  s += "  mov al, 0x11\n out 0x20, al\n out 0xa0, al\n mov al, 0x20\n out 0x21, al\n";
  s += "  mov al, 0x28\n out 0xa1, al\n mov al, 4\n out 0x21, al\n mov al, 2\n out 0xa1, al\n";
  s += "  mov al, 1\n out 0x21, al\n out 0xa1, al\n mov al, 0xfa\n out 0x21, al\n";
  s += "  mov al, 0xfe\n out 0xa1, al\n";
  s += "  mov ebp, 100000\n xor esi, esi\n";
  s += timer.setup;
  s += "  sti\nspin:\n";
  s += idle ? "  hlt\n jmp spin\n" : "  jmp spin\n";
  s += "isr:\n rdtsc\n mov [" + std::to_string(kStamps) + " + esi * 8], eax\n";
  s += "  mov [" + std::to_string(kStamps + 4) + " + esi * 8], edx\n";
  s += "  inc esi\n";
  s += timer.rearm;
  s += "  cmp esi, " + std::to_string(kReprogramAt) + "\n jne eoi\n";
  s += timer.reprogram;
  s += "eoi:\n mov al, 0x20\n out 0xa0, al\n out 0x20, al\n";
  s += "  cmp esi, " + std::to_string(kInterrupts) + "\n je finish\n iret\n";
  s += "finish:\n mov al, 0\n out 0xf4, al\n hlt\n";
  s += "set_gate:\n mov [edi], ax\n mov word [edi + 2], 0x08\n mov word [edi + 4], 0x8e00\n";
  s += "  mov ecx, eax\n shr ecx, 16\n mov [edi + 6], cx\n ret\n";
  s += "idtr:\n dw 0x30 * 8 - 1\n dd " + std::to_string(kIdt) + "\n";
  return s;
}

struct Interrupts {
  std::vector<uint64_t> guest_ns; // the TSC the handler read
  RunOutcome::Kind outcome;
};

Interrupts run_guest(const TimerCase& timer, ClockMode clock, bool idle) {
  FakeGate gate;
  MachineConfig config;
  config.memory_bytes = 16 << 20;
  config.engine = EngineKind::kEmu;
  config.clock_mode = clock;
  config.serial_output = [](uint8_t) {};
  GuestMemory memory(config.memory_bytes);
  Machine machine(config, memory,
                  create_engine(config.engine, memory, config.clock_mode, config.emu_translate),
                  gate);
  const std::vector<uint8_t> code = assemble(guest_source(timer, idle), 32, kCodeAddr);
  memory.write(kCodeAddr, code);
  machine.engine().set_state(initial_state(Mode::kProtected32, memory));
  // A timer that never fires leaves the busy guest spinning: stop it well after the last period.
  machine.stop_at(kInstructionBound);
  Interrupts result{{}, machine.run().kind};
  for (unsigned i = 0; i < kInterrupts; ++i)
    result.guest_ns.push_back(memory.load<uint64_t>(kStamps + 8 * i));
  return result;
}

// Guest ns per instruction while the guest runs: icount's fixed rate, the adaptive clock's rate
// before any tie (the fake gate never ties).
double ns_per_instruction(ClockMode clock) {
  return double(clock == ClockMode::kIcount ? kIcountRate : kAdaptiveStartRate) /
         double(ClockLine::kRateOne);
}

class TimerDeadline
    : public testing::TestWithParam<std::tuple<TimerCase, ClockMode, bool /*idle*/>> {};

TEST_P(TimerDeadline, ReprogrammedSoonerFiresAtTheNewDeadline) {
  const auto& [timer, clock, idle] = GetParam();
  const Interrupts got = run_guest(timer, clock, idle);
  ASSERT_EQ(got.outcome, RunOutcome::Kind::kGuestExit);
  const double rate = ns_per_instruction(clock);
  // A time rounds to the next instruction, a timer's input clock to its next tick.
  const double slack = 2 * rate + 10 + timer.slack_instructions * rate;
  for (unsigned i = 1; i < kInterrupts; ++i) {
    const double interval = double(got.guest_ns[i] - got.guest_ns[i - 1]);
    if (i < kReprogramAt) {
      EXPECT_NEAR(interval, timer.period_ns, slack) << "interval " << i;
    } else if (i == kReprogramAt) {
      // Reprogrammed a few instructions after the interrupt's time stamp: at most a new period
      // later (the RTC's periodic rate keeps to its crystal's multiples, so it may come sooner).
      EXPECT_LE(interval, timer.reprogrammed_period_ns + 100 * rate) << "interval " << i;
    } else {
      EXPECT_NEAR(interval, timer.reprogrammed_period_ns, slack) << "interval " << i;
    }
  }
}

std::string case_name(const testing::TestParamInfo<TimerDeadline::ParamType>& info) {
  const auto& [timer, clock, idle] = info.param;
  return std::string(timer.name) + (clock == ClockMode::kIcount ? "Icount" : "Adaptive") +
         (idle ? "Halted" : "Busy");
}

INSTANTIATE_TEST_SUITE_P(Timers, TimerDeadline,
                         testing::Combine(testing::ValuesIn(kCases),
                                          testing::Values(ClockMode::kIcount, ClockMode::kAdaptive),
                                          testing::Bool()),
                         case_name);

} // namespace
} // namespace rrvm::test
