// rrvm's help texts: `rrvm help` (every command) and `rrvm COMMAND --help` (its options).
#pragma once

#include <optional>
#include <string>

namespace rrvm {

std::string overview_help();
// nullopt for an unknown command.
std::optional<std::string> command_help(const std::string& command);

} // namespace rrvm
