#include "vmm/vcpu_kicker.h"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <sys/syscall.h>
#include <unistd.h>

#include "vmm/error.h"

namespace rrvm {

namespace {

std::atomic<Engine*> g_target{nullptr};

void on_kick_signal(int) {
  if (Engine* e = g_target.load(std::memory_order_relaxed)) e->kick();
}

void install_handler_once() {
  static const bool installed = [] {
    struct sigaction sa {};
    sa.sa_handler = on_kick_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; // no SA_RESTART: KVM_RUN must return EINTR
    sigaction(VcpuKicker::signal_number(), &sa, nullptr);
    return true;
  }();
  (void)installed;
}

} // namespace

int VcpuKicker::signal_number() {
  return SIGRTMIN + 2;
}

void VcpuKicker::attach(Engine* engine) {
  install_handler_once();
  g_target.store(engine, std::memory_order_relaxed);
}

void VcpuKicker::forget(Engine* engine) {
  Engine* expected = engine;
  g_target.compare_exchange_strong(expected, nullptr);
}

VcpuKicker::VcpuKicker() {
  install_handler_once();
  sigevent ev{};
  ev.sigev_notify = SIGEV_THREAD_ID;
  ev.sigev_signo = signal_number();
  ev._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
  if (timer_create(CLOCK_MONOTONIC, &ev, &timer_) != 0)
    throw Error(ExitCode::kIo, errno_message("timer_create", errno));
}

VcpuKicker::~VcpuKicker() {
  timer_delete(timer_);
}

void VcpuKicker::arm_at(uint64_t host_ns) {
  itimerspec spec{};
  spec.it_value.tv_sec = static_cast<time_t>(host_ns / 1000000000);
  spec.it_value.tv_nsec = static_cast<long>(host_ns % 1000000000);
  if (spec.it_value.tv_sec == 0 && spec.it_value.tv_nsec == 0) spec.it_value.tv_nsec = 1;
  timer_settime(timer_, TIMER_ABSTIME, &spec, nullptr);
  armed_ = true;
}

void VcpuKicker::disarm() {
  if (!armed_) return;
  itimerspec spec{};
  timer_settime(timer_, 0, &spec, nullptr);
  armed_ = false;
}

} // namespace rrvm
