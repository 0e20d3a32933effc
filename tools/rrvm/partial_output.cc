#include "tools/rrvm/partial_output.h"

#include <cerrno>
#include <cstdio>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/error.h"

namespace rrvm {

PartialOutput::PartialOutput(std::string path, bool keep_incomplete)
    : path_(std::move(path)), temp_path_(path_ + ".partial"), keep_incomplete_(keep_incomplete) {
  // A device (/dev/null) is written in place: there is nothing to replace, nowhere to rename.
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    temp_path_ = path_;
    done_ = true;
    return;
  }
  // Left by a recorder killed outright: this run replaces it, and abandoning this run before it
  // writes anything must not move that one into place.
  ::unlink(temp_path_.c_str());
}

PartialOutput::~PartialOutput() {
  abandon();
}

void PartialOutput::commit() {
  if (done_.exchange(true)) return;
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0)
    throw Error(ExitCode::kIo, errno_message("renaming " + temp_path_ + " to " + path_, errno));
}

void PartialOutput::abandon() noexcept {
  if (done_.exchange(true)) return;
  if (keep_incomplete_)
    std::rename(temp_path_.c_str(), path_.c_str());
  else
    ::unlink(temp_path_.c_str());
}

} // namespace rrvm
