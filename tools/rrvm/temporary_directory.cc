#include "tools/rrvm/temporary_directory.h"

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

#include "vmm/error.h"

namespace rrvm {

TemporaryDirectory::TemporaryDirectory(const std::string& prefix) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = tmp && *tmp ? tmp : "/tmp";
  pattern += "/";
  pattern += prefix;
  pattern += "-XXXXXX";
  std::vector<char> name(pattern.begin(), pattern.end());
  name.push_back('\0');
  if (!::mkdtemp(name.data()))
    throw Error(ExitCode::kIo, errno_message("creating a directory like " + pattern, errno));
  path_ = name.data();
}

TemporaryDirectory::~TemporaryDirectory() {
  std::error_code ignored; // nothing to do about a directory that cannot be removed at the end
  std::filesystem::remove_all(path_, ignored);
}

} // namespace rrvm
