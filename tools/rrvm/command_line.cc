#include "tools/rrvm/command_line.h"

#include <algorithm>

#include "vmm/error.h"

namespace rrvm {

CommandLine::CommandLine(std::vector<std::string> args, const std::vector<std::string>& with_value,
                         const std::vector<std::string>& flags) {
  auto known = [](const std::vector<std::string>& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      positional_.insert(positional_.end(), args.begin() + i + 1, args.end());
      break;
    }
    if (arg.size() < 2 || arg[0] != '-') {
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg, value;
    bool inline_value = false;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inline_value = true;
    }
    if (known(flags, name) && !inline_value) {
      flags_[name] = true;
    } else if (known(with_value, name)) {
      if (!inline_value) {
        if (i + 1 >= args.size())
          throw Error(ExitCode::kUsage, "option " + name + " needs a value");
        value = args[++i];
      }
      values_[name] = value;
    } else {
      throw Error(ExitCode::kUsage, "unknown option '" + arg + "' (see rrvm help)");
    }
  }
}

std::optional<std::string> CommandLine::value(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::optional<uint64_t> CommandLine::count(const std::string& name) const {
  auto text = value(name);
  if (!text) return std::nullopt;
  auto bad = [&] {
    return Error(ExitCode::kUsage, "bad " + name + " '" + *text + "': expected a whole number");
  };
  if (text->empty() || text->find_first_not_of("0123456789") != std::string::npos) throw bad();
  try {
    return std::stoull(*text, nullptr, 10);
  } catch (const std::out_of_range&) {
    throw bad();
  }
}

} // namespace rrvm
