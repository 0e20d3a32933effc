// Runs a program for a test and collects what it printed and how it ended.
#pragma once

#include <string>
#include <vector>

namespace rrvm::test {

struct ProcessResult {
  int status = -1; // exit status, or 128 + signal
  bool timed_out = false;
  std::string out;
  std::string err;
};

// The whole file, or "" when it cannot be read.
std::string read_file(const std::string& path);

ProcessResult run_process(const std::vector<std::string>& argv, int timeout_seconds = 60);

// True when tests that need /dev/kvm should run; false (the test skips) when the host has none.
// Under CI=true a /dev/kvm that exists but cannot be opened read-write (a missing permission, a
// setup step gone wrong) fails the calling test; a host without KVM at all only skips.
bool kvm_usable_or_fail();
// True when the host CPU has vmx or svm (real hardware virtualization, not PVM).
bool host_has_hardware_virtualization();
// True when a kvm replay failed only because PVM (no vmx/svm) placed an interrupt window or a
// host-timer kick imprecisely, a limitation of that host the README names.
bool pvm_window_imprecision(const ProcessResult& replayed);
// A path in the test temporary directory that no other test, nor the same test in another
// process (ctest -j), uses: "<dir>/<suite>.<test>.<pid>.<name>".
std::string unique_temp_path(const std::string& name);
// The build's rrvm binary and test-guest directory (set by CMake).
std::string rrvm_binary();
std::string guest_path(const std::string& name);

} // namespace rrvm::test
