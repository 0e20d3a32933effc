// Executable memory for translated code, bounded in size and never writable and executable at
// once: one shared-memory file mapped twice, read-write where the translator writes and
// read-execute where the host runs it (so W^X costs no mprotect per block).
#pragma once

#include <cstddef>
#include <cstdint>

#include "vmm/unique_fd.h"

namespace rrvm::emu {

class CodeBuffer {
public:
  explicit CodeBuffer(size_t size);

  size_t size() const { return writable_.length(); }
  uint8_t* writable(size_t offset) const { return static_cast<uint8_t*>(writable_.get()) + offset; }
  const uint8_t* executable(size_t offset) const {
    return static_cast<const uint8_t*>(executable_.get()) + offset;
  }

private:
  UniqueMapping writable_;
  UniqueMapping executable_;
};

} // namespace rrvm::emu
