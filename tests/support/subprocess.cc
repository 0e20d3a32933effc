#include "tests/support/subprocess.h"

#include "vmm/kvm/kvm_engine.h"

#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <gtest/gtest.h>
#include <signal.h>
#include <sstream>
#include <sys/wait.h>
#include <unistd.h>

namespace rrvm::test {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

ProcessResult run_process(const std::vector<std::string>& argv, int timeout_seconds) {
  char out_path[] = "/tmp/rrvm-test-out-XXXXXX";
  char err_path[] = "/tmp/rrvm-test-err-XXXXXX";
  int out_fd = mkstemp(out_path);
  int err_fd = mkstemp(err_path);
  ProcessResult result;
  pid_t pid = fork();
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    std::vector<char*> args;
    for (const auto& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  close(out_fd);
  close(err_fd);
  int status = 0;
  for (int waited_ms = 0;; waited_ms += 10) {
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    if (waited_ms >= timeout_seconds * 1000) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      result.timed_out = true;
      break;
    }
    usleep(10000);
  }
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_file(out_path);
  result.err = read_file(err_path);
  unlink(out_path);
  unlink(err_path);
  return result;
}

bool kvm_usable_or_fail() {
  if (access("/dev/kvm", R_OK | W_OK) == 0) return true;
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true" && access("/dev/kvm", F_OK) == 0)
    ADD_FAILURE() << "/dev/kvm exists but is not usable, and CI=true requires it";
  return false;
}

bool host_has_hardware_virtualization() {
  return probe_kvm_host().hardware_virt;
}

bool pvm_window_imprecision(const ProcessResult& replayed) {
  return !host_has_hardware_virtualization() && replayed.status == 3 &&
         (replayed.err.find("interrupt-window") != std::string::npos ||
          replayed.err.find("host-timer kick") != std::string::npos);
}

std::string unique_temp_path(const std::string& name) {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string unique = test ? std::string(test->test_suite_name()) + "." + test->name() : "none";
  for (char& c : unique)
    if (c == '/') c = '_'; // parameterized names
  return ::testing::TempDir() + unique + "." + std::to_string(getpid()) + "." + name;
}

std::string rrvm_binary() {
  return RRVM_BINARY;
}
std::string guest_path(const std::string& name) {
  return std::string(RRVM_GUEST_DIR) + "/" + name;
}

} // namespace rrvm::test
