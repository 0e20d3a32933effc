// Chooses and creates the vCPU engine for --engine auto|kvm|emu.
#pragma once

#include <memory>
#include <string>

#include "vmm/engine.h"
#include "vmm/guest_memory.h"

namespace rrvm {

enum class EngineKind : uint8_t;

// `choice` receives a one-line explanation of which engine runs and why.
std::unique_ptr<Engine> create_engine(EngineKind kind, GuestMemory& memory, std::string& choice);

} // namespace rrvm
