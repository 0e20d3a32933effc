#include <iostream>

#include "formats/trace_dump.h"
#include "tools/rrvm/command_line.h"
#include "tools/rrvm/commands.h"
#include "vmm/guest_memory.h"

namespace rrvm {

int dump_command(const std::vector<std::string>& args) {
  CommandLine line(args, {"--from", "--count"}, {});
  if (line.positional().size() != 1) throw Error(ExitCode::kUsage, "dump needs one TRACE");
  uint64_t from = line.value("--from") ? parse_size(*line.value("--from"), "--from") : 0;
  uint64_t count =
      line.value("--count") ? parse_size(*line.value("--count"), "--count") : UINT64_MAX;
  return dump_trace(line.positional()[0], from, count, std::cout);
}

} // namespace rrvm
