#include "tools/rrvm/distinct_files.h"

#include <filesystem>
#include <optional>
#include <sys/stat.h>
#include <variant>

#include "vmm/error.h"

namespace rrvm {

namespace {

struct Inode {
  dev_t device;
  ino_t inode;
  bool operator==(const Inode&) const = default;
};

// nullopt for a device file, which several roles may legitimately share.
using Identity = std::variant<Inode, std::string>;

std::optional<Identity> identity(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) return std::nullopt;
    return Inode{st.st_dev, st.st_ino};
  }
  std::error_code ignored;
  return std::filesystem::weakly_canonical(path, ignored).string();
}

std::string describe(const NamedPath& named) {
  return named.role + " " + named.path;
}

} // namespace

void require_distinct_files(const std::vector<NamedPath>& inputs,
                            const std::vector<NamedPath>& outputs) {
  std::vector<std::pair<const NamedPath*, Identity>> seen;
  for (const NamedPath& input : inputs)
    if (auto id = identity(input.path)) seen.emplace_back(&input, *id);
  for (const NamedPath& output : outputs) {
    auto id = identity(output.path);
    if (!id) continue;
    for (const auto& [earlier, earlier_id] : seen)
      if (earlier_id == *id)
        throw Error(ExitCode::kUsage, describe(output) + " is the same file as " +
                                          describe(*earlier) + ": refusing to overwrite it");
    seen.emplace_back(&output, *id);
  }
}

} // namespace rrvm
