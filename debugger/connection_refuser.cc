#include "debugger/connection_refuser.h"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <iostream>
#include <poll.h>
#include <pthread.h>
#include <string>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "vmm/error.h"

namespace rrvm::gdb {

ConnectionRefuser::ConnectionRefuser(int listener)
    : listener_(listener), listener_flags_(::fcntl(listener, F_GETFL)),
      stop_(::eventfd(0, EFD_CLOEXEC)) {
  if (!stop_) throw Error(ExitCode::kIo, errno_message("eventfd", errno));
  // A client that resets between poll and accept must not block the thread in accept.
  ::fcntl(listener_, F_SETFL, listener_flags_ | O_NONBLOCK);
  // Signals stay with the main thread, which stops the vCPU for them.
  sigset_t all, previous;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  thread_ = std::thread([this] { refuse_until_stopped(); });
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
}

ConnectionRefuser::~ConnectionRefuser() {
  eventfd_write(stop_.get(), 1); // only a counter overflow could fail it
  thread_.join();
  ::fcntl(listener_, F_SETFL, listener_flags_);
  if (refused_ > 1)
    std::cerr << "rrvm: refused " + std::to_string(refused_ - 1) +
                     " more gdb connections while one was attached\n";
}

void ConnectionRefuser::refuse_until_stopped() {
  for (;;) {
    pollfd fds[2] = {{listener_, POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR) return;
    if (fds[1].revents || (fds[0].revents & (POLLERR | POLLNVAL))) return;
    if (!(fds[0].revents & POLLIN)) continue;
    UniqueFd other(::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC));
    if (!other) continue;
    if (++refused_ == 1)
      std::cerr << "rrvm: refused a second gdb connection: one is attached (further ones are "
                   "refused too, and counted)\n";
  }
}

} // namespace rrvm::gdb
