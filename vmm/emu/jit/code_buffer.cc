#include "vmm/emu/jit/code_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "vmm/error.h"

namespace rrvm::emu {

namespace {

UniqueMapping map_view(int fd, size_t size, int prot) {
  void* p = ::mmap(nullptr, size, prot, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    std::string what =
        "cannot map the translator's code buffer (--emu-translate off runs without it): ";
    what += std::strerror(errno);
    throw Error(ExitCode::kInternal, what);
  }
  return UniqueMapping(p, size);
}

} // namespace

CodeBuffer::CodeBuffer(size_t size) {
  UniqueFd fd(::memfd_create("rrvm-translated-code", MFD_CLOEXEC));
  if (!fd || ::ftruncate(fd.get(), off_t(size)) != 0) {
    std::string what =
        "cannot create the translator's code buffer (--emu-translate off runs without it): ";
    what += std::strerror(errno);
    throw Error(ExitCode::kInternal, what);
  }
  writable_ = map_view(fd.get(), size, PROT_READ | PROT_WRITE);
  executable_ = map_view(fd.get(), size, PROT_READ | PROT_EXEC);
}

} // namespace rrvm::emu
