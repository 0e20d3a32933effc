// The rolling hash of the machine's reports (Gate::on_exit, on_port_read, ...) that --verify
// hashes logs instead of the reports themselves: the recorder and the replay fold the same reports
// in the same order and compare at VerifyEvents. Order-sensitive and one multiplication per word
// of a report. An exit or a port read comes every few hundred host instructions on an exit-heavy
// guest, so their folds are the cheapest: a handful of operations (mixed()), since trace format 4
// (exits took a few more in format 3, and all reports twice as many in format 2).
#pragma once

#include <bit>
#include <cstdint>

namespace rrvm {

class ReportDigest {
public:
  // `icount` is MaybeCount's word as it stands: an engine that counts no instructions folds ~0.
  // It goes in after the rotation, which moves the rip's differences out of its way (a rip and a
  // count that both differ in their low bits cannot cancel), for one xor.
  void exit(uint8_t reason, uint64_t rip, uint64_t icount) {
    hash_ = (std::rotl(hash_ ^ rip ^ reason, 29) ^ icount) * kExitMultiplier;
    ++reports_;
  }
  // A port read's fields fill one word without overlapping: the port and the size in the high
  // half, the value in the low. Its multiplier tells it from the other kinds.
  void port_read(uint16_t port, uint8_t size, uint32_t value) {
    const uint32_t high = uint32_t(port) << 8 | size;
    hash_ = mixed(hash_, uint64_t(high) << 32 | value, kPortReadMultiplier);
    ++reports_;
  }
  // Two words each, as an address or an index and a 64-bit value would overlap in one.
  void mmio_read(uint64_t gpa, uint8_t size, uint64_t value) {
    hash_ = mixed(mixed(hash_, gpa ^ uint64_t(size) << 56, kMmioReadMultiplier), value,
                  kMmioReadMultiplier);
    ++reports_;
  }
  void msr_read(uint32_t index, uint64_t value) {
    hash_ = mixed(mixed(hash_, index, kMsrReadMultiplier), value, kMsrReadMultiplier);
    ++reports_;
  }
  void injection(uint8_t vector, uint64_t point) { fold(kInjection | vector, point, 0); }
  void guest_exit(int32_t status) { fold(kGuestExit | uint32_t(status), 0, 0); }

  // How older formats folded, which their replays must repeat. Format 3: exits as now but with
  // the instruction count rotated into the word, reads as in format 2. Format 2: every report
  // with a tag, an exit's missing instruction count as 0.
  void format3_exit(uint8_t reason, uint64_t rip, uint64_t icount) {
    hash_ = mixed(hash_, rip ^ reason ^ std::rotl(icount, 32), kExitMultiplier);
    ++reports_;
  }
  void format2_exit(uint8_t reason, uint64_t rip, uint64_t icount) {
    fold(kExit | reason, rip, icount);
  }
  void format3_port_read(uint16_t port, uint8_t size, uint32_t value) {
    fold(kPortRead | uint64_t(port) << 8 | size, value, 0);
  }
  void format3_mmio_read(uint64_t gpa, uint8_t size, uint64_t value) {
    fold(kMmioRead | size, gpa, value);
  }
  void format3_msr_read(uint32_t index, uint64_t value) { fold(kMsrRead | index, value, 0); }

  uint64_t reports() const { return reports_; }
  uint64_t hash() const { return hash_; }
  bool operator==(const ReportDigest&) const = default;

private:
  // fold()'s tags keep reports of different kinds with equal fields apart.
  static constexpr uint64_t kExit = 1ull << 56;
  static constexpr uint64_t kPortRead = 2ull << 56;
  static constexpr uint64_t kMmioRead = 3ull << 56;
  static constexpr uint64_t kMsrRead = 4ull << 56;
  static constexpr uint64_t kInjection = 5ull << 56;
  static constexpr uint64_t kGuestExit = 6ull << 56;

  // Odd, so that multiplying is a bijection mod 2^64. mixed()'s fit an instruction's immediate
  // (below 2^31, as the immediate is sign-extended) and differ by kind, in place of a tag: two
  // kinds' folds of one word differ unless the word equals the running hash (then both give 0),
  // which for a fresh digest takes a first report whose fields are all zero.
  static constexpr uint64_t kMultiplier = 0x9e3779b97f4a7c15ull;
  static constexpr uint64_t kExitMultiplier = 0x7feb352dull;
  static constexpr uint64_t kPortReadMultiplier = 0x6c8e9cf5ull;
  static constexpr uint64_t kMmioReadMultiplier = 0x5bd1e995ull;
  static constexpr uint64_t kMsrReadMultiplier = 0x4f1bbcddull;

  // One multiplication per report: the fields are spread by rotation, so a change to any one of
  // them changes the folded word, and each fold is a bijection of the running hash for given
  // fields, so a difference once folded in is never cancelled by equal reports after it.
  void fold(uint64_t tag, uint64_t a, uint64_t b) {
    const uint64_t h = (hash_ ^ tag ^ std::rotl(a, 21) ^ std::rotl(b, 43)) * kMultiplier;
    hash_ = h ^ (h >> 29);
    ++reports_;
  }
  // The cheap fold: a bijection of the running hash too (xor, rotation, odd multiplication). The
  // multiplication carries differences only upwards; the rotation brings the high bits down
  // before the next one, so two differences cancel no more easily than under fold()'s xorshift.
  static uint64_t mixed(uint64_t hash, uint64_t word, uint64_t multiplier) {
    return std::rotl(hash ^ word, 29) * multiplier;
  }

  uint64_t reports_ = 0;
  uint64_t hash_ = 0;
};

} // namespace rrvm
