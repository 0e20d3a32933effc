// Helpers shared by the trace tests, the fuzz target and its seed generator.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <sys/mman.h>
#include <unistd.h>
#include <vector>

#include "formats/file.h"
#include "formats/trace_header.h"
#include "formats/trace_writer.h"
#include "vmm/error.h"

namespace rrvm::test {

// A File over bytes in memory, so a test can open thousands of damaged traces cheaply.
inline File memory_file(std::span<const uint8_t> bytes) {
  const int fd = memfd_create("trace", MFD_CLOEXEC);
  if (fd < 0) throw Error(ExitCode::kIo, errno_message("memfd_create", errno));
  File file(fd, "memory trace");
  if (!bytes.empty() && ::write(fd, bytes.data(), bytes.size()) != ssize_t(bytes.size()))
    throw Error(ExitCode::kIo, errno_message("memfd write", errno));
  return file;
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  const File file = File::open_read(path);
  std::vector<uint8_t> bytes(file.size());
  file.read_at(0, bytes);
  return bytes;
}

// A header using every field, with a 64-bit flat image at 0x1000 that starts with `in al, dx`.
inline TraceHeader sample_header() {
  TraceHeader h;
  h.machine.memory_bytes = 64 << 20;
  h.machine.engine = "emu";
  h.machine.clock_mode = "host";
  h.machine.rtc_base_unix_s = 1'700'000'000;
  h.machine.verify_mode = "full";
  h.machine.kick_bound_ns = 1'000'000;
  h.machine.cpuid = {{0, 0, false, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69},
                     {7, 1, true, 1, 2, 3, 4}};
  h.boot.kernel_kind = KernelKind::kFlat;
  h.boot.flat_load_address = 0x1000;
  h.boot.command_line = "console=ttyS0 \"quoted\"";
  h.boot.serial = {"stdio", 0x3f8, 4};
  const std::vector<uint8_t> code = {0xec, 0xe6, 0x80, 0xf4, 0x48, 0x89, 0xd8, 0x90};
  h.images.push_back(GuestImage::from_bytes("guest.bin", code, 64, {{0x1000, 0x1000, 0, 8}}));
  return h;
}

// Every event kind (from 15 events on), with awkward values: negative and huge deltas, empty and
// binary serial input. The first 13 are what the format 1.0 fixture in data/ holds.
inline std::vector<Event> sample_events(size_t n) {
  std::vector<Event> events;
  uint64_t rip = 0x1000;
  uint64_t ns = 1'000'000'000;
  for (size_t i = 0; i < n; ++i) {
    switch (i % 15) {
    case 0:
      events.push_back(ExitEvent{0, rip});
      break;
    case 1:
      events.push_back(ClockEvent{ns += 1234 + i});
      break;
    case 2:
      events.push_back(PortReadEvent{0x3fd, 1, uint32_t(0x60 + i)});
      break;
    case 3:
      events.push_back(ExitEvent{uint8_t(i % 12), rip = (i % 2 ? rip + 7 : UINT64_MAX - i)});
      break;
    case 4:
      events.push_back(MmioReadEvent{0xfee00030, 4, 0x50014 + i});
      break;
    case 5:
      events.push_back(MsrReadEvent{0xc0000080, 0xd01});
      break;
    case 6:
      events.push_back(InjectionEvent{0x20, InjectionKind(i % 3), i, rip, 0x1234567890abcdef + i,
                                      0xfedcba0987654321});
      break;
    case 7: {
      SerialInputEvent serial;
      for (size_t b = 0; b < i % 5; ++b)
        serial.bytes.push_back(uint8_t(i * 31 + b));
      serial.poll = i * 3;
      events.push_back(serial);
      break;
    }
    case 8:
      // Exits by reason (--verify hashes) in every other sample, none in format 1.0's.
      events.push_back(
          StatsSampleEvent{ns, ns / 2, i, i * 2, i * 3,
                           i / 14 % 2 ? std::vector<uint64_t>{i, 0, 7} : std::vector<uint64_t>{}});
      break;
    case 9:
      events.push_back(CheckpointEvent{i});
      break;
    case 10:
      events.push_back(RegisterHashEvent{0xabcdef00 + i});
      break;
    case 11:
      events.push_back(ClockEvent{ns -= 5});
      break;
    case 12:
      events.push_back(GuestExitEvent{-int32_t(i)});
      break;
    case 13:          // kicks and verification events take turns
      if (i / 15 % 2) // an engine without an instruction count records 0
        events.push_back(
            KickEvent{rip, i % 4 == 1 ? 0 : i * 1000, 0x0123456789abcdef ^ i, ~uint64_t(i)});
      else
        events.push_back(VerifyEvent{VerifyKind(i / 30 % 3), i * 16384, 0x9e3779b97f4a7c15 * i,
                                     i * 777, i / 30 % 3 ? 0 : ~uint64_t(i), i * 5});
      break;
    case 14:
      events.push_back(ClockTieEvent{i * 100'000, ns, 6 * 65536 + i, uint8_t(i % 3)});
      break;
    }
  }
  return events;
}

inline void write_sample_trace(const std::string& path, const std::vector<Event>& events,
                               uint32_t batch_events, bool finish = true) {
  TraceWriter writer(path, sample_header(), {.batch_events = batch_events, .queued_batches = 2});
  for (const Event& e : events)
    writer.append(e);
  if (finish) writer.finish({{{"total number of vm exits", 42}, {"vcpu total runtime", 7}}, 3});
}

} // namespace rrvm::test
