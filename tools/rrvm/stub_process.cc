#include "tools/rrvm/stub_process.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <iostream>
#include <sys/wait.h>
#include <unistd.h>

#include "debugger/serve_gdb.h"
#include "tools/rrvm/kernel_cache_dir.h"
#include "tools/rrvm/serial_output.h"
#include "vmm/error.h"
#include "vmm/unique_fd.h"

namespace rrvm {

namespace {

int exit_status(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status);
}

// The stub's side of the fork: never returns into rrvm's main (whose objects, the temporary
// directory among them, belong to the parent).
[[noreturn]] void serve_in_child(const StubOptions& options, gdb::Listener& listener, int log,
                                 int ready) {
  std::signal(SIGINT, SIG_IGN);
  std::signal(SIGQUIT, SIG_IGN);
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGHUP, SIG_DFL);
  ::dup2(log, STDERR_FILENO);
  int status = 0;
  try {
    SerialOutput serial(options.serial);
    status = serve_gdb(options.trace,
                       {options.engine, [&serial](uint8_t byte) { serial.put(byte); },
                        kEmuTranslateByDefault, kernel_cache_dir(), options.image_dir},
                       listener, [ready] {
                         const char byte = 1;
                         (void)!::write(ready, &byte, 1);
                       });
    serial.flush();
  } catch (const Error& e) {
    std::cerr << "rrvm: " << e.what() << "\n";
    status = static_cast<int>(e.code());
  } catch (const std::exception& e) {
    std::cerr << "rrvm: internal error: " << e.what() << "\n";
    status = static_cast<int>(ExitCode::kInternal);
  }
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  ::_exit(status);
}

} // namespace

StubProcess::StubProcess(const StubOptions& options, gdb::Listener listener)
    : log_path_(options.log_path) {
  UniqueFd log(::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!log) throw Error(ExitCode::kIo, errno_message("creating " + log_path_, errno));
  int ends[2];
  if (::pipe2(ends, O_CLOEXEC) != 0) throw Error(ExitCode::kIo, errno_message("pipe", errno));
  UniqueFd ready_read(ends[0]);
  UniqueFd ready_write(ends[1]);
  std::cout.flush();
  std::cerr.flush();
  pid_ = ::fork();
  if (pid_ < 0) throw Error(ExitCode::kIo, errno_message("fork", errno));
  if (pid_ == 0) serve_in_child(options, listener, log.get(), ready_write.get());
  ready_write = UniqueFd();
  char byte = 0;
  ssize_t n;
  while ((n = ::read(ready_read.get(), &byte, 1)) < 0 && errno == EINTR) {
  }
  if (n == 1) return;
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  pid_ = -1;
  failed_ = exit_status(status);
}

StubProcess::~StubProcess() {
  stop();
}

std::string StubProcess::stop() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  std::string text;
  if (std::FILE* file = std::fopen(log_path_.c_str(), "r")) {
    char buffer[4096];
    for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, file)) > 0;)
      text.append(buffer, n);
    std::fclose(file);
  }
  return text;
}

} // namespace rrvm
