// Runs a program on a pseudo-terminal, as a user at a terminal would: the program's stdin and
// stdout are the terminal (its controlling one, in a session of its own), the test types on the
// other side and reads what the program wrote there. stderr goes to a file of its own.
#pragma once

#include <string>
#include <string_view>
#include <sys/types.h>
#include <termios.h>
#include <vector>

#include "vmm/unique_fd.h"

namespace rrvm::test {

class PtyProcess {
public:
  // Starts argv on a new terminal whose input is cooked, as a shell leaves it, and whose output
  // is not post-processed ("\n" stays "\n"), so output() holds exactly the bytes the program
  // wrote. Failures to start are test failures (ok() is then false).
  PtyProcess(const std::vector<std::string>& argv, const std::string& stderr_path);
  // Kills (SIGKILL) and reaps the program if it still runs.
  ~PtyProcess();
  PtyProcess(const PtyProcess&) = delete;
  PtyProcess& operator=(const PtyProcess&) = delete;

  bool ok() const { return pid_ > 0; }
  // Sends bytes as typed on the keyboard.
  void type(std::string_view keys);
  // Reads until `text` appears in output() at or after `from`; its position, or npos when the
  // program ended or timeout_seconds passed first.
  size_t wait_for(std::string_view text, size_t from, int timeout_seconds);
  // Reads to the end of the program's output and reaps it: its exit status (128 + signal when
  // killed), or -1 when it had not ended after timeout_seconds (it is then killed).
  int wait_exit(int timeout_seconds);
  const std::string& output() const { return output_; }
  // The terminal's mode now (it outlives the program).
  termios terminal_mode() const;

private:
  // Appends what the terminal has within timeout_ms; false once the program's side is closed.
  bool read_some(int timeout_ms);

  UniqueFd master_;
  pid_t pid_ = -1;
  std::string output_;
};

} // namespace rrvm::test
