// Where the guest's serial output goes: --serial stdio|file:PATH|none.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace rrvm {

class SerialOutput {
public:
  explicit SerialOutput(const std::string& spec);
  ~SerialOutput();
  SerialOutput(const SerialOutput&) = delete;
  SerialOutput& operator=(const SerialOutput&) = delete;

  void put(uint8_t byte);
  void flush();

private:
  std::FILE* file_ = nullptr;
  bool owned_ = false;
};

} // namespace rrvm
