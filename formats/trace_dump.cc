#include "formats/trace_dump.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <vector>

#include "formats/trace_reader.h"
#include "vmm/clock_line.h"
#include "vmm/disassembler.h"
#include "vmm/engine.h"
#include "vmm/error.h"
#include "vmm/hex_text.h"
#include "vmm/sha256.h"

namespace rrvm {
namespace {

constexpr size_t kMaxInstructionBytes = 15;

std::string hash(uint64_t v) {
  char text[24];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(v));
  return text;
}

std::string dec(uint64_t v) {
  return std::to_string(v);
}

std::string utc(int64_t unix_ns) {
  const time_t seconds = time_t(unix_ns / 1'000'000'000);
  tm parts{};
  gmtime_r(&seconds, &parts);
  char text[32];
  strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

std::string quoted(std::span<const uint8_t> bytes) {
  std::string s = "\"";
  for (uint8_t b : bytes) {
    if (b == '"' || b == '\\')
      s += std::string("\\") + char(b);
    else if (b >= 0x20 && b < 0x7f)
      s += char(b);
    else
      s += "\\x" + hash(b).substr(14);
  }
  return s + "\"";
}

std::string exit_reason_text(uint8_t reason) {
  if (reason > uint8_t(ExitReason::kUnsupported)) return "reason-" + std::to_string(reason);
  return exit_reason_name(ExitReason(reason));
}

// Disassembles the instruction at a rip from the guest images, decompressed on first use.
class ImageDisassembler {
public:
  explicit ImageDisassembler(const std::vector<GuestImage>& images)
      : images_(images), bytes_(images.size()) {}

  // The instruction's text, or nothing if no image holds `rip`.
  std::optional<std::string> at(uint64_t rip) {
    for (size_t i = 0; i < images_.size(); ++i) {
      for (const ImageSegment& s : images_[i].segments) {
        if (rip < s.vaddr || rip - s.vaddr >= s.size) continue;
        const std::vector<uint8_t>* bytes = image(i);
        const uint64_t offset = s.file_offset + (rip - s.vaddr);
        if (!bytes || offset >= bytes->size() || offset < s.file_offset) continue;
        const uint64_t room = std::min<uint64_t>(
            {kMaxInstructionBytes, s.size - (rip - s.vaddr), bytes->size() - offset});
        return disassemble_one(std::span(bytes->data() + offset, room), images_[i].mode_bits, rip);
      }
    }
    return std::nullopt;
  }

private:
  const std::vector<uint8_t>* image(size_t i) {
    if (!bytes_[i]) {
      try {
        bytes_[i] = images_[i].bytes();
      } catch (const Error&) {
        bytes_[i] = std::vector<uint8_t>(); // damaged: never disassemble from it
      }
    }
    return &*bytes_[i];
  }

  const std::vector<GuestImage>& images_;
  std::vector<std::optional<std::vector<uint8_t>>> bytes_;
};

void print_header(const std::string& path, const TraceReader& reader, std::ostream& out) {
  const TraceHeader& h = reader.header();
  out << "trace " << path << ": format " << h.format_major << "." << h.format_minor << ", rrvm "
      << h.rrvm_version << ", created " << utc(h.created_unix_ns) << "\n";
  out << "host: " << h.host_kernel << "; cpu: " << h.host_cpu << "\n";
  const TraceMachine& m = h.machine;
  out << "machine: memory " << m.memory_bytes << " bytes, engine " << m.engine << ", clock "
      << m.clock_mode << ", rtc base " << m.rtc_base_unix_s << ", verify " << m.verify_mode
      << ", kick bound " << m.kick_bound_ns << " ns, " << m.cpuid.size() << " cpuid entries\n";
  const BootArgs& b = h.boot;
  out << "boot: " << kernel_kind_name(b.kernel_kind) << ", load address "
      << hex_text(b.flat_load_address) << ", serial " << b.serial.backend << " (port "
      << hex_text(b.serial.io_port) << ", irq " << int(b.serial.irq) << "), command line "
      << quoted({reinterpret_cast<const uint8_t*>(b.command_line.data()), b.command_line.size()})
      << "\n";
  for (size_t i = 0; i < h.images.size(); ++i) {
    const GuestImage& image = h.images[i];
    out << "image " << i << ": " << image.name << ", " << image.original_size << " bytes ("
        << (image.referenced ? "referenced, not in the trace"
                             : std::to_string(image.zstd.size()) + " compressed")
        << "), " << int(image.mode_bits) << "-bit, sha256 " << sha256_hex(image.sha256) << "\n";
    for (const ImageSegment& s : image.segments)
      out << "  segment gpa " << hex_text(s.gpa) << " vaddr " << hex_text(s.vaddr)
          << " file offset " << hex_text(s.file_offset) << " size " << hex_text(s.size) << "\n";
  }
  if (const auto& footer = reader.footer()) {
    out << "footer: " << footer->total_events << " events in " << footer->chunks.size()
        << " chunks";
    for (size_t k = 0; k < kEventKindCount; ++k) {
      if (footer->kind_counts[k])
        out << ", " << footer->kind_counts[k] << " " << event_kind_name(EventKind(k));
    }
    if (footer->summary.guest_exit_status)
      out << "; guest exit status " << *footer->summary.guest_exit_status;
    out << "\n";
    for (const auto& [name, value] : footer->summary.stats) {
      std::string padded = name;
      if (padded.size() < 40) padded.resize(40, ' ');
      out << "stat " << padded << "\t" << value << "\n";
    }
  } else {
    out << "footer: none; " << reader.status().events << " readable events\n";
  }
}

std::string describe(const Event& event, ImageDisassembler& disassembler) {
  return std::visit(
      [&](const auto& e) -> std::string {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, ExitEvent>) {
          std::string line = "exit " + exit_reason_text(e.reason) + " rip=" + hex_text(e.rip);
          if (auto insn = disassembler.at(e.rip)) line += "  " + *insn;
          return line;
        } else if constexpr (std::is_same_v<T, ClockEvent>) {
          return "clock " + dec(e.ns) + " ns";
        } else if constexpr (std::is_same_v<T, PortReadEvent>) {
          return "port-read port=" + hex_text(e.port) + " size=" + dec(e.size) +
                 " value=" + hex_text(e.value);
        } else if constexpr (std::is_same_v<T, MmioReadEvent>) {
          return "mmio-read gpa=" + hex_text(e.gpa) + " size=" + dec(e.size) +
                 " value=" + hex_text(e.value);
        } else if constexpr (std::is_same_v<T, MsrReadEvent>) {
          return "msr-read index=" + hex_text(e.index) + " value=" + hex_text(e.value);
        } else if constexpr (std::is_same_v<T, InjectionEvent>) {
          const std::string head = "injection vector=" + hex_text(e.vector);
          switch (e.kind) {
          case InjectionKind::kAtExit:
            return head + " at-exit exit=" + dec(e.point);
          case InjectionKind::kAtIcount:
            return head + " at-icount icount=" + dec(e.point);
          case InjectionKind::kAtKick:
            break;
          }
          return head + " at-kick rip=" + hex_text(e.rip) + " state=" + hash(e.state_hash) +
                 " dirty=" + hash(e.dirty_hash);
        } else if constexpr (std::is_same_v<T, SerialInputEvent>) {
          std::string line = "serial-input " + dec(e.bytes.size()) + " bytes " + quoted(e.bytes);
          if (e.poll) line += " at poll " + dec(*e.poll);
          return line;
        } else if constexpr (std::is_same_v<T, StatsSampleEvent>) {
          std::string line = "stats host=" + dec(e.host_ns) + " runtime=" + dec(e.runtime_ns) +
                             " ready=" + dec(e.ready_ns) + " idle=" + dec(e.idle_ns) +
                             " ns, exits=" + dec(e.exits);
          for (size_t reason = 0; reason < e.exits_by_reason.size(); ++reason) {
            if (e.exits_by_reason[reason]) {
              // Appended piece by piece: GCC 12 -O3 warns falsely on `" " + std::string`.
              line += ' ';
              line += exit_reason_text(uint8_t(reason));
              line += '=';
              line += dec(e.exits_by_reason[reason]);
            }
          }
          return line;
        } else if constexpr (std::is_same_v<T, CheckpointEvent>) {
          return "checkpoint " + dec(e.id);
        } else if constexpr (std::is_same_v<T, RegisterHashEvent>) {
          return "register-hash " + hash(e.hash);
        } else if constexpr (std::is_same_v<T, GuestExitEvent>) {
          return "guest-exit status=" + std::to_string(e.status);
        } else if constexpr (std::is_same_v<T, VerifyEvent>) {
          std::string line = std::string("verify ") + verify_kind_name(e.kind) +
                             " reports=" + dec(e.reports) + " hash=" + hash(e.hash) +
                             " icount=" + dec(e.icount) + " polls=" + dec(e.polls);
          if (e.kind == VerifyKind::kBoundary) line += " state=" + hash(e.state_hash);
          return line;
        } else if constexpr (std::is_same_v<T, ClockTieEvent>) {
          return std::string("clock-tie ") + clock_tie_point_name(e.point) +
                 " icount=" + dec(e.icount) + " ns=" + dec(e.ns) + " rate=" + dec(e.rate) + "/" +
                 dec(ClockLine::kRateOne) + " ns per instruction";
        } else {
          std::string line = "kick rip=" + hex_text(e.rip) + " icount=" + dec(e.icount) +
                             " state=" + hash(e.state_hash) + " dirty=" + hash(e.dirty_hash);
          if (auto insn = disassembler.at(e.rip)) line += "  " + *insn;
          return line;
        }
      },
      event);
}

} // namespace

int dump_trace(const std::string& path, uint64_t from, uint64_t count, std::ostream& out,
               std::ostream& problems) {
  TraceReader reader(path);
  print_header(path, reader, out);
  ImageDisassembler disassembler(reader.header().images);

  const uint64_t end = count > UINT64_MAX - from ? UINT64_MAX : from + count;
  bool reached_end = reader.seek(from);
  if (!reached_end && (reader.status().complete() || reader.status().every_event)) {
    problems << path << ": --from " << from << " is past the end of the trace ("
             << reader.status().events << " events)\n";
    return int(ExitCode::kUsage);
  }
  Event event;
  while (reached_end && reader.position() < end) {
    const uint64_t index = reader.position();
    if (!reader.next(event)) {
      reached_end = false;
      break;
    }
    out << index << " " << describe(event, disassembler) << "\n";
  }
  const TraceStatus& status = reader.status();
  if (status.complete() || (reached_end && end <= status.events)) return int(ExitCode::kOk);
  if (status.every_event) {
    problems << path << ": every event is there but the footer is damaged: " << status.reason
             << "\n";
    return int(ExitCode::kOk);
  }
  problems << path << ": trace truncated at event " << status.events << ": " << status.reason
           << "\n";
  return int(ExitCode::kBadInput);
}

} // namespace rrvm
