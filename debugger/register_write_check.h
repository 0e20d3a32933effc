// gdb's register writes checked before they reach the engine: a value the CPU could never hold
// (reserved flag or control-register bits, a non-canonical address, a selector outside its
// descriptor table) or a change of the CPU's mode behind the guest's back would make either
// engine fail in ways no guest could cause.
#pragma once

#include <optional>
#include <string>

#include "vmm/cpu_state.h"

namespace rrvm::gdb {

// Why `after` (the state `before` with gdb's write applied) is refused, as "REGISTER: reason";
// nullopt when the write is fine.
std::optional<std::string> register_write_problem(const CpuState& before, const CpuState& after);

} // namespace rrvm::gdb
