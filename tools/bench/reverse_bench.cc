// Reverse execution latency through gdb's remote protocol (issue 7): a raw client sends `bs`
// and `bc` packets to `rrvm replay --gdb` and times the replies. The replay is an emu recording
// of tests/guests/io_loop_real.bin with its iteration count patched (150,000 port-I/O exits by
// default). Figures: median reverse-stepi from the end of the replay, and reverse-continue back
// across 10,000 exits and across the whole replay.
#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <regex>
#include <signal.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "vmm/unique_fd.h"

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kLoadAddress = 0x7c00;

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
}

// Runs `argv` to completion; its exit status.
int run(const std::vector<std::string>& argv) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::vector<char*> pointers;
    for (const std::string& arg : argv)
      pointers.push_back(const_cast<char*>(arg.c_str()));
    pointers.push_back(nullptr);
    execv(pointers[0], pointers.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

// `rrvm replay TRACE --gdb 127.0.0.1:0`, with the port read from its stderr (kept in a file,
// which it may go on writing to).
struct Server {
  pid_t pid = -1;
  int port = 0;

  Server(const std::string& rrvm, const std::string& trace, const std::string& log) {
    pid = fork();
    if (pid == 0) {
      if (!freopen(log.c_str(), "w", stderr)) _exit(126);
      execl(rrvm.c_str(), "rrvm", "replay", trace.c_str(), "--serial", "none", "--gdb",
            "127.0.0.1:0", nullptr);
      _exit(127);
    }
    const std::regex waiting("waiting for gdb on 127\\.0\\.0\\.1:([0-9]+)");
    for (int i = 0; i < 500; ++i) {
      std::ifstream in(log);
      const std::string text((std::istreambuf_iterator<char>(in)), {});
      std::smatch m;
      if (std::regex_search(text, m, waiting)) {
        port = std::stoi(m[1]);
        return;
      }
      usleep(10000);
    }
    throw std::runtime_error("the server did not start; see " + log);
  }
  ~Server() {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
};

// A gdb remote protocol client in no-ack mode.
class Client {
public:
  explicit Client(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (connect(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
      throw std::runtime_error("cannot connect to the gdb server");
    send_packet("QStartNoAckMode");
    receive(); // acknowledged once more, then acknowledgements stop
  }

  std::string request(const std::string& payload) {
    send_packet(payload);
    return receive();
  }
  // A packet without a reply (k).
  void post(const std::string& payload) { send_packet(payload); }

  // A monitor command's output.
  std::string monitor(const std::string& command) {
    std::string hex;
    for (unsigned char c : command) {
      char pair[3];
      std::snprintf(pair, sizeof pair, "%02x", c);
      hex += pair;
    }
    const std::string reply = request("qRcmd," + hex);
    std::string text;
    for (size_t i = 0; i + 1 < reply.size(); i += 2)
      text += static_cast<char>(std::stoi(reply.substr(i, 2), nullptr, 16));
    return text;
  }

private:
  void send_packet(const std::string& payload) {
    unsigned sum = 0;
    for (unsigned char c : payload)
      sum += c;
    char tail[4];
    std::snprintf(tail, sizeof tail, "#%02x", sum & 0xff);
    const std::string frame = "$" + payload + tail;
    if (::send(fd_.get(), frame.data(), frame.size(), MSG_NOSIGNAL) !=
        static_cast<ssize_t>(frame.size()))
      throw std::runtime_error("send failed");
  }

  // The next packet's payload, skipping acknowledgements and console ('O') packets.
  std::string receive() {
    for (;;) {
      const size_t start = pending_.find('$');
      const size_t hash = start == std::string::npos ? start : pending_.find('#', start);
      if (hash != std::string::npos && pending_.size() >= hash + 3) {
        std::string payload = pending_.substr(start + 1, hash - start - 1);
        pending_.erase(0, hash + 3);
        if (payload.size() > 1 && payload[0] == 'O' && payload != "OK") continue;
        return payload;
      }
      char buffer[65536];
      const ssize_t n = recv(fd_.get(), buffer, sizeof buffer, 0);
      if (n <= 0) throw std::runtime_error("the server closed the connection");
      pending_.append(buffer, static_cast<size_t>(n));
    }
  }

  rrvm::UniqueFd fd_;
  std::string pending_;
};

std::string hex_address(uint64_t address) {
  char text[24];
  std::snprintf(text, sizeof text, "%llx", static_cast<unsigned long long>(address));
  return text;
}

// "trace event N of TOTAL" from `monitor when`.
std::pair<uint64_t, uint64_t> events(Client& client) {
  const std::string when = client.monitor("when");
  std::smatch m;
  if (!std::regex_search(when, m, std::regex("trace event ([0-9]+) of ([0-9]+)")))
    throw std::runtime_error("unexpected monitor when: " + when);
  return {std::stoull(m[1]), std::stoull(m[2])};
}

double milliseconds_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Times `bc` from trace event `from` (moved to with monitor goto) back to a breakpoint on the
// guest's first instruction, which ran once, before every exit.
double reverse_continue_ms(Client& client, uint64_t from) {
  client.monitor("goto " + std::to_string(from));
  client.request("Z1," + hex_address(kLoadAddress) + ",1");
  const Clock::time_point start = Clock::now();
  const std::string reply = client.request("bc");
  const double ms = milliseconds_since(start);
  client.request("z1," + hex_address(kLoadAddress) + ",1");
  if (reply.rfind("T05", 0) != 0) throw std::runtime_error("bc answered " + reply);
  return ms;
}

} // namespace

int main(int argc, char** argv) {
  const std::string rrvm = argc > 1 ? argv[1] : RRVM_BINARY;
  const uint32_t iterations = argc > 2 ? static_cast<uint32_t>(std::stoul(argv[2])) : 150000;
  try {
    std::vector<uint8_t> image = read_file(RRVM_GUEST_DIR "/io_loop_real.bin");
    if (image.size() < 4) throw std::runtime_error("io_loop_real.bin missing; build test_guests");
    std::memcpy(image.data() + image.size() - 4, &iterations, 4); // the last dword
    char dir[] = "/tmp/rrvm-reverse-bench-XXXXXX";
    if (!mkdtemp(dir)) throw std::runtime_error("mkdtemp");
    const std::string guest = std::string(dir) + "/io_loop.bin";
    const std::string trace = std::string(dir) + "/io_loop.trace";
    std::ofstream(guest, std::ios::binary)
        .write(reinterpret_cast<const char*>(image.data()), static_cast<long>(image.size()));
    if (run({rrvm, "record", "--engine", "emu", "--flat", "0x7c00", "--serial", "none", "-o", trace,
             guest}) != 1)
      throw std::runtime_error("recording failed");

    Server server(rrvm, trace, std::string(dir) + "/server.err");
    Client client(server.port);
    const uint64_t total = events(client).second;
    const double per_exit = static_cast<double>(total) / iterations;

    // Forward to the last iteration, as a user would before going back: checkpoints are laid.
    const uint64_t near_end = total - static_cast<uint64_t>(per_exit * 4);
    Clock::time_point start = Clock::now();
    client.monitor("goto " + std::to_string(near_end));
    std::printf("forward to exit ~%u of %u (monitor goto): %.0f ms\n", iterations - 4, iterations,
                milliseconds_since(start));

    std::vector<double> steps;
    for (int i = 0; i < 25; ++i) {
      start = Clock::now();
      const std::string reply = client.request("bs");
      steps.push_back(milliseconds_since(start));
      if (reply.rfind("T05", 0) != 0) throw std::runtime_error("bs answered " + reply);
    }
    std::sort(steps.begin(), steps.end());
    std::printf("reverse-stepi at the end: median %.1f ms, max %.1f ms (%zu steps)\n",
                steps[steps.size() / 2], steps.back(), steps.size());

    // The worst place: just before a checkpoint, where a step back re-executes a whole interval
    // from the checkpoint before.
    const std::string listing = client.monitor("checkpoints");
    std::vector<uint64_t> checkpoints;
    const std::regex at("instruction ([0-9]+),");
    for (std::sregex_iterator it(listing.begin(), listing.end(), at), end; it != end; ++it)
      checkpoints.push_back(std::stoull((*it)[1]));
    if (checkpoints.size() < 2) throw std::runtime_error("one checkpoint only: " + listing);
    const uint64_t before = checkpoints[checkpoints.size() / 2] - 1;
    client.monitor("goto icount " + std::to_string(before));
    std::vector<double> worst;
    for (int i = 0; i < 9; ++i) {
      start = Clock::now();
      const std::string reply = client.request("bs");
      worst.push_back(milliseconds_since(start));
      if (reply.rfind("T05", 0) != 0) throw std::runtime_error("bs answered " + reply);
    }
    std::sort(worst.begin(), worst.end());
    std::printf("reverse-stepi just before a checkpoint (instruction %llu; %zu checkpoints): "
                "median %.1f ms\n",
                static_cast<unsigned long long>(before), checkpoints.size(),
                worst[worst.size() / 2]);

    const uint64_t exits_back = 10000;
    const double across = reverse_continue_ms(client, static_cast<uint64_t>(per_exit * 10000));
    std::printf("reverse-continue back across %llu exits: %.0f ms\n",
                static_cast<unsigned long long>(exits_back), across);
    const double whole = reverse_continue_ms(client, near_end);
    std::printf("reverse-continue back across %u exits (the whole replay): %.0f ms\n",
                iterations - 4, whole);
    client.post("k");
    std::filesystem::remove_all(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "reverse_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
