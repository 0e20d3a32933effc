// The rolling hash of the machine's reports (Gate::on_exit, on_port_read, ...) that --verify
// hashes logs instead of the reports themselves: the recorder and the replay fold the same reports
// in the same order and compare at VerifyEvents. Order-sensitive and a few multiplications per
// report, so folding every exit costs next to nothing.
#pragma once

#include <cstdint>

namespace rrvm {

class ReportDigest {
public:
  void exit(uint8_t reason, uint64_t rip, uint64_t icount) { fold(kExit | reason, rip, icount); }
  void port_read(uint16_t port, uint8_t size, uint32_t value) {
    fold(kPortRead | uint64_t(port) << 8 | size, value, 0);
  }
  void mmio_read(uint64_t gpa, uint8_t size, uint64_t value) { fold(kMmioRead | size, gpa, value); }
  void msr_read(uint32_t index, uint64_t value) { fold(kMsrRead | index, value, 0); }
  void injection(uint8_t vector, uint64_t point) { fold(kInjection | vector, point, 0); }
  void guest_exit(int32_t status) { fold(kGuestExit | uint32_t(status), 0, 0); }

  uint64_t reports() const { return reports_; }
  uint64_t hash() const { return hash_; }
  bool operator==(const ReportDigest&) const = default;

private:
  // Distinct tags keep reports of different kinds with equal fields apart.
  static constexpr uint64_t kExit = 1ull << 56;
  static constexpr uint64_t kPortRead = 2ull << 56;
  static constexpr uint64_t kMmioRead = 3ull << 56;
  static constexpr uint64_t kMsrRead = 4ull << 56;
  static constexpr uint64_t kInjection = 5ull << 56;
  static constexpr uint64_t kGuestExit = 6ull << 56;

  static uint64_t mix(uint64_t h, uint64_t v) {
    h = (h ^ v) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 29);
  }
  void fold(uint64_t tag, uint64_t a, uint64_t b) {
    hash_ = mix(mix(mix(hash_, tag), a), b);
    ++reports_;
  }

  uint64_t reports_ = 0;
  uint64_t hash_ = 0;
};

} // namespace rrvm
