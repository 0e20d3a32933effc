// An output file written under a temporary name beside its final one ("PATH.partial") and renamed
// into place when complete, so that PATH is never a half-written file while rrvm runs and an
// earlier PATH survives a run that fails before writing anything. A device is written in place.
#pragma once

#include <atomic>
#include <string>

namespace rrvm {

class PartialOutput {
public:
  // `keep_incomplete`: when the output is abandoned, still rename it into place (a trace's prefix
  // replays); otherwise remove it (half an SVG is useless).
  PartialOutput(std::string path, bool keep_incomplete);
  ~PartialOutput();
  PartialOutput(const PartialOutput&) = delete;
  PartialOutput& operator=(const PartialOutput&) = delete;

  const std::string& path() const { return path_; }
  // Where to write until commit().
  const std::string& temp_path() const { return temp_path_; }
  // Renames the temporary file to path(). Throws Error(kIo).
  void commit();
  // What the destructor does, for a process about to die without unwinding. Never throws.
  void abandon() noexcept;

private:
  std::string path_;
  std::string temp_path_;
  bool keep_incomplete_;
  std::atomic<bool> done_{false}; // a second stop signal may abandon it from another thread
};

} // namespace rrvm
