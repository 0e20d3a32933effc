#include <iostream>
#include <sstream>

#include "formats/trace_dump.h"
#include "tools/rrvm/command_line.h"
#include "tools/rrvm/commands.h"

namespace rrvm {

int dump_command(const std::vector<std::string>& args) {
  CommandLine line(args, {"--from", "--count"}, {});
  if (line.positional().size() != 1) throw Error(ExitCode::kUsage, "dump needs one TRACE");
  std::ostringstream problems;
  const int status = dump_trace(line.positional()[0], line.count("--from").value_or(0),
                                line.count("--count").value_or(UINT64_MAX), std::cout, problems);
  finish_output(std::cout, "writing the dump to standard output");
  if (!problems.str().empty()) std::cerr << "rrvm: " << problems.str();
  return status;
}

} // namespace rrvm
