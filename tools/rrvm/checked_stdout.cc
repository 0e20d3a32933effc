#include "tools/rrvm/checked_stdout.h"

#include <cerrno>
#include <iostream>
#include <unistd.h>

#include "vmm/error.h"

namespace rrvm {

CheckedStdout::CheckedStdout() : previous_(std::cout.rdbuf(this)) {
  setp(buffer_.data(), buffer_.data() + buffer_.size());
}

CheckedStdout::~CheckedStdout() {
  drain();
  std::cout.rdbuf(previous_);
}

bool CheckedStdout::drain() {
  const char* next = pbase();
  while (error_ == 0 && next < pptr()) {
    const ssize_t n = ::write(STDOUT_FILENO, next, size_t(pptr() - next));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0)
      error_ = errno;
    else
      next += n;
  }
  setp(buffer_.data(), buffer_.data() + buffer_.size());
  return error_ == 0;
}

CheckedStdout::int_type CheckedStdout::overflow(int_type c) {
  if (!drain()) return traits_type::eof();
  if (!traits_type::eq_int_type(c, traits_type::eof())) {
    *pptr() = traits_type::to_char_type(c);
    pbump(1);
  }
  return traits_type::not_eof(c);
}

int CheckedStdout::sync() {
  return drain() ? 0 : -1;
}

void CheckedStdout::finish(const std::string& name) {
  drain();
  if (error_ != 0) throw Error(ExitCode::kIo, errno_message(name, error_));
}

} // namespace rrvm
