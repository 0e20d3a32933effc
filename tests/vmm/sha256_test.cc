// rrvm's SHA-256 against FIPS 180-4's examples and against coreutils' sha256sum, the real thing,
// in both ways of running the rounds, around every padding boundary.
#include <cstdio>
#include <fstream>
#include <gtest/gtest.h>
#include <random>
#include <string>
#include <vector>

#include "tests/support/subprocess.h"
#include "vmm/sha256.h"

namespace rrvm {
namespace {

std::span<const uint8_t> bytes_of(const std::string& text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

std::vector<Sha256Rounds> available_rounds() {
  std::vector<Sha256Rounds> rounds;
  for (Sha256Rounds r : {Sha256Rounds::kPortable, Sha256Rounds::kShaExtensions})
    if (sha256_rounds_available(r)) rounds.push_back(r);
  return rounds;
}

std::string sha256sum_of(const std::vector<uint8_t>& bytes) {
  const std::string path = test::unique_temp_path("message.bin");
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  const test::ProcessResult hashed = test::run_process({"sha256sum", path});
  std::remove(path.c_str());
  EXPECT_EQ(hashed.status, 0) << hashed.err;
  return hashed.out.substr(0, 64);
}

TEST(Sha256Test, MatchesTheStandardsExamples) {
  const std::string million_a(1'000'000, 'a');
  const std::pair<std::string, std::string> examples[] = {
      {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
      {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
      {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
      {million_a, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"}};
  for (Sha256Rounds rounds : available_rounds())
    for (const auto& [message, digest] : examples)
      EXPECT_EQ(sha256_hex(sha256_of(bytes_of(message), rounds)), digest)
          << message.size() << " bytes, rounds " << int(rounds);
}

TEST(Sha256Test, HashesAnEmptySpanWithoutData) {
  for (Sha256Rounds rounds : available_rounds())
    EXPECT_EQ(sha256_hex(sha256_of(std::span<const uint8_t>(), rounds)),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256Test, AgreesWithSha256sumAroundEveryPaddingBoundary) {
  std::mt19937 random(20261204);
  for (size_t size : {1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 1 << 20}) {
    std::vector<uint8_t> bytes(size);
    for (uint8_t& b : bytes)
      b = uint8_t(random());
    const std::string expected = sha256sum_of(bytes);
    for (Sha256Rounds rounds : available_rounds())
      EXPECT_EQ(sha256_hex(sha256_of(bytes, rounds)), expected)
          << size << " bytes, rounds " << int(rounds);
    EXPECT_EQ(sha256_of(bytes), sha256_of(bytes, Sha256Rounds::kPortable)) << size << " bytes";
  }
}

TEST(Sha256Test, BothRoundsAgreeOnEveryLengthUpToFourBlocks) {
  if (!sha256_rounds_available(Sha256Rounds::kShaExtensions))
    GTEST_SKIP() << "this CPU has no SHA extensions";
  std::vector<uint8_t> bytes(256);
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = uint8_t(i * 167 + 13);
  for (size_t size = 0; size <= bytes.size(); ++size) {
    const std::span<const uint8_t> message(bytes.data(), size);
    EXPECT_EQ(sha256_of(message, Sha256Rounds::kPortable),
              sha256_of(message, Sha256Rounds::kShaExtensions))
        << size << " bytes";
  }
}

} // namespace
} // namespace rrvm
