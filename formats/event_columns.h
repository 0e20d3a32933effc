// A batch of events in columns: what the writer's producer appends to and what the reader decodes
// a chunk into. `kinds` orders the events; each per-kind column holds that kind's events in order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "formats/trace_event.h"

namespace rrvm {

struct EventColumns {
  std::vector<uint8_t> kinds;
  std::vector<uint8_t> exit_reasons;
  std::vector<uint64_t> exit_rips;
  std::vector<uint64_t> clock_ns;
  std::vector<uint16_t> port_ports;
  std::vector<uint8_t> port_sizes;
  std::vector<uint32_t> port_values;
  std::vector<uint64_t> mmio_gpas;
  std::vector<uint8_t> mmio_sizes;
  std::vector<uint64_t> mmio_values;
  std::vector<uint32_t> msr_indexes;
  std::vector<uint64_t> msr_values;
  std::vector<InjectionEvent> injections;
  std::vector<uint32_t> serial_lengths;
  std::vector<uint8_t> serial_bytes;
  std::vector<uint64_t> serial_polls; // one per serial input, or none (format 1)
  std::vector<StatsSampleEvent> stats;
  std::vector<uint64_t> checkpoints;
  std::vector<uint64_t> register_hashes;
  std::vector<int32_t> guest_exits;
  std::vector<KickEvent> kicks;
  std::vector<VerifyEvent> verifies;
  std::vector<ClockTieEvent> clock_ties;

  size_t size() const { return kinds.size(); }
  bool empty() const { return kinds.empty(); }

  // Keeps the capacity: batches are recycled, so steady-state appends never allocate.
  void clear() {
    kinds.clear();
    exit_reasons.clear();
    exit_rips.clear();
    clock_ns.clear();
    port_ports.clear();
    port_sizes.clear();
    port_values.clear();
    mmio_gpas.clear();
    mmio_sizes.clear();
    mmio_values.clear();
    msr_indexes.clear();
    msr_values.clear();
    injections.clear();
    serial_lengths.clear();
    serial_bytes.clear();
    serial_polls.clear();
    stats.clear();
    checkpoints.clear();
    register_hashes.clear();
    guest_exits.clear();
    kicks.clear();
    verifies.clear();
    clock_ties.clear();
  }

  // How many events of `kind` the columns hold (its column's length).
  size_t count(EventKind kind) const;
};

} // namespace rrvm
