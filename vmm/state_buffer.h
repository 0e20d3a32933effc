// A flat byte buffer for saving and restoring device and CPU state (checkpoints, reverse
// execution). Values are stored in host byte order: a state buffer never leaves the process
// that wrote it except inside a trace, which records the host architecture.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "vmm/error.h"

namespace rrvm {

class StateWriter {
public:
  template <typename T> void put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const uint8_t*>(&value);
    bytes_.insert(bytes_.end(), p, p + sizeof(T));
  }
  void put_bytes(std::span<const uint8_t> data) {
    put<uint64_t>(data.size());
    bytes_.insert(bytes_.end(), data.begin(), data.end());
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }
  std::vector<uint8_t> take() { return std::move(bytes_); }

private:
  std::vector<uint8_t> bytes_;
};

class StateReader {
public:
  explicit StateReader(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  template <typename T> T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    take(&value, sizeof(T));
    return value;
  }
  template <typename T> void get(T& value) { value = get<T>(); }
  std::vector<uint8_t> get_bytes() {
    auto n = get<uint64_t>();
    if (n > bytes_.size() - pos_) throw Error(ExitCode::kBadInput, "saved state is truncated");
    std::vector<uint8_t> out(bytes_.begin() + pos_, bytes_.begin() + pos_ + n);
    pos_ += n;
    return out;
  }
  bool at_end() const { return pos_ == bytes_.size(); }

private:
  void take(void* out, size_t n) {
    if (n > bytes_.size() - pos_) throw Error(ExitCode::kBadInput, "saved state is truncated");
    std::memcpy(out, bytes_.data() + pos_, n);
    pos_ += n;
  }
  std::span<const uint8_t> bytes_;
  size_t pos_ = 0;
};

} // namespace rrvm
