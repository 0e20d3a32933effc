#include "formats/file.h"

#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

#include "vmm/error.h"

namespace rrvm {

File::File(File&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), name_(std::move(other.name_)) {}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    name_ = std::move(other.name_);
  }
  return *this;
}

File::~File() {
  if (fd_ >= 0) ::close(fd_);
}

File File::open_read(const std::string& path) {
  // Checked before opening: opening a FIFO would wait for a writer.
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    throw Error(ExitCode::kBadInput,
                path + ": not a regular file (" +
                    (S_ISDIR(st.st_mode) ? "a directory" : "a pipe, FIFO or device") +
                    "); rrvm reads traces by offset, so they must be files");
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    throw Error(err == ENOENT ? ExitCode::kBadInput : ExitCode::kIo, errno_message(path, err));
  }
  return File(fd, path);
}

File File::create(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw Error(ExitCode::kIo, errno_message(path, errno));
  return File(fd, path);
}

uint64_t File::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw Error(ExitCode::kIo, errno_message(name_, errno));
  return uint64_t(st.st_size);
}

bool File::read_at(uint64_t offset, std::span<uint8_t> data) const {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::pread(fd_, data.data() + done, data.size() - done, off_t(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(ExitCode::kIo, errno_message(name_, errno));
    if (n == 0) return false;
    done += size_t(n);
  }
  return true;
}

void File::write_all(std::span<const uint8_t> data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::write(fd_, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(ExitCode::kIo, errno_message(name_, errno));
    done += size_t(n);
  }
}

void File::close() {
  if (fd_ < 0) return;
  if (::close(std::exchange(fd_, -1)) != 0) throw Error(ExitCode::kIo, errno_message(name_, errno));
}

} // namespace rrvm
