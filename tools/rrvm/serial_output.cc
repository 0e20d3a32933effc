#include "tools/rrvm/serial_output.h"

#include <cerrno>
#include <unistd.h>

#include "vmm/error.h"

namespace rrvm {

std::optional<std::string> SerialOutput::file_path(const std::string& spec) {
  if (spec.rfind("file:", 0) != 0 || spec.size() <= 5) return std::nullopt;
  return spec.substr(5);
}

SerialOutput::SerialOutput(const std::string& spec) {
  if (spec == "stdio") {
    file_ = stdout;
    name_ = "standard output";
    terminal_ = isatty(STDOUT_FILENO);
  } else if (auto path = file_path(spec)) {
    file_ = std::fopen(path->c_str(), "wb");
    if (!file_) throw Error(ExitCode::kIo, errno_message("--serial " + spec, errno));
    name_ = *path;
    owned_ = true;
  } else if (spec != "none") {
    throw Error(ExitCode::kUsage, "bad --serial '" + spec + "': expected stdio, file:PATH or none");
  }
}

SerialOutput::~SerialOutput() {
  // Only reached with unflushed output when an error is already on its way out.
  if (file_) std::fflush(file_);
  if (owned_) std::fclose(file_);
}

void SerialOutput::fail(int err) const {
  throw Error(ExitCode::kIo, errno_message("serial output to " + name_, err));
}

void SerialOutput::put(uint8_t byte) {
  if (!file_) return;
  if (std::fputc(byte, file_) == EOF) fail(errno);
  // A console user expects to see each line as the guest prints it, and on a terminal also a
  // prompt, which ends without one.
  if (terminal_ || (byte == '\n' && file_ == stdout)) flush();
}

void SerialOutput::flush() {
  if (file_ && std::fflush(file_) != 0) fail(errno);
}

} // namespace rrvm
