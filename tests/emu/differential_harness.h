// What the differential tests share: the ring-3 64-bit state and memory layout both runs start
// from, running one sequence to its final OUT, and opening the kvm engine (PVM runs 64-bit user
// code on the real CPU).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "vmm/engine.h"
#include "vmm/guest_memory.h"
#include "vmm/kvm/kvm_engine.h"

namespace rrvm::test {

constexpr uint64_t kDiffCode = 0x100000;
constexpr uint64_t kDiffData = 0x400000;
constexpr uint64_t kDiffDataSize = 0x2000;
constexpr unsigned kSlot = 1024; // code bytes per sequence
constexpr uint64_t kRam = 16 << 20;

// The user-mode state both runs start from (GDT, TSS and page tables as in initial_state()).
CpuState ring3_state(GuestMemory& mem);

// Runs one sequence from `start` to its final OUT; nullopt with `why` set on any other exit.
std::optional<CpuState> run_sequence(Engine& engine, const CpuState& start, std::string* why);

// Whether an unusable /dev/kvm is a failure rather than a skip: under CI (CI=true) on a host
// that has /dev/kvm (kvm_usable_or_fail's rule).
bool kvm_required();

// The kvm engine on `mem`, or nullptr with `why` set when /dev/kvm is unusable.
std::unique_ptr<KvmEngine> open_kvm(GuestMemory& mem, std::string* why);

} // namespace rrvm::test
