// ReportDigest's folds (trace format 4): any one changed field of any report changes the hash and
// stays changed after equal reports, reports of different kinds with equal fields fold apart, and
// an exit's instruction count and the next exit's rip cannot cancel where both differ alike.
#include "vmm/report_digest.h"

#include <gtest/gtest.h>

#include <functional>
#include <vector>

namespace rrvm {
namespace {

struct Fields {
  uint64_t a = 0x7c12, b = 0x3fd, c = 0x60;
};
using Field = uint64_t Fields::*;
struct Kind {
  std::function<void(ReportDigest&, const Fields&)> report;
  std::vector<Field> takes;
};

// Every kind of report, with its fields taken from `f` at the widths its fold takes.
std::vector<Kind> every_kind() {
  const std::vector<Field> abc{&Fields::a, &Fields::b, &Fields::c};
  return {
      {[](ReportDigest& d, const Fields& f) { d.exit(uint8_t(f.c), f.a, f.b); }, abc},
      {[](ReportDigest& d, const Fields& f) {
         d.port_read(uint16_t(f.b), uint8_t(f.c), uint32_t(f.a));
       },
       abc},
      {[](ReportDigest& d, const Fields& f) { d.mmio_read(f.a, uint8_t(f.c), f.b); }, abc},
      {[](ReportDigest& d, const Fields& f) { d.msr_read(uint32_t(f.b), f.a); },
       {&Fields::a, &Fields::b}},
      {[](ReportDigest& d, const Fields& f) { d.injection(uint8_t(f.c), f.a); },
       {&Fields::a, &Fields::c}},
  };
}

// The digest of reports of one kind, the second with `changed`'s fields, equal ones around it.
ReportDigest fold_around(const Kind& kind, const Fields& changed) {
  ReportDigest d;
  kind.report(d, Fields{});
  kind.report(d, changed);
  for (int i = 0; i < 4; ++i)
    kind.report(d, Fields{});
  return d;
}

TEST(ReportDigestTest, EachBitOfEachFieldChangesTheHashForGood) {
  for (const Kind& kind : every_kind()) {
    const ReportDigest base = fold_around(kind, Fields{});
    for (Field field : kind.takes) {
      for (int bit = 0; bit < 8; ++bit) {
        Fields changed;
        changed.*field ^= 1ull << bit;
        const ReportDigest other = fold_around(kind, changed);
        EXPECT_EQ(other.reports(), base.reports());
        EXPECT_NE(other.hash(), base.hash()) << "bit " << bit;
      }
    }
  }
}

TEST(ReportDigestTest, KindsWithEqualFieldsFoldApart) {
  std::vector<uint64_t> hashes;
  for (const Kind& kind : every_kind()) {
    ReportDigest d;
    kind.report(d, Fields{});
    hashes.push_back(d.hash());
  }
  for (size_t i = 0; i < hashes.size(); ++i)
    for (size_t j = i + 1; j < hashes.size(); ++j)
      EXPECT_NE(hashes[i], hashes[j]) << "kinds " << i << " and " << j;
}

TEST(ReportDigestTest, AnIcountAndTheNextRipDifferingAlikeDoNotCancel) {
  ReportDigest recorded, replayed;
  recorded.exit(1, 0x7c10, 0x1000);
  recorded.exit(1, 0x7c20, 0x1010);
  replayed.exit(1, 0x7c10, 0x1001);
  replayed.exit(1, 0x7c21, 0x1010);
  EXPECT_NE(recorded.hash(), replayed.hash());
}

} // namespace
} // namespace rrvm
