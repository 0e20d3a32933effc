// A directory of rrvm's own under $TMPDIR (or /tmp), removed with everything in it when the
// object goes, however the command ends.
#pragma once

#include <string>

namespace rrvm {

class TemporaryDirectory {
public:
  // Creates "<tmp>/<prefix>-XXXXXX"; throws Error(kIo) when it cannot.
  explicit TemporaryDirectory(const std::string& prefix);
  ~TemporaryDirectory();
  TemporaryDirectory(const TemporaryDirectory&) = delete;
  TemporaryDirectory& operator=(const TemporaryDirectory&) = delete;

  const std::string& path() const { return path_; }

private:
  std::string path_;
};

} // namespace rrvm
