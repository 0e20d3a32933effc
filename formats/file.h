// An owned file descriptor with the few whole-buffer operations the trace needs.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <utility>

namespace rrvm {

class File {
public:
  File() = default;
  explicit File(int fd, std::string name) : fd_(fd), name_(std::move(name)) {}
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File();

  // Both throw Error(kIo) (kBadInput for a missing trace or one that is not a regular file)
  // naming the path.
  static File open_read(const std::string& path);
  static File create(const std::string& path);

  const std::string& name() const { return name_; }
  uint64_t size() const;
  // Reads exactly data.size() bytes at `offset`; false if the file ends first.
  bool read_at(uint64_t offset, std::span<uint8_t> data) const;
  void write_all(std::span<const uint8_t> data);
  // Reports a failed close (lost writes on some filesystems) as Error(kIo).
  void close();

private:
  int fd_ = -1;
  std::string name_;
};

} // namespace rrvm
