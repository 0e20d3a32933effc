#include "formats/trace_codec.h"

#include <algorithm>

#include "formats/aligned_vector.h"
#include "formats/trace_generated.h"

namespace rrvm {
namespace {

std::string text(const flatbuffers::String* s) {
  return s ? s->str() : std::string();
}

template <typename T> bool verified(std::span<const uint8_t> buffer) {
  flatbuffers::Verifier verifier(buffer.data(), buffer.size());
  return verifier.VerifyBuffer<T>(nullptr);
}

flatbuffers::Offset<fb::GuestImage> build_image(flatbuffers::FlatBufferBuilder& b,
                                                const GuestImage& image) {
  std::vector<fb::LoadedSegment> segments;
  for (const ImageSegment& s : image.segments)
    segments.emplace_back(s.gpa, s.vaddr, s.file_offset, s.size);
  const auto name = b.CreateString(image.name);
  const auto sha = b.CreateVector(image.sha256.data(), image.sha256.size());
  const auto zstd = b.CreateVector(image.zstd);
  const auto segs = b.CreateVectorOfStructs(segments);
  return fb::CreateGuestImage(b, name, image.original_size, sha, zstd, image.mode_bits, segs,
                              image.referenced);
}

} // namespace

std::vector<uint8_t> encode_header(const TraceHeader& h) {
  flatbuffers::FlatBufferBuilder b(1024 + [&] {
    size_t images = 0;
    for (const GuestImage& image : h.images)
      images += image.zstd.size();
    return images;
  }());
  std::vector<fb::CpuidEntry> cpuid;
  for (const CpuidEntry& e : h.machine.cpuid)
    cpuid.emplace_back(e.function, e.index, e.eax, e.ebx, e.ecx, e.edx, e.indexed);
  const auto machine =
      fb::CreateMachineConfig(b, h.machine.memory_bytes, b.CreateString(h.machine.engine),
                              b.CreateString(h.machine.clock_mode), h.machine.rtc_base_unix_s,
                              b.CreateString(h.machine.verify_mode), h.machine.kick_bound_ns,
                              b.CreateVectorOfStructs(cpuid));
  const auto serial = fb::CreateSerialConfig(b, b.CreateString(h.boot.serial.backend),
                                             h.boot.serial.io_port, h.boot.serial.irq);
  const auto boot =
      fb::CreateBootArgs(b, fb::KernelKind(h.boot.kernel_kind), h.boot.flat_load_address,
                         b.CreateString(h.boot.command_line), serial);
  std::vector<flatbuffers::Offset<fb::GuestImage>> images;
  for (const GuestImage& image : h.images)
    images.push_back(build_image(b, image));
  b.Finish(fb::CreateTraceHeader(b, h.format_major, h.format_minor, b.CreateString(h.rrvm_version),
                                 h.created_unix_ns, b.CreateString(h.host_kernel),
                                 b.CreateString(h.host_cpu), machine, boot,
                                 b.CreateVector(images)));
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

std::optional<std::string> decode_header(std::span<const uint8_t> buffer, TraceHeader& out) {
  if (!verified<fb::TraceHeader>(buffer)) return "trace header fails FlatBuffers verification";
  const fb::TraceHeader* h = flatbuffers::GetRoot<fb::TraceHeader>(buffer.data());
  out = TraceHeader{};
  out.format_major = h->format_major();
  out.format_minor = h->format_minor();
  out.rrvm_version = text(h->rrvm_version());
  out.created_unix_ns = h->created_unix_ns();
  out.host_kernel = text(h->host_kernel());
  out.host_cpu = text(h->host_cpu());
  if (const fb::MachineConfig* m = h->machine()) {
    out.machine.memory_bytes = m->memory_bytes();
    out.machine.engine = text(m->engine());
    out.machine.clock_mode = text(m->clock_mode());
    out.machine.rtc_base_unix_s = m->rtc_base_unix_s();
    out.machine.verify_mode = text(m->verify_mode());
    out.machine.kick_bound_ns = m->kick_bound_ns();
    if (!elements_aligned<fb::CpuidEntry>(m->cpuid())) return "misaligned CPUID table";
    if (m->cpuid()) {
      for (const fb::CpuidEntry* e : *m->cpuid())
        out.machine.cpuid.push_back(
            {e->function(), e->index(), e->indexed(), e->eax(), e->ebx(), e->ecx(), e->edx()});
    }
  }
  if (const fb::BootArgs* boot = h->boot()) {
    if (uint8_t(boot->kernel_kind()) > uint8_t(kLastKernelKind)) return "unknown kernel kind";
    out.boot.kernel_kind = KernelKind(boot->kernel_kind());
    out.boot.flat_load_address = boot->flat_load_address();
    out.boot.command_line = text(boot->command_line());
    if (const fb::SerialConfig* serial = boot->serial()) {
      out.boot.serial.backend = text(serial->backend());
      out.boot.serial.io_port = serial->io_port();
      out.boot.serial.irq = serial->irq();
    }
  }
  if (h->images()) {
    for (const fb::GuestImage* in : *h->images()) {
      GuestImage image;
      image.name = text(in->name());
      image.original_size = in->original_size();
      if (!in->sha256() || in->sha256()->size() != image.sha256.size())
        return "guest image '" + image.name + "' has no sha256";
      std::copy(in->sha256()->begin(), in->sha256()->end(), image.sha256.begin());
      if (in->zstd()) image.zstd.assign(in->zstd()->begin(), in->zstd()->end());
      image.mode_bits = in->mode_bits();
      image.referenced = in->referenced();
      if (!elements_aligned<fb::LoadedSegment>(in->segments()))
        return "guest image '" + image.name + "' has misaligned segments";
      if (in->segments()) {
        for (const fb::LoadedSegment* s : *in->segments())
          image.segments.push_back({s->gpa(), s->vaddr(), s->file_offset(), s->size()});
      }
      out.images.push_back(std::move(image));
    }
  }
  return std::nullopt;
}

std::vector<uint8_t> encode_footer(const TraceFooter& f) {
  flatbuffers::FlatBufferBuilder b(1024 + f.chunks.size() * sizeof(fb::ChunkEntry));
  std::vector<fb::ChunkEntry> chunks;
  for (const ChunkIndexEntry& c : f.chunks)
    chunks.emplace_back(c.offset, c.first_event, c.event_count);
  const auto chunk_vector = b.CreateVectorOfStructs(chunks);
  const auto counts = b.CreateVector(f.kind_counts.data(), f.kind_counts.size());
  std::vector<flatbuffers::Offset<fb::Stat>> stats;
  for (const auto& [name, value] : f.summary.stats)
    stats.push_back(fb::CreateStat(b, b.CreateString(name), value));
  const auto stat_vector = b.CreateVector(stats);
  b.Finish(fb::CreateTraceFooter(b, chunk_vector, f.total_events, counts, stat_vector,
                                 f.summary.guest_exit_status.has_value(),
                                 f.summary.guest_exit_status.value_or(0), f.finished_unix_ns));
  return {b.GetBufferPointer(), b.GetBufferPointer() + b.GetSize()};
}

std::optional<std::string> decode_footer(std::span<const uint8_t> buffer, TraceFooter& out) {
  if (!verified<fb::TraceFooter>(buffer)) return "footer fails FlatBuffers verification";
  const fb::TraceFooter* f = flatbuffers::GetRoot<fb::TraceFooter>(buffer.data());
  out = TraceFooter{};
  if (!elements_aligned<fb::ChunkEntry>(f->chunks()) ||
      !elements_aligned<uint64_t>(f->kind_counts()))
    return "footer has misaligned vectors";
  if (f->chunks()) {
    for (const fb::ChunkEntry* c : *f->chunks())
      out.chunks.push_back({c->offset(), c->first_event(), c->event_count()});
  }
  out.total_events = f->total_events();
  if (f->kind_counts()) {
    // A newer minor version may count more kinds; this reader knows only its own.
    const size_t known = std::min<size_t>(f->kind_counts()->size(), kEventKindCount);
    for (size_t i = 0; i < known; ++i)
      out.kind_counts[i] = f->kind_counts()->Get(uint32_t(i));
  }
  if (f->stats()) {
    for (const fb::Stat* s : *f->stats())
      out.summary.stats.emplace_back(text(s->name()), s->value());
  }
  if (f->has_guest_exit()) out.summary.guest_exit_status = f->guest_exit_status();
  out.finished_unix_ns = f->finished_unix_ns();
  return std::nullopt;
}

} // namespace rrvm
