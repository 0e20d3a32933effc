#include "tests/support/pty_process.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <termios.h>
#include <utmp.h>

namespace rrvm::test {
namespace {

using Clock = std::chrono::steady_clock;

int milliseconds_until(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? int(left.count()) : 0;
}

int status_of(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

} // namespace

PtyProcess::PtyProcess(const std::vector<std::string>& argv, const std::string& stderr_path) {
  int master = -1;
  int slave = -1;
  if (openpty(&master, &slave, nullptr, nullptr, nullptr) != 0) {
    ADD_FAILURE() << "openpty: " << strerror(errno);
    return;
  }
  master_ = UniqueFd(master);
  UniqueFd slave_fd(slave);
  termios mode;
  tcgetattr(slave, &mode);
  mode.c_oflag &= ~OPOST;
  tcsetattr(slave, TCSANOW, &mode);
  UniqueFd err_fd(open(stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!err_fd) {
    ADD_FAILURE() << stderr_path << ": " << strerror(errno);
    return;
  }
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    ::close(master);
    // A new session with the terminal as its controlling one, on stdin, stdout and stderr.
    if (login_tty(slave) != 0) _exit(127);
    dup2(err_fd.get(), STDERR_FILENO);
    execvp(args[0], args.data());
    _exit(127);
  }
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << strerror(errno);
    return;
  }
  pid_ = pid;
}

PtyProcess::~PtyProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

void PtyProcess::type(std::string_view keys) {
  while (!keys.empty()) {
    const ssize_t n = write(master_.get(), keys.data(), keys.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ADD_FAILURE() << "typing on the terminal: " << strerror(errno);
      return;
    }
    keys.remove_prefix(size_t(n));
  }
}

termios PtyProcess::terminal_mode() const {
  termios mode{};
  if (tcgetattr(master_.get(), &mode) != 0) ADD_FAILURE() << "tcgetattr: " << strerror(errno);
  return mode;
}

bool PtyProcess::read_some(int timeout_ms) {
  pollfd fd = {master_.get(), POLLIN, 0};
  const int ready = poll(&fd, 1, timeout_ms);
  if (ready < 0) return errno == EINTR;
  if (ready == 0) return true;
  char buf[4096];
  const ssize_t n = read(master_.get(), buf, sizeof buf);
  if (n < 0 && errno == EINTR) return true;
  if (n <= 0) return false; // EIO: every descriptor of the program's side is closed
  output_.append(buf, size_t(n));
  return true;
}

size_t PtyProcess::wait_for(std::string_view text, size_t from, int timeout_seconds) {
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
  for (;;) {
    const size_t found = from > output_.size() ? std::string::npos : output_.find(text, from);
    if (found != std::string::npos) return found;
    const int left_ms = milliseconds_until(deadline);
    if (left_ms == 0 || !read_some(left_ms)) return std::string::npos;
  }
}

int PtyProcess::wait_exit(int timeout_seconds) {
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(timeout_seconds);
  while (milliseconds_until(deadline) > 0 && read_some(milliseconds_until(deadline))) {
  }
  int wait_status = 0;
  for (;;) {
    if (waitpid(pid_, &wait_status, WNOHANG) == pid_) break;
    if (milliseconds_until(deadline) == 0) return -1; // the destructor kills it
    usleep(10000);
  }
  pid_ = -1;
  return status_of(wait_status);
}

} // namespace rrvm::test
