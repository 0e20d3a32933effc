// Owning wrappers for a file descriptor and a memory mapping.
#pragma once

#include <cstddef>
#include <sys/mman.h>
#include <unistd.h>
#include <utility>

namespace rrvm {

class UniqueFd {
public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

private:
  int fd_ = -1;
};

class UniqueMapping {
public:
  UniqueMapping() = default;
  UniqueMapping(void* addr, size_t length) : addr_(addr), length_(length) {}
  UniqueMapping(UniqueMapping&& other) noexcept
      : addr_(std::exchange(other.addr_, nullptr)), length_(std::exchange(other.length_, 0)) {}
  UniqueMapping& operator=(UniqueMapping&& other) noexcept {
    if (this != &other) {
      reset();
      addr_ = std::exchange(other.addr_, nullptr);
      length_ = std::exchange(other.length_, 0);
    }
    return *this;
  }
  ~UniqueMapping() { reset(); }

  void* get() const { return addr_; }
  size_t length() const { return length_; }
  void reset() {
    if (addr_) ::munmap(addr_, length_);
    addr_ = nullptr;
  }

private:
  void* addr_ = nullptr;
  size_t length_ = 0;
};

} // namespace rrvm
