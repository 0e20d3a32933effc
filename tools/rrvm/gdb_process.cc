#include "tools/rrvm/gdb_process.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <iterator>
#include <spawn.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

#include "vmm/error.h"

extern char** environ;

namespace rrvm {

namespace {

// A SIGTERM or SIGHUP that came before gdb started is passed on as soon as it does.
std::atomic<pid_t> running_gdb{0};
volatile std::sig_atomic_t pending_signal = 0;

void pass_on(int signal) {
  pending_signal = signal;
  if (const pid_t gdb = running_gdb.load(); gdb > 0) ::kill(gdb, signal);
}

constexpr int kIgnored[] = {SIGINT, SIGQUIT};
constexpr int kPassedOn[] = {SIGTERM, SIGHUP};
struct sigaction saved[std::size(kIgnored) + std::size(kPassedOn)];

bool executable(const std::string& path) {
  return ::access(path.c_str(), X_OK) == 0;
}

} // namespace

std::string find_gdb(const std::optional<std::string>& option) {
  const char* from_env = std::getenv("RRVM_GDB");
  const std::string name = option ? *option : from_env && *from_env ? from_env : "gdb";
  const std::string how = "install gdb, or name it with --gdb-program PATH or RRVM_GDB";
  if (name.find('/') != std::string::npos) {
    if (executable(name)) return name;
    throw Error(ExitCode::kNoHost,
                "cannot run gdb '" + name + "': no executable file there (" + how + ")");
  }
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
    if (executable(candidate)) return candidate;
  }
  throw Error(ExitCode::kNoHost, "'" + name + "' is not on PATH (" + how + ")");
}

GdbSignals::GdbSignals() {
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction forward {};
  forward.sa_handler = pass_on; // no SA_RESTART: a wait sees EINTR and looks again
  sigemptyset(&forward.sa_mask);
  size_t i = 0;
  for (int s : kIgnored)
    ::sigaction(s, &ignore, &saved[i++]);
  for (int s : kPassedOn)
    ::sigaction(s, &forward, &saved[i++]);
}

GdbSignals::~GdbSignals() {
  size_t i = 0;
  for (int s : kIgnored)
    ::sigaction(s, &saved[i++], nullptr);
  for (int s : kPassedOn)
    ::sigaction(s, &saved[i++], nullptr);
}

int run_gdb(const std::vector<std::string>& argv) {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults, none;
  sigemptyset(&defaults);
  for (int s : kIgnored)
    sigaddset(&defaults, s);
  for (int s : kPassedOn)
    sigaddset(&defaults, s);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> pointers;
  for (const std::string& arg : argv)
    pointers.push_back(const_cast<char*>(arg.c_str()));
  pointers.push_back(nullptr);
  pid_t pid = 0;
  const int err = ::posix_spawn(&pid, argv[0].c_str(), nullptr, &attr, pointers.data(), environ);
  posix_spawnattr_destroy(&attr);
  if (err != 0) throw Error(ExitCode::kNoHost, errno_message("starting " + argv[0], err));
  running_gdb.store(pid);
  if (pending_signal != 0) ::kill(pid, pending_signal);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      running_gdb.store(0);
      throw Error(ExitCode::kInternal, errno_message("waiting for gdb", errno));
    }
  }
  running_gdb.store(0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

} // namespace rrvm
