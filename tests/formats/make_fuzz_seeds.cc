// Writes valid traces for the fuzz smoke run to start from: without them libFuzzer would spend
// its short run finding the magic number.
#include <cstdio>
#include <filesystem>
#include <string>

#include "tests/formats/trace_test_util.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_fuzz_seeds DIR (creates DIR/seeds and DIR/corpus)\n");
    return 64;
  }
  const std::string dir = std::string(argv[1]) + "/seeds";
  std::filesystem::create_directories(dir);
  std::filesystem::create_directories(std::string(argv[1]) + "/corpus");
  using rrvm::test::sample_events;
  rrvm::test::write_sample_trace(dir + "/finished.trace", sample_events(40), 8);
  rrvm::test::write_sample_trace(dir + "/killed.trace", sample_events(25), 8, false);
  rrvm::test::write_sample_trace(dir + "/one_chunk.trace", sample_events(15), 64);
  return 0;
}
