// Interrupts a running vCPU when a device timer is due or input arrives: a POSIX timer delivers a
// signal to the vCPU thread, whose handler calls Engine::kick(). On KVM the signal also makes
// KVM_RUN return; on emu the kick is a flag the interpreter polls.
#pragma once

#include <ctime>

#include "vmm/engine.h"

namespace rrvm {

class VcpuKicker {
public:
  // Creates a timer that signals the calling thread (the vCPU thread).
  VcpuKicker();
  ~VcpuKicker();
  VcpuKicker(const VcpuKicker&) = delete;
  VcpuKicker& operator=(const VcpuKicker&) = delete;

  // Kick the vCPU at absolute CLOCK_MONOTONIC time `host_ns` (replacing any earlier arming).
  void arm_at(uint64_t host_ns);
  void disarm();

  // The engine the signal handler kicks; engines attach themselves when they run.
  static void attach(Engine* engine);
  static void forget(Engine* engine);
  static int signal_number();

private:
  timer_t timer_{};
  bool armed_ = false;
};

} // namespace rrvm
