#include "tools/rrvm/trace_header_check.h"

#include "vmm/boot/boot_layout.h"
#include "vmm/guest_memory.h"

namespace rrvm {

namespace {

// The smallest guest memory rrvm boots: the boot structures and a kernel above 1 MiB.
constexpr uint64_t kMinGuestMemory = 2u << 20;

std::string problem(const TraceHeader& header) {
  const TraceMachine& m = header.machine;
  if (m.engine != "kvm" && m.engine != "emu") return "engine '" + m.engine + "' is not kvm or emu";
  if (m.memory_bytes < kMinGuestMemory || m.memory_bytes % kPageSize != 0 ||
      m.memory_bytes > kMmioHoleStart)
    return "memory size " + std::to_string(m.memory_bytes) +
           " is not a multiple of 4 KiB between 2 MiB and 3.5 GiB";
  if (header.boot.command_line.size() > boot_layout::kCmdlineMax)
    return "command line of " + std::to_string(header.boot.command_line.size()) +
           " bytes is longer than " + std::to_string(boot_layout::kCmdlineMax);
  if (header.boot.kernel_kind > kLastKernelKind)
    return "kernel kind " + std::to_string(int(header.boot.kernel_kind)) + " is unknown";
  const size_t images = max_guest_images(header.boot.kernel_kind);
  if (header.images.empty() || header.images.size() > images)
    return std::to_string(header.images.size()) + " guest images; a " +
           kernel_kind_name(header.boot.kernel_kind) + " kernel has " +
           (images == 2 ? "one or two (kernel, initrd)" : "exactly one");
  return {};
}

} // namespace

void check_trace_header(const std::string& path, const TraceHeader& header) {
  if (std::string p = problem(header); !p.empty())
    throw Error(ExitCode::kBadInput, path + ": trace header: " + p);
}

} // namespace rrvm
