// A small option parser for rrvm's subcommands: "--name VALUE", "--name=VALUE" and flags, with
// one-line errors for unknown options and missing values.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rrvm {

class CommandLine {
public:
  // `with_value` lists the options that take a value; `flags` those that do not.
  CommandLine(std::vector<std::string> args, const std::vector<std::string>& with_value,
              const std::vector<std::string>& flags);

  std::optional<std::string> value(const std::string& name) const;
  // A count option's value: decimal digits only (no sign, no units); Error(kUsage) otherwise.
  std::optional<uint64_t> count(const std::string& name) const;
  bool flag(const std::string& name) const { return flags_.count(name) != 0; }
  const std::vector<std::string>& positional() const { return positional_; }

private:
  std::map<std::string, std::string> values_;
  std::map<std::string, bool> flags_;
  std::vector<std::string> positional_;
};

} // namespace rrvm
