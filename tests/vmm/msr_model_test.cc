// The one MSR model (vmm/msr_model.h) on both engines: a long-mode guest reads every modelled
// MSR and some unknown ones; emu and kvm must answer alike, unknown MSRs raise #GP and are
// counted, and a kvm recording that reads them replays on emu.
#include <gtest/gtest.h>

#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

// The constants and the engine's state exactly; the clock-derived MSRs only as readable.
constexpr const char* kExpected = "00000017=0000000000000000\n"
                                  "0000003a=0000000000000001\n"
                                  "0000008b=0000002100000000\n"
                                  "000001a0=0000000000001801\n"
                                  "00000174=0000000000000000\n"
                                  "00000175=0000000000000000\n"
                                  "00000176=0000000000000000\n"
                                  "00000277=0007040600070406\n"
                                  "c0000080=0000000000000d01\n"
                                  "c0000081=0000000000000000\n"
                                  "c0000082=0000000000000000\n"
                                  "c0000083=0000000000000000\n"
                                  "c0000084=0000000000000000\n"
                                  "c0000100=0000000000000000\n"
                                  "c0000101=0000000000000000\n"
                                  "c0000102=0000000000000000\n"
                                  "0000001b=#GP\n"
                                  "000000fe=#GP\n"
                                  "000002ff=#GP\n"
                                  "c0000103=#GP\n"
                                  "4b564d00=#GP\n"
                                  "12345678=#GP\n"
                                  "00000010=ok\n"
                                  "0000003b=ok\n"
                                  "000000e7=ok\n"
                                  "000000e8=ok\n"
                                  "000006e0=ok\n"
                                  "0000008b=0000002100000000\n"
                                  "c0000081=0023001011223344\n"
                                  "12345678=#GP\n";

constexpr const char* kUnknownMsrsCounter = "rdmsr/wrmsr of unmodelled MSRs (#GP)";

void expect_the_model(const std::string& engine) {
  ProcessResult r = run_process({rrvm_binary(), "run", "--engine", engine, "--serial", "stdio",
                                 "--stats", guest_path("msr_long.elf")});
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_EQ(r.out, kExpected);
  const size_t counter = r.err.find(kUnknownMsrsCounter);
  ASSERT_NE(counter, std::string::npos) << r.err;
  EXPECT_EQ(r.err.substr(r.err.find('\t', counter), 3), "\t7\n") << r.err;
}

TEST(MsrModel, EmuAnswersTheTable) {
  expect_the_model("emu");
}

TEST(MsrModel, KvmAnswersAsEmuDoes) {
  if (!kvm_usable_or_fail()) GTEST_SKIP() << "/dev/kvm is not usable on this host";
  expect_the_model("kvm");
}

TEST(MsrModel, AKvmRecordingThatReadsMsrsReplaysOnEmu) {
  if (!kvm_usable_or_fail()) GTEST_SKIP() << "/dev/kvm is not usable on this host";
  const std::string trace = ::testing::TempDir() + "msr_long.kvm.trace";
  ProcessResult record = run_process({rrvm_binary(), "record", "-o", trace, "--engine", "kvm",
                                      "--serial", "none", guest_path("msr_long.elf")});
  ASSERT_EQ(record.status, 1) << record.err;
  ProcessResult replay =
      run_process({rrvm_binary(), "replay", "--engine", "emu", "--serial", "stdio", trace});
  EXPECT_EQ(replay.status, 1) << replay.err;
  EXPECT_EQ(replay.out, kExpected);
}

} // namespace
} // namespace rrvm::test
