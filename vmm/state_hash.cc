#include "vmm/state_hash.h"

#include <cstring>

namespace rrvm {

namespace {

constexpr uint64_t kMultiplier = 0x9e3779b97f4a7c15ull;

uint64_t mix(uint64_t h, uint64_t v) {
  h ^= v + kMultiplier + (h << 6) + (h >> 2);
  h *= 0xff51afd7ed558ccdull;
  return h ^ (h >> 33);
}

} // namespace

uint64_t hash_bytes(std::span<const uint8_t> bytes, uint64_t seed) {
  uint64_t h = mix(seed, bytes.size());
  size_t i = 0;
  for (; i + 8 <= bytes.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    h = mix(h, word);
  }
  uint64_t tail = 0;
  std::memcpy(&tail, bytes.data() + i, bytes.size() - i);
  return mix(h, tail);
}

uint64_t hash_cpu_state(const CpuState& cpu) {
  uint64_t h = 0;
  for (uint64_t r : cpu.gpr)
    h = mix(h, r);
  for (uint64_t v : {cpu.rip, cpu.rflags, cpu.cr0, cpu.cr3, cpu.cr4, cpu.efer})
    h = mix(h, v);
  for (const Segment* s : {&cpu.cs, &cpu.ss, &cpu.ds, &cpu.es, &cpu.fs, &cpu.gs})
    h = mix(mix(h, s->selector), s->base);
  const FpuState& f = cpu.fpu;
  h = mix(h, uint64_t(f.fcw) | uint64_t(f.fsw) << 16 | uint64_t(f.ftw) << 32);
  h = mix(h, f.mxcsr);
  h = hash_bytes({f.st[0].data(), sizeof f.st}, h);
  return hash_bytes({f.xmm[0].data(), sizeof f.xmm}, h);
}

} // namespace rrvm
