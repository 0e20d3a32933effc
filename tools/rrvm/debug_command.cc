// `rrvm debug TRACE [-- GDB_ARGS...]`: rr's `rr replay` for rrvm. The replay's gdb stub starts on
// a free loopback port in a child process (stub_process.h), gdb starts attached to it with the
// guest's symbols from the trace, and rrvm exits with gdb's status once gdb is gone.
#include <algorithm>
#include <fstream>
#include <iostream>

#include "debugger/gdb_listener.h"
#include "formats/trace_reader.h"
#include "tools/rrvm/command_line.h"
#include "tools/rrvm/commands.h"
#include "tools/rrvm/distinct_files.h"
#include "tools/rrvm/gdb_process.h"
#include "tools/rrvm/guest_symbols.h"
#include "tools/rrvm/serial_output.h"
#include "tools/rrvm/stub_process.h"
#include "tools/rrvm/temporary_directory.h"
#include "tools/rrvm/trace_header_check.h"
#include "vmm/error.h"

namespace rrvm {

namespace {

void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  out.close();
  if (!out) throw Error(ExitCode::kIo, "writing " + path + " failed");
}

} // namespace

int debug_command(const std::vector<std::string>& args) {
  const auto dashes = std::find(args.begin(), args.end(), "--");
  const std::vector<std::string> gdb_args(dashes == args.end() ? dashes : dashes + 1, args.end());
  CommandLine line({args.begin(), dashes}, {"--engine", "--serial", "--gdb-program", "--image-dir"},
                   {});
  if (line.positional().size() != 1) throw Error(ExitCode::kUsage, "debug needs one TRACE");
  const std::string& trace = line.positional()[0];
  const std::string engine = replay_engine_option(line);
  const std::string serial = line.value("--serial").value_or("stdio");
  const std::string image_dir = image_dir_option(line);
  std::vector<NamedPath> outputs;
  if (auto path = SerialOutput::file_path(serial)) outputs.push_back({"--serial file:", *path});
  require_distinct_files({{"TRACE", trace}}, outputs);
  const TraceHeader header = TraceReader(trace).header();
  check_trace_header(trace, header);
  const std::optional<GuestSymbols> symbols = guest_symbols(header, image_dir);
  const std::string gdb = find_gdb(line.value("--gdb-program"));

  GdbSignals signals; // from here on, ^C is gdb's
  TemporaryDirectory directory("rrvm-debug");
  std::vector<std::string> argv = {gdb};
  if (symbols) {
    const std::string path = directory.path() + "/" + symbols->file_name;
    write_file(path, symbols->elf);
    argv.push_back(path);
  } else {
    std::cerr << "rrvm: " << missing_symbols_note(header) << "\n";
  }
  gdb::Listener listener("127.0.0.1:0");
  argv.insert(argv.end(), {"-ex", "target remote " + listener.name()});
  argv.insert(argv.end(), gdb_args.begin(), gdb_args.end());
  StubProcess stub({trace, engine, serial, directory.path() + "/stub.log", image_dir},
                   std::move(listener));
  if (const std::optional<int> failed = stub.failed_status()) {
    std::cerr << stub.stop();
    return *failed;
  }
  const int status = run_gdb(argv);
  std::cerr << stub.stop();
  return status;
}

} // namespace rrvm
