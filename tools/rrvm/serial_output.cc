#include "tools/rrvm/serial_output.h"

#include <cerrno>

#include "vmm/error.h"

namespace rrvm {

SerialOutput::SerialOutput(const std::string& spec) {
  if (spec == "stdio") {
    file_ = stdout;
  } else if (spec.rfind("file:", 0) == 0 && spec.size() > 5) {
    file_ = std::fopen(spec.c_str() + 5, "wb");
    if (!file_) throw Error(ExitCode::kIo, errno_message("--serial " + spec, errno));
    owned_ = true;
  } else if (spec != "none") {
    throw Error(ExitCode::kUsage, "bad --serial '" + spec + "': expected stdio, file:PATH or none");
  }
}

SerialOutput::~SerialOutput() {
  flush();
  if (owned_) std::fclose(file_);
}

void SerialOutput::put(uint8_t byte) {
  if (!file_) return;
  std::fputc(byte, file_);
  // A console user expects to see each line as the guest prints it.
  if (byte == '\n' && file_ == stdout) std::fflush(file_);
}

void SerialOutput::flush() {
  if (file_) std::fflush(file_);
}

} // namespace rrvm
