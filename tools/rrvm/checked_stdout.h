// Standard output through a buffer that remembers why a write failed: stdio forgets the errno of
// a failed flush (and drops the bytes), so `rrvm stats > /dev/full` could not say "No space left
// on device". Installed under std::cout for the life of the object.
#pragma once

#include <array>
#include <ostream>
#include <streambuf>
#include <string>

namespace rrvm {

class CheckedStdout : public std::streambuf {
public:
  CheckedStdout();
  ~CheckedStdout() override;
  CheckedStdout(const CheckedStdout&) = delete;
  CheckedStdout& operator=(const CheckedStdout&) = delete;

  // Flushes; throws Error(kIo) "NAME: strerror" if any write failed.
  void finish(const std::string& name);

protected:
  int_type overflow(int_type c) override;
  int sync() override;

private:
  bool drain();

  std::array<char, 64 * 1024> buffer_;
  int error_ = 0;
  std::streambuf* previous_;
};

} // namespace rrvm
