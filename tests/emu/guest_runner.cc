#include "tests/emu/guest_runner.h"

#include <cstring>

#include "vmm/emu/testing/emu_machine.h"

namespace rrvm::test {

GuestRun run_guest(EmuEngine& engine, size_t max_exits) {
  GuestRun r;
  for (size_t i = 0; i < max_exits; ++i) {
    Exit& e = engine.run();
    r.exits.emplace_back(e.reason, *engine.instruction_count());
    if (e.reason != ExitReason::kIo) {
      r.error = std::string(exit_reason_name(e.reason)) + " " + e.detail;
      return r;
    }
    if (e.io.write) {
      if (e.io.port == 0x3f8) r.serial += char(e.io.data[0]);
      if (e.io.port == 0xf4) {
        r.exit_code = e.io.data[0];
        return r;
      }
    } else {
      std::memset(e.io.data, e.io.port == 0x3fd ? 0x20 : 0xff, e.io.size * e.io.count);
    }
  }
  r.error = "too many exits";
  return r;
}

namespace {

constexpr uint64_t kRam = 64 << 20;
constexpr uint64_t kLoadAddress = 0x7c00;

CpuState real_mode_boot() {
  CpuState s;
  s.rip = kLoadAddress;
  s.rflags = 2;
  Segment r;
  r.selector = 0;
  r.base = 0;
  r.limit = 0xffff;
  r.type = 0x3;
  s.ds = s.es = s.fs = s.gs = s.ss = r;
  r.type = 0xb;
  s.cs = r;
  s.idt = {0, 0x3ff};
  return s;
}

} // namespace

LoadedGuest::LoadedGuest(const std::string& name, bool translate)
    : memory(kRam), engine(memory, CpuidTable::emulated(), translate) {
  memory.write(kLoadAddress, read_file(std::string(RRVM_EMU_GUEST_DIR) + "/" + name + ".bin"));
  engine.set_state(real_mode_boot());
}

} // namespace rrvm::test
