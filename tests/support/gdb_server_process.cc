#include "tests/support/gdb_server_process.h"

#include <chrono>
#include <cstdio>
#include <regex>
#include <signal.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "tests/support/subprocess.h"

namespace rrvm::test {

namespace {

constexpr auto kPoll = std::chrono::milliseconds(10);

} // namespace

GdbServerProcess::GdbServerProcess(const std::vector<std::string>& args,
                                   const std::string& stderr_path, const std::string& stdout_path)
    : stderr_path_(stderr_path) {
  std::vector<std::string> argv = {rrvm_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_ = fork();
  if (pid_ != 0) return;
  if (!freopen(stdout_path.c_str(), "w", stdout) || !freopen(stderr_path.c_str(), "w", stderr))
    _exit(127);
  std::vector<char*> pointers;
  for (std::string& arg : argv)
    pointers.push_back(arg.data());
  pointers.push_back(nullptr);
  execv(pointers[0], pointers.data());
  _exit(127);
}

GdbServerProcess::~GdbServerProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

int GdbServerProcess::port(int timeout_ms) const {
  const std::regex waiting("waiting for gdb on 127\\.0\\.0\\.1:([0-9]+)");
  for (int waited = 0; waited <= timeout_ms; waited += kPoll.count()) {
    std::smatch m;
    const std::string text = err();
    if (std::regex_search(text, m, waiting)) return std::stoi(m[1]);
    std::this_thread::sleep_for(kPoll);
  }
  return 0;
}

std::string GdbServerProcess::err() const {
  return read_file(stderr_path_);
}

int GdbServerProcess::wait_status(int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += kPoll.count()) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(kPoll);
  }
  return -1;
}

std::vector<std::string> tagged_values(const std::string& output, const std::string& tag) {
  std::vector<std::string> values;
  std::istringstream in(output);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(tag + " ", 0) == 0) values.push_back(line.substr(tag.size() + 1));
  return values;
}

} // namespace rrvm::test
