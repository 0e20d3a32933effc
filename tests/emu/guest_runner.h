// Runs a test guest on the interpreter, playing the devices the guests use: COM1 output (its
// line status always reads "transmitter empty") and the 0xf4 exit port.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "vmm/emu/emu_engine.h"
#include "vmm/guest_memory.h"

namespace rrvm::test {

struct GuestRun {
  std::string serial;
  int exit_code = -1; // value written to port 0xf4, -1 when the guest did not exit that way
  std::vector<std::pair<ExitReason, uint64_t>> exits; // every exit with the count at that point
  std::string error;                                  // the exit that ended the run otherwise
};

// Runs until the guest writes port 0xf4 or something unexpected happens.
GuestRun run_guest(EmuEngine& engine, size_t max_exits = 1000000);

// A guest binary built by CMake (RRVM_EMU_GUEST_DIR) in fresh RAM at 0x7c00, entered there in
// real mode with CS=0.
struct LoadedGuest {
  explicit LoadedGuest(const std::string& name, bool translate = kEmuTranslateByDefault);
  GuestMemory memory;
  EmuEngine engine;
};

} // namespace rrvm::test
