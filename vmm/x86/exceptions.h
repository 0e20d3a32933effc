// The architectural exceptions, named once: vector, mnemonic, the class that decides escalation
// to #DF (SDM vol. 3 table 6-5), whether the CPU pushes an error code, and how it is reported.
#pragma once

#include <cstdint>

namespace rrvm::x86 {

namespace vec {
constexpr uint8_t kDE = 0, kDB = 1, kNMI = 2, kBP = 3, kOF = 4, kBR = 5, kUD = 6, kNM = 7, kDF = 8,
                  kTS = 10, kNP = 11, kSS = 12, kGP = 13, kPF = 14, kMF = 16, kAC = 17, kMC = 18,
                  kXM = 19, kVE = 20, kCP = 21;
} // namespace vec

enum class ExceptionClass : uint8_t { kBenign, kContributory, kPageFault, kDoubleFault };
// Fault: the saved RIP is the faulting instruction; trap: the next one; abort: neither is exact.
enum class ExceptionKind : uint8_t { kFault, kTrap, kFaultOrTrap, kInterrupt, kAbort };

struct ExceptionInfo {
  const char* mnemonic;
  ExceptionClass cls;
  bool error_code;
  ExceptionKind kind;
};

// Vectors 0-31; reserved vectors read as benign faults without an error code.
constexpr ExceptionInfo exception_info(uint8_t vector) {
  using C = ExceptionClass;
  using K = ExceptionKind;
  constexpr ExceptionInfo kTable[] = {
      {"#DE", C::kContributory, false, K::kFault},
      {"#DB", C::kBenign, false, K::kFaultOrTrap},
      {"NMI", C::kBenign, false, K::kInterrupt},
      {"#BP", C::kBenign, false, K::kTrap},
      {"#OF", C::kBenign, false, K::kTrap},
      {"#BR", C::kBenign, false, K::kFault},
      {"#UD", C::kBenign, false, K::kFault},
      {"#NM", C::kBenign, false, K::kFault},
      {"#DF", C::kDoubleFault, true, K::kAbort},
      {"CSO", C::kBenign, false, K::kAbort}, // coprocessor segment overrun, 386 only
      {"#TS", C::kContributory, true, K::kFault},
      {"#NP", C::kContributory, true, K::kFault},
      {"#SS", C::kContributory, true, K::kFault},
      {"#GP", C::kContributory, true, K::kFault},
      {"#PF", C::kPageFault, true, K::kFault},
      {"#15", C::kBenign, false, K::kFault},
      {"#MF", C::kBenign, false, K::kFault},
      {"#AC", C::kBenign, true, K::kFault},
      {"#MC", C::kBenign, false, K::kAbort},
      {"#XM", C::kBenign, false, K::kFault},
      {"#VE", C::kBenign, false, K::kFault},
      {"#CP", C::kContributory, true, K::kFault},
  };
  if (vector < sizeof kTable / sizeof kTable[0]) return kTable[vector];
  return {"reserved", C::kBenign, false, K::kFault};
}

// What a CPU does when `second` is raised while delivering `first` (SDM vol. 3 table 6-5).
enum class Escalation : uint8_t { kDeliverSecond, kDoubleFault, kShutdown };

constexpr Escalation escalate(uint8_t first, uint8_t second) {
  const ExceptionClass a = exception_info(first).cls, b = exception_info(second).cls;
  if (a == ExceptionClass::kDoubleFault) return Escalation::kShutdown;
  const bool second_serious = b == ExceptionClass::kContributory || b == ExceptionClass::kPageFault;
  if ((a == ExceptionClass::kContributory && b == ExceptionClass::kContributory) ||
      (a == ExceptionClass::kPageFault && second_serious))
    return Escalation::kDoubleFault;
  return Escalation::kDeliverSecond;
}

} // namespace rrvm::x86
