#include "vmm/boot/boot_file.h"

#include <cerrno>
#include <fstream>
#include <sys/stat.h>

#include "vmm/error.h"

namespace rrvm {

std::vector<uint8_t> read_boot_file(const std::string& what, const std::string& path) {
  const std::string name = what + " " + path;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) throw Error(ExitCode::kBadInput, errno_message(name, errno));
  if (!S_ISREG(st.st_mode)) throw Error(ExitCode::kBadInput, name + ": not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ExitCode::kBadInput, errno_message(name, errno));
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!in) throw Error(ExitCode::kBadInput, name + ": read failed");
  if (bytes.empty()) throw Error(ExitCode::kBadInput, name + ": file is empty");
  return bytes;
}

} // namespace rrvm
