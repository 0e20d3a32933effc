// Where the guest's serial output goes: --serial stdio|file:PATH|none. Every write is checked: a
// full disk or an I/O error is an Error(kIo) naming the file, never output silently lost.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

namespace rrvm {

class SerialOutput {
public:
  explicit SerialOutput(const std::string& spec);
  ~SerialOutput();
  SerialOutput(const SerialOutput&) = delete;
  SerialOutput& operator=(const SerialOutput&) = delete;

  // The file it writes, when --serial file:PATH.
  static std::optional<std::string> file_path(const std::string& spec);

  // Both throw Error(kIo) when the output cannot be written.
  void put(uint8_t byte);
  void flush();

private:
  [[noreturn]] void fail(int err) const;

  std::FILE* file_ = nullptr;
  std::string name_;
  bool owned_ = false;
  bool terminal_ = false; // stdout is a terminal: every byte is shown at once
};

} // namespace rrvm
