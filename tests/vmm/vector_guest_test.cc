// The C vector guest (tests/guests/vector_c): gcc -O3 SSE4.2-vectorized float, double and
// integer work whose serial output on emu must equal the same C code run natively on the host,
// and whose emu recording replays with the same output.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

class VectorGuestTest : public ::testing::Test {
protected:
  void SetUp() override {
    host_ = run_process({guest_path("vector_c_host")});
    ASSERT_EQ(host_.status, 0) << host_.err;
    ASSERT_NE(host_.out.find("done\n"), std::string::npos) << host_.out;
  }
  ProcessResult host_;
};

TEST_F(VectorGuestTest, EmuPrintsWhatTheHostComputes) {
  ProcessResult r =
      run_process({rrvm_binary(), "run", "--engine", "emu", guest_path("vector_c.elf")});
  ASSERT_FALSE(r.timed_out);
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(r.out, host_.out);
}

TEST_F(VectorGuestTest, EmuRecordingReplaysIdentically) {
  char dir[] = "/tmp/rrvm-vector-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string trace = std::string(dir) + "/trace";
  ProcessResult rec = run_process(
      {rrvm_binary(), "record", "--engine", "emu", "-o", trace, guest_path("vector_c.elf")});
  EXPECT_EQ(rec.status, 1) << rec.err;
  EXPECT_EQ(rec.out, host_.out);
  ProcessResult rep = run_process({rrvm_binary(), "replay", "--engine", "emu", trace});
  EXPECT_EQ(rep.status, 1) << rep.err;
  EXPECT_EQ(rep.out, host_.out);
  std::filesystem::remove_all(dir);
}

} // namespace
} // namespace rrvm::test
