// rrvm's subcommands; each takes the arguments after its name and returns the process status.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "tools/rrvm/command_line.h"
#include "vmm/machine.h"

namespace rrvm {

int run_command(const std::vector<std::string>& args);
int record_command(const std::vector<std::string>& args);
int replay_command(const std::vector<std::string>& args);
int dump_command(const std::vector<std::string>& args);
int stats_command(const std::vector<std::string>& args);
int debug_command(const std::vector<std::string>& args);

// `--engine kvm|emu` of replay and debug: "" (the recording's engine) when not given.
std::string replay_engine_option(const CommandLine& line);
// --image-dir of replay and debug: a directory, or "" when not given (Error kUsage otherwise).
std::string image_dir_option(const CommandLine& line);
// Prints a failed run's one-line reason (and register dump) and maps the outcome to a status.
int report_outcome(const RunOutcome& outcome);
// "rip 0x1234 after 567 exits": where a stopped machine is.
std::string stop_position(Machine& machine);
// Prints "rrvm: stopped by SIGINT at WHERE" and returns ExitCode::kStopped.
int report_signal_stop(int signal, const std::string& where);
// Flushes `out` and throws Error(kIo) with `name` ("writing the dump to standard output") if
// anything written to it was lost.
void finish_output(std::ostream& out, const std::string& name);

} // namespace rrvm
