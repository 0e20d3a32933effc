// The rolling hash of the machine's reports (Gate::on_exit, on_port_read, ...) that --verify
// hashes logs instead of the reports themselves: the recorder and the replay fold the same reports
// in the same order and compare at VerifyEvents. Order-sensitive and one multiplication per
// report. An exit comes every few hundred host instructions on an exit-heavy guest, so its fold is
// the cheapest: since trace format 3, a handful of operations (exit()).
#pragma once

#include <bit>
#include <cstdint>

namespace rrvm {

class ReportDigest {
public:
  // `icount` is MaybeCount's word as it stands: an engine that counts no instructions folds ~0.
  void exit(uint8_t reason, uint64_t rip, uint64_t icount) {
    mix(rip ^ reason ^ std::rotl(icount, 32));
  }
  // How formats 2.x folded an exit, which their replays must repeat: like the other reports, with
  // a tag, and 0 for an engine that counts no instructions.
  void format2_exit(uint8_t reason, uint64_t rip, uint64_t icount) {
    fold(kExit | reason, rip, icount);
  }
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

  // Odd, so that multiplying is a bijection mod 2^64. The exits' fits an instruction's immediate.
  static constexpr uint64_t kMultiplier = 0x9e3779b97f4a7c15ull;
  static constexpr uint64_t kExitMultiplier = 0x7feb352dull;

  // One multiplication per report: the fields are spread by rotation, so a change to any one of
  // them changes the folded word, and each fold is a bijection of the running hash for given
  // fields, so a difference once folded in is never cancelled by equal reports after it.
  void fold(uint64_t tag, uint64_t a, uint64_t b) {
    const uint64_t h = (hash_ ^ tag ^ std::rotl(a, 21) ^ std::rotl(b, 43)) * kMultiplier;
    hash_ = h ^ (h >> 29);
    ++reports_;
  }
  // The exits' fold: a bijection of the running hash too (xor, rotation, odd multiplication).
  // The multiplication carries differences only upwards; the rotation brings the high bits down
  // before the next one, so two differences cancel no more easily than under fold()'s xorshift.
  void mix(uint64_t word) {
    hash_ = std::rotl(hash_ ^ word, 29) * kExitMultiplier;
    ++reports_;
  }

  uint64_t reports_ = 0;
  uint64_t hash_ = 0;
};

} // namespace rrvm
