// The gdb stub driven by the real gdb (`gdb -batch -nx -x script`) and by raw packets, on emu
// recordings of the test guests.
#include <arpa/inet.h>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <regex>
#include <signal.h>
#include <sstream>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// A recording of `guest` on emu, made once per test in its own directory.
class GdbStubTest : public ::testing::Test {
protected:
  void SetUp() override {
    char dir[] = "/tmp/rrvm-gdb-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    if (server_ > 0) {
      kill(server_, SIGKILL);
      waitpid(server_, nullptr, 0);
    }
    std::filesystem::remove_all(dir_);
  }

  void record(const std::string& guest) {
    elf_ = guest_path(guest);
    trace_ = dir_ + "/trace";
    ProcessResult r =
        run_process({rrvm_binary(), "record", "--engine", "emu", "-o", trace_, elf_}, 30);
    ASSERT_FALSE(r.timed_out);
    ASSERT_NE(r.err.find("recorded"), std::string::npos) << r.err;
  }

  // Starts `rrvm replay --gdb` on a port the kernel picks and reads it from stderr.
  void start_server() {
    server_err_ = dir_ + "/server.err";
    server_out_ = dir_ + "/server.out";
    server_ = fork();
    if (server_ == 0) {
      freopen(server_out_.c_str(), "w", stdout);
      freopen(server_err_.c_str(), "w", stderr);
      execl(rrvm_binary().c_str(), "rrvm", "replay", trace_.c_str(), "--gdb", "127.0.0.1:0",
            nullptr);
      _exit(127);
    }
    const std::regex waiting("waiting for gdb on 127\\.0\\.0\\.1:([0-9]+)");
    for (int i = 0; i < 500; ++i) {
      std::smatch m;
      const std::string err = slurp(server_err_);
      if (std::regex_search(err, m, waiting)) {
        port_ = std::stoi(m[1]);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    FAIL() << "the server did not start: " << slurp(server_err_);
  }

  // The server's exit status once it ends (waits up to 20 s).
  int server_status() {
    int status = 0;
    for (int i = 0; i < 2000; ++i) {
      if (waitpid(server_, &status, WNOHANG) == server_) {
        server_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

  // Runs gdb on the guest's ELF with `commands` after connecting; returns its stdout+stderr.
  std::string gdb(const std::string& commands) {
    const std::string script = dir_ + "/script.gdb";
    std::ofstream(script) << "set pagination off\nset confirm off\ntarget remote 127.0.0.1:"
                          << port_ << "\n"
                          << commands;
    ProcessResult r = run_process({"gdb", "-batch", "-nx", "-x", script, elf_}, 50);
    EXPECT_FALSE(r.timed_out);
    return r.out + r.err;
  }

  // Values printed as "TAG value" lines, in order.
  static std::vector<std::string> tagged(const std::string& output, const std::string& tag) {
    std::vector<std::string> values;
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);)
      if (line.rfind(tag + " ", 0) == 0) values.push_back(line.substr(tag.size() + 1));
    return values;
  }

  int connect_raw() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port_));
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
    timeval timeout{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    return fd;
  }

  std::string dir_, elf_, trace_, server_err_, server_out_;
  pid_t server_ = -1;
  int port_ = 0;
};

TEST_F(GdbStubTest, ReverseContinueTakesTheTickCounterBack) {
  record("pit_long.elf");
  start_server();
  std::string out = gdb("break timer_handler\n"
                        "continue\nprintf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "continue\nprintf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "continue\nprintf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "continue\nprintf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "continue\nprintf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "reverse-continue\nprintf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "reverse-continue\nprintf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "printf \"PC %d\\n\", $pc == &timer_handler\n"
                        "kill\n");
  EXPECT_EQ(tagged(out, "TICKS"), (std::vector<std::string>{"0", "1", "2", "3", "4", "3", "2"}))
      << out;
  EXPECT_EQ(tagged(out, "PC"), std::vector<std::string>{"1"}) << out;
  EXPECT_EQ(server_status(), 0);
}

TEST_F(GdbStubTest, ReverseStepiReturnsToEveryEarlierState) {
  record("pit_long.elf");
  start_server();
  // `info registers` shows every general, segment and control register of the description.
  std::string out = gdb("set $i = 0\n"
                        "while $i < 200\n  echo STATE\\n\n  info registers\n  stepi\n"
                        "  set $i = $i + 1\nend\n"
                        "echo STATE\\n\ninfo registers\n"
                        "set $i = 0\n"
                        "while $i < 200\n  reverse-stepi\n  echo BACK\\n\n  info registers\n"
                        "  set $i = $i + 1\nend\n"
                        "kill\n");
  // Register blocks after each marker.
  auto blocks = [&](const std::string& marker) {
    std::vector<std::string> result;
    std::istringstream in(out);
    std::string line;
    bool inside = false;
    const std::regex reg("^[a-z0-9_]+ +0x[0-9a-f]+.*");
    while (std::getline(in, line)) {
      if (line == "STATE" || line == "BACK") {
        inside = line == marker;
        if (inside) result.emplace_back();
        continue;
      }
      if (inside && std::regex_match(line, reg)) result.back() += line + "\n";
    }
    return result;
  };
  std::vector<std::string> forward = blocks("STATE"), backward = blocks("BACK");
  ASSERT_EQ(forward.size(), 201u) << out;
  ASSERT_EQ(backward.size(), 200u) << out;
  EXPECT_NE(forward[0], forward[200]);
  EXPECT_NE(forward[0].find("cr0"), std::string::npos);
  EXPECT_NE(forward[0].find("fs_base"), std::string::npos);
  for (size_t i = 0; i < 200; ++i)
    ASSERT_EQ(backward[i], forward[199 - i]) << "reverse-stepi " << i + 1;
  EXPECT_EQ(server_status(), 0);
}

TEST_F(GdbStubTest, ReverseContinueWithAWatchpointFindsTheLastWrite) {
  record("pit_long.elf");
  start_server();
  std::string out = gdb("break timer_handler\ncontinue\ncontinue\ncontinue\ndelete\n"
                        "printf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "watch *(int*)&ticks\n"
                        "reverse-continue\n"
                        "printf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "printf \"PC %d\\n\", $pc == (long)&timer_handler + 1\n"
                        "reverse-continue\n"
                        "printf \"TICKS %d\\n\", *(int*)&ticks\n"
                        "kill\n");
  EXPECT_EQ(tagged(out, "TICKS"), (std::vector<std::string>{"2", "1", "0"})) << out;
  EXPECT_EQ(tagged(out, "PC"), std::vector<std::string>{"1"}) << out;
  EXPECT_NE(out.find("Old value = 2"), std::string::npos) << out;
}

TEST_F(GdbStubTest, ContinueToTheEndReportsTheExitStatus) {
  record("pit_multiboot.elf");
  start_server();
  std::string out = gdb("continue\n");
  EXPECT_NE(out.find("exited with code 01"), std::string::npos) << out;
  EXPECT_EQ(server_status(), 1);
  EXPECT_EQ(slurp(server_out_), "PIT in 32-bit protected mode: 20 ticks\n");
}

// Sends raw bytes and returns what comes back within a short while.
std::string talk(int fd, const std::string& bytes) {
  send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string reply;
  timeval timeout{0, 300000};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  char buffer[65536];
  for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;) {
    reply.append(buffer, static_cast<size_t>(n));
    if (reply.size() >= 3 && reply[reply.size() - 3] == '#') break;
    if (reply == "-") break;
  }
  return reply;
}

std::string packet(const std::string& payload) {
  unsigned sum = 0;
  for (unsigned char c : payload)
    sum += c;
  char tail[4];
  snprintf(tail, sizeof tail, "#%02x", sum & 0xff);
  return "$" + payload + tail;
}

TEST_F(GdbStubTest, MalformedPacketsGetProtocolAnswers) {
  record("pit_long.elf");
  start_server();
  const int fd = connect_raw();
  EXPECT_EQ(talk(fd, "$g#00"), "-");                         // bad checksum
  EXPECT_EQ(talk(fd, "$g#zz"), "-");                         // checksum not hex
  EXPECT_EQ(talk(fd, packet("mzz,4")), "+" + packet("E01")); // bad hex
  EXPECT_EQ(talk(fd, packet("M1000,2:1")), "+" + packet("E01"));
  EXPECT_EQ(talk(fd, packet("vFrobnicate")), "+" + packet(""));              // unknown
  EXPECT_EQ(talk(fd, packet("Z9,1000,1")), "+" + packet(""));                // unknown type
  EXPECT_EQ(talk(fd, packet(std::string(40000, 'q'))), "+" + packet("E01")); // overlong
  EXPECT_EQ(talk(fd, "garbage" + packet("?")), "+" + packet("T05thread:1;"));
  const std::string supported = talk(fd, packet("qSupported:swbreak+"));
  for (const char* feature : {"qXfer:features:read+", "swbreak+", "hwbreak+", "ReverseStep+",
                              "ReverseContinue+", "vContSupported+", "PacketSize="})
    EXPECT_NE(supported.find(feature), std::string::npos) << supported;
  EXPECT_EQ(talk(fd, packet("m0,0")), "+" + packet(""));
  EXPECT_EQ(talk(fd, packet("bs")), "+" + packet("T05thread:1;replaylog:begin;"));
  EXPECT_EQ(talk(fd, packet("QStartNoAckMode")), "+" + packet("OK"));
  EXPECT_EQ(talk(fd, packet("s")), packet("T05thread:1;"));
  EXPECT_EQ(talk(fd, packet("k")), "");
  close(fd);
  EXPECT_EQ(server_status(), 0);
}

TEST_F(GdbStubTest, ASecondClientIsRefused) {
  record("pit_long.elf");
  start_server();
  const int first = connect_raw();
  EXPECT_EQ(talk(first, packet("?")), "+" + packet("T05thread:1;"));
  const int second = connect_raw();
  char byte;
  EXPECT_EQ(recv(second, &byte, 1, 0), 0); // closed at once
  close(second);
  EXPECT_EQ(talk(first, packet("qC")), "+" + packet("QC1"));
  EXPECT_EQ(talk(first, packet("D")), "+" + packet("OK"));
  close(first);
  EXPECT_EQ(server_status(), 1); // detached: the replay ran on to the guest's exit
  EXPECT_NE(slurp(server_err_).find("refused a second gdb"), std::string::npos);
}

} // namespace
} // namespace rrvm::test
