#include "formats/batch_codec.h"

#include <array>

#include "formats/aligned_vector.h"
#include "formats/trace_generated.h"
#include "formats/varint.h"

namespace rrvm {
namespace {

template <typename T>
flatbuffers::Offset<flatbuffers::Vector<T>> column(flatbuffers::FlatBufferBuilder& builder,
                                                   const std::vector<T>& values) {
  if (values.empty()) return {}; // an absent field reads back as an empty column
  return builder.CreateVector(values.data(), values.size());
}

// Deltas from the previous value, starting from zero in every batch.
// Per stats sample: its count of reasons, then the counts; absent when no sample has any.
flatbuffers::Offset<flatbuffers::Vector<uint8_t>>
exit_reasons_column(flatbuffers::FlatBufferBuilder& builder,
                    const std::vector<StatsSampleEvent>& samples, std::vector<uint8_t>& scratch) {
  size_t values = 0;
  for (const StatsSampleEvent& s : samples)
    values += s.exits_by_reason.size();
  if (values == 0) return {};
  scratch.resize((values + samples.size()) * kMaxVarintBytes);
  uint8_t* out = scratch.data();
  for (const StatsSampleEvent& s : samples) {
    out = put_varint(out, s.exits_by_reason.size());
    for (uint64_t count : s.exits_by_reason)
      out = put_varint(out, count);
  }
  return builder.CreateVector(scratch.data(), size_t(out - scratch.data()));
}

bool decode_exit_reasons(const flatbuffers::Vector<uint8_t>* in,
                         std::vector<StatsSampleEvent>& samples) {
  if (!in) return true;
  const uint8_t* p = in->data();
  const uint8_t* end = p + in->size();
  for (StatsSampleEvent& s : samples) {
    uint64_t n;
    p = get_varint(p, end, n);
    // Each count takes at least a byte: a count beyond what is left is damage, not a huge vector.
    if (!p || n > uint64_t(end - p)) return false;
    s.exits_by_reason.resize(n);
    for (uint64_t& count : s.exits_by_reason) {
      p = get_varint(p, end, count);
      if (!p) return false;
    }
  }
  return p == end;
}

flatbuffers::Offset<flatbuffers::Vector<uint8_t>>
delta_column(flatbuffers::FlatBufferBuilder& builder, const std::vector<uint64_t>& values,
             std::vector<uint8_t>& scratch) {
  if (values.empty()) return {};
  scratch.resize(values.size() * kMaxVarintBytes);
  uint8_t* out = scratch.data();
  uint64_t previous = 0;
  for (uint64_t value : values) {
    out = put_varint(out, zigzag(int64_t(value - previous)));
    previous = value;
  }
  return builder.CreateVector(scratch.data(), size_t(out - scratch.data()));
}

template <typename T>
bool copy_column(const flatbuffers::Vector<T>* in, size_t expected, std::vector<T>& out) {
  const size_t size = in ? in->size() : 0;
  if (size != expected || !elements_aligned<T>(in)) return false;
  if (in)
    out.assign(in->data(), in->data() + size);
  else
    out.clear();
  return true;
}

bool decode_deltas(const flatbuffers::Vector<uint8_t>* in, size_t expected,
                   std::vector<uint64_t>& out) {
  out.resize(expected);
  const uint8_t* p = in ? in->data() : nullptr;
  const uint8_t* end = in ? in->data() + in->size() : nullptr;
  uint64_t value = 0;
  for (size_t i = 0; i < expected; ++i) {
    uint64_t delta;
    p = get_varint(p, end, delta);
    if (!p) return false;
    value += uint64_t(unzigzag(delta));
    out[i] = value;
  }
  return p == end;
}

} // namespace

std::span<const uint8_t> BatchEncoder::encode(const EventColumns& c, uint64_t first_event) {
  builder_.Clear();
  auto& b = builder_;
  const auto kinds = column(b, c.kinds);
  const auto exit_reasons = column(b, c.exit_reasons);
  const auto exit_rips = delta_column(b, c.exit_rips, scratch_);
  const auto clock_ns = delta_column(b, c.clock_ns, scratch_);
  const auto port_ports = column(b, c.port_ports);
  const auto port_sizes = column(b, c.port_sizes);
  const auto port_values = column(b, c.port_values);
  const auto mmio_gpas = column(b, c.mmio_gpas);
  const auto mmio_sizes = column(b, c.mmio_sizes);
  const auto mmio_values = column(b, c.mmio_values);
  const auto msr_indexes = column(b, c.msr_indexes);
  const auto msr_values = column(b, c.msr_values);

  flatbuffers::Offset<flatbuffers::Vector<const fb::Injection*>> injections;
  if (!c.injections.empty()) {
    fb::Injection* out;
    injections = b.CreateUninitializedVectorOfStructs(c.injections.size(), &out);
    for (const InjectionEvent& i : c.injections)
      *out++ = fb::Injection(i.point, i.rip, i.state_hash, i.dirty_hash, i.vector, uint8_t(i.kind));
  }
  const auto serial_lengths = column(b, c.serial_lengths);
  const auto serial_bytes = column(b, c.serial_bytes);
  const auto serial_polls = delta_column(b, c.serial_polls, scratch_);
  flatbuffers::Offset<flatbuffers::Vector<const fb::StatsSample*>> stats;
  if (!c.stats.empty()) {
    fb::StatsSample* out;
    stats = b.CreateUninitializedVectorOfStructs(c.stats.size(), &out);
    for (const StatsSampleEvent& s : c.stats)
      *out++ = fb::StatsSample(s.host_ns, s.runtime_ns, s.ready_ns, s.idle_ns, s.exits);
  }
  const auto stats_exit_reasons = exit_reasons_column(b, c.stats, scratch_);
  const auto checkpoints = column(b, c.checkpoints);
  const auto register_hashes = column(b, c.register_hashes);
  const auto guest_exits = column(b, c.guest_exits);
  flatbuffers::Offset<flatbuffers::Vector<const fb::Kick*>> kicks;
  if (!c.kicks.empty()) {
    fb::Kick* out;
    kicks = b.CreateUninitializedVectorOfStructs(c.kicks.size(), &out);
    for (const KickEvent& k : c.kicks)
      *out++ = fb::Kick(k.rip, k.icount, k.state_hash, k.dirty_hash);
  }
  flatbuffers::Offset<flatbuffers::Vector<const fb::Verify*>> verifies;
  if (!c.verifies.empty()) {
    fb::Verify* out;
    verifies = b.CreateUninitializedVectorOfStructs(c.verifies.size(), &out);
    for (const VerifyEvent& v : c.verifies)
      *out++ = fb::Verify(v.reports, v.hash, v.icount, v.state_hash, v.polls, uint8_t(v.kind));
  }

  flatbuffers::Offset<flatbuffers::Vector<const fb::ClockTie*>> clock_ties;
  if (!c.clock_ties.empty()) {
    fb::ClockTie* out;
    clock_ties = b.CreateUninitializedVectorOfStructs(c.clock_ties.size(), &out);
    for (const ClockTieEvent& t : c.clock_ties)
      *out++ = fb::ClockTie(t.icount, t.ns, t.rate, t.point);
  }

  b.Finish(fb::CreateEventBatch(b, first_event, kinds, exit_reasons, exit_rips, clock_ns,
                                port_ports, port_sizes, port_values, mmio_gpas, mmio_sizes,
                                mmio_values, msr_indexes, msr_values, injections, serial_lengths,
                                serial_bytes, stats, checkpoints, register_hashes, guest_exits,
                                kicks, serial_polls, verifies, stats_exit_reasons, clock_ties));
  return {b.GetBufferPointer(), b.GetSize()};
}

std::optional<std::string> decode_batch(std::span<const uint8_t> buffer, uint64_t first_event,
                                        uint32_t event_count, EventColumns& out) {
  flatbuffers::Verifier::Options options;
  options.max_depth = 4;
  options.max_tables = 4;
  flatbuffers::Verifier verifier(buffer.data(), buffer.size(), options);
  if (!verifier.VerifyBuffer<fb::EventBatch>(nullptr))
    return "event batch fails FlatBuffers verification";
  const fb::EventBatch* batch = flatbuffers::GetRoot<fb::EventBatch>(buffer.data());
  if (batch->first_event() != first_event) return "event batch starts at the wrong event";

  const auto* kinds = batch->kinds();
  if ((kinds ? kinds->size() : 0) != event_count) return "event batch has the wrong event count";
  std::array<size_t, kEventKindCount> counts{};
  if (kinds) {
    for (uint8_t kind : *kinds) {
      if (kind >= kEventKindCount) return "event batch holds an unknown event kind";
      ++counts[kind];
    }
  }
  auto n = [&](EventKind kind) { return counts[size_t(kind)]; };

  bool ok =
      copy_column(kinds, event_count, out.kinds) &&
      copy_column(batch->exit_reasons(), n(EventKind::kExit), out.exit_reasons) &&
      decode_deltas(batch->exit_rips(), n(EventKind::kExit), out.exit_rips) &&
      decode_deltas(batch->clock_ns(), n(EventKind::kClock), out.clock_ns) &&
      copy_column(batch->port_ports(), n(EventKind::kPortRead), out.port_ports) &&
      copy_column(batch->port_sizes(), n(EventKind::kPortRead), out.port_sizes) &&
      copy_column(batch->port_values(), n(EventKind::kPortRead), out.port_values) &&
      copy_column(batch->mmio_gpas(), n(EventKind::kMmioRead), out.mmio_gpas) &&
      copy_column(batch->mmio_sizes(), n(EventKind::kMmioRead), out.mmio_sizes) &&
      copy_column(batch->mmio_values(), n(EventKind::kMmioRead), out.mmio_values) &&
      copy_column(batch->msr_indexes(), n(EventKind::kMsrRead), out.msr_indexes) &&
      copy_column(batch->msr_values(), n(EventKind::kMsrRead), out.msr_values) &&
      copy_column(batch->serial_lengths(), n(EventKind::kSerialInput), out.serial_lengths) &&
      copy_column(batch->checkpoints(), n(EventKind::kCheckpoint), out.checkpoints) &&
      copy_column(batch->register_hashes(), n(EventKind::kRegisterHash), out.register_hashes) &&
      copy_column(batch->guest_exits(), n(EventKind::kGuestExit), out.guest_exits);
  if (!ok) return "event batch columns disagree with its event kinds or are misaligned";

  uint64_t serial_total = 0;
  for (uint32_t length : out.serial_lengths)
    serial_total += length;
  const auto* serial_bytes = batch->serial_bytes();
  if ((serial_bytes ? serial_bytes->size() : 0) != serial_total)
    return "event batch serial input lengths disagree with its bytes";
  if (serial_bytes)
    out.serial_bytes.assign(serial_bytes->begin(), serial_bytes->end());
  else
    out.serial_bytes.clear();
  // Format 1 has no polls: the column is absent; since 2.0 every serial input has one.
  const size_t polls = batch->serial_polls() ? n(EventKind::kSerialInput) : 0;
  if (!decode_deltas(batch->serial_polls(), polls, out.serial_polls))
    return "event batch serial input polls disagree with its event kinds";

  const auto* injections = batch->injections();
  if ((injections ? injections->size() : 0) != n(EventKind::kInjection) ||
      !elements_aligned<fb::Injection>(injections))
    return "event batch columns disagree with its event kinds";
  out.injections.clear();
  if (injections) {
    for (const fb::Injection* i : *injections) {
      if (i->kind() > uint8_t(InjectionKind::kAtIcount)) return "unknown injection kind";
      out.injections.push_back({i->vector(), InjectionKind(i->kind()), i->point(), i->rip(),
                                i->state_hash(), i->dirty_hash()});
    }
  }
  const auto* stats = batch->stats();
  if ((stats ? stats->size() : 0) != n(EventKind::kStatsSample) ||
      !elements_aligned<fb::StatsSample>(stats))
    return "event batch columns disagree with its event kinds";
  out.stats.clear();
  if (stats) {
    for (const fb::StatsSample* s : *stats)
      out.stats.push_back(
          {s->host_ns(), s->runtime_ns(), s->ready_ns(), s->idle_ns(), s->exits(), {}});
  }
  if (!decode_exit_reasons(batch->stats_exit_reasons(), out.stats))
    return "event batch stats exit reasons disagree with its samples";
  // A 1.0 batch has no kicks field, which reads as an empty column: still consistent.
  const auto* kicks = batch->kicks();
  if ((kicks ? kicks->size() : 0) != n(EventKind::kKick) || !elements_aligned<fb::Kick>(kicks))
    return "event batch columns disagree with its event kinds";
  out.kicks.clear();
  if (kicks) {
    for (const fb::Kick* k : *kicks)
      out.kicks.push_back({k->rip(), k->icount(), k->state_hash(), k->dirty_hash()});
  }
  const auto* verifies = batch->verifies();
  if ((verifies ? verifies->size() : 0) != n(EventKind::kVerify) ||
      !elements_aligned<fb::Verify>(verifies))
    return "event batch columns disagree with its event kinds";
  out.verifies.clear();
  if (verifies) {
    for (const fb::Verify* v : *verifies) {
      if (v->kind() > uint8_t(VerifyKind::kStop)) return "unknown verification kind";
      out.verifies.push_back({VerifyKind(v->kind()), v->reports(), v->hash(), v->icount(),
                              v->state_hash(), v->polls()});
    }
  }
  // Before 2.0 a batch has no clock_ties field: an empty column, as for kicks.
  const auto* ties = batch->clock_ties();
  if ((ties ? ties->size() : 0) != n(EventKind::kClockTie) || !elements_aligned<fb::ClockTie>(ties))
    return "event batch columns disagree with its event kinds";
  out.clock_ties.clear();
  if (ties) {
    for (const fb::ClockTie* t : *ties) {
      if (t->point() > 2) return "unknown clock tie point";
      out.clock_ties.push_back({t->icount(), t->ns(), t->rate(), t->point()});
    }
  }
  return std::nullopt;
}

} // namespace rrvm
