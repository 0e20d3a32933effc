// rrvm's subcommands; each takes the arguments after its name and returns the process status.
#pragma once

#include <string>
#include <vector>

#include "vmm/machine.h"

namespace rrvm {

int run_command(const std::vector<std::string>& args);
int record_command(const std::vector<std::string>& args);
int replay_command(const std::vector<std::string>& args);
int dump_command(const std::vector<std::string>& args);
int stats_command(const std::vector<std::string>& args);

// Prints a failed run's one-line reason (and register dump) and maps the outcome to a status.
int report_outcome(const RunOutcome& outcome);

} // namespace rrvm
