#include "tools/rrvm/stop_signals.h"

#include <cerrno>
#include <csignal>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>

#include "vmm/error.h"

namespace rrvm {

namespace {

sigset_t stop_signal_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

// Ends the process the way `signal` would have without a handler.
[[noreturn]] void die_of(int signal) {
  std::signal(signal, SIG_DFL);
  sigset_t only;
  sigemptyset(&only);
  sigaddset(&only, signal);
  pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
  raise(signal);
  _exit(128 + signal); // not reached: the default action of every stop signal terminates
}

} // namespace

StopSignals::StopSignals() {
  const sigset_t set = stop_signal_set();
  if (int err = pthread_sigmask(SIG_BLOCK, &set, nullptr); err != 0)
    throw Error(ExitCode::kInternal, errno_message("blocking stop signals", err));
  signals_ = UniqueFd(signalfd(-1, &set, SFD_CLOEXEC));
  wake_ = UniqueFd(eventfd(0, EFD_CLOEXEC));
  if (!signals_ || !wake_)
    throw Error(ExitCode::kInternal, errno_message("watching stop signals", errno));
  watcher_ = std::thread([this] { watch(); });
}

StopSignals::~StopSignals() {
  const uint64_t one = 1;
  (void)!::write(wake_.get(), &one, sizeof one);
  watcher_.join();
  // A signal that came after the last action ran is still pending: it takes effect now.
  const sigset_t set = stop_signal_set();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

StopSignals::Hook::~Hook() {
  std::lock_guard lock(owner_.mutex_);
  owner_.*slot_ = nullptr;
}

StopSignals::Hook StopSignals::on_stop(std::function<void()> stop) {
  std::lock_guard lock(mutex_);
  stop_ = std::move(stop);
  if (received_.load() != 0 && stop_) stop_();
  return Hook(*this, &StopSignals::stop_);
}

StopSignals::Hook StopSignals::on_kill(std::function<void()> last_words) {
  std::lock_guard lock(mutex_);
  last_words_ = std::move(last_words);
  return Hook(*this, &StopSignals::last_words_);
}

std::string StopSignals::name(int signal) {
  switch (signal) {
  case SIGINT:
    return "SIGINT";
  case SIGTERM:
    return "SIGTERM";
  case SIGHUP:
    return "SIGHUP";
  }
  return "signal " + std::to_string(signal);
}

void StopSignals::watch() {
  for (;;) {
    pollfd fds[2] = {{signals_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    signalfd_siginfo info{};
    if (::read(signals_.get(), &info, sizeof info) != ssize_t(sizeof info)) continue;
    const int signal = int(info.ssi_signo);
    std::lock_guard lock(mutex_);
    int expected = 0;
    if (received_.compare_exchange_strong(expected, signal)) {
      if (stop_) stop_();
      continue;
    }
    if (last_words_) last_words_();
    die_of(signal);
  }
}

} // namespace rrvm
