// Reverse execution latency through gdb's remote protocol (issues 7 and 15): a raw client sends
// `bs` and `bc` packets to `rrvm replay --gdb` and times the replies. The replay is an emu
// recording of tests/guests/io_loop_real.bin with its iteration count patched (150,000 port-I/O
// exits by default), made once for each guest memory size asked for (64M, 256M and 1G by
// default), since a restore's cost must not grow with memory. Figures: median and max
// reverse-stepi from the end of the replay and just before a checkpoint, the restore alone
// (`monitor goto icount` between two checkpoints, which re-executes nothing), and
// reverse-continue back across 10,000 exits and across the whole replay. `--trace TRACE ICOUNT`
// gives the stepping and restore figures at instruction ICOUNT of any emu trace (a Linux boot).
#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
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

  // CPU time the server's threads have used, in milliseconds: on a loaded machine the time a
  // request takes is mostly waiting for a CPU.
  double cpu_ms() const {
    double ns = 0;
    const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
    for (const auto& task : std::filesystem::directory_iterator(tasks)) {
      std::ifstream in(task.path() / "schedstat");
      uint64_t on_cpu = 0;
      in >> on_cpu;
      ns += static_cast<double>(on_cpu);
    }
    return ns / 1e6;
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

// Median and max of `samples` (sorted in place).
struct Spread {
  double median, max;
};

Spread spread(std::vector<double>& samples) {
  std::sort(samples.begin(), samples.end());
  return {samples[samples.size() / 2], samples.back()};
}

// Times of a request repeated: wall clock, and the server's CPU time.
struct Timings {
  std::vector<double> wall, cpu;

  void print(const char* what) {
    const Spread w = spread(wall), c = spread(cpu);
    std::printf("  %s: median %.2f ms, max %.2f ms (server CPU time: median %.2f ms, max %.2f "
                "ms; %zu times)\n",
                what, w.median, w.max, c.median, c.max, wall.size());
  }
};

Timings repeat(const Server& server, int count, const std::function<void(int)>& request) {
  Timings t;
  for (int i = 0; i < count; ++i) {
    const double cpu = server.cpu_ms();
    const Clock::time_point start = Clock::now();
    request(i);
    t.wall.push_back(milliseconds_since(start));
    t.cpu.push_back(server.cpu_ms() - cpu);
  }
  return t;
}

void reverse_step(Client& client) {
  const std::string reply = client.request("bs");
  if (reply.rfind("T05", 0) != 0) throw std::runtime_error("bs answered " + reply);
}

// The stepping figures for any trace: forward to `place` (a trace event, or "icount N"),
// reverse-stepi there and just before a checkpoint, and restores alone.
void measure_steps(const Server& server, Client& client, const std::string& place) {
  const Clock::time_point start = Clock::now();
  client.monitor("goto " + place);
  std::printf("  forward to %s (monitor goto): %.0f ms\n", place.c_str(),
              milliseconds_since(start));

  repeat(server, 25, [&](int) { reverse_step(client); }).print("reverse-stepi there");

  // The worst place: just before a checkpoint, where a step back re-executes a whole interval
  // from the checkpoint before.
  const std::string listing = client.monitor("checkpoints");
  std::vector<uint64_t> checkpoints;
  const std::regex at("instruction ([0-9]+),");
  for (std::sregex_iterator it(listing.begin(), listing.end(), at), end; it != end; ++it)
    checkpoints.push_back(std::stoull((*it)[1]));
  if (checkpoints.size() < 2) throw std::runtime_error("one checkpoint only: " + listing);
  const uint64_t middle = checkpoints[checkpoints.size() / 2];
  client.monitor("goto icount " + std::to_string(middle - 1));
  std::printf("  (%zu checkpoints; the middle one at instruction %llu)\n", checkpoints.size(),
              static_cast<unsigned long long>(middle));
  repeat(server, 9, [&](int) {
    reverse_step(client);
  }).print("reverse-stepi just before the middle checkpoint");

  // Between the first and the middle checkpoint and back: each goto is one restore, nothing
  // re-executed.
  repeat(server, 20, [&](int i) {
    client.monitor("goto icount " + std::to_string(i % 2 == 0 ? checkpoints.front() : middle));
  }).print("restore alone (monitor goto icount, first and middle checkpoints in turn)");
}

// Records the io_loop guest with `memory` of RAM and prints the figures for its replay.
void measure_io_loop(const std::string& rrvm, const std::vector<uint8_t>& image,
                     uint32_t iterations, const std::string& memory) {
  char dir[] = "/tmp/rrvm-reverse-bench-XXXXXX";
  if (!mkdtemp(dir)) throw std::runtime_error("mkdtemp");
  const std::string guest = std::string(dir) + "/io_loop.bin";
  const std::string trace = std::string(dir) + "/io_loop.trace";
  std::ofstream(guest, std::ios::binary)
      .write(reinterpret_cast<const char*>(image.data()), static_cast<long>(image.size()));
  if (run({rrvm, "record", "--engine", "emu", "--mem", memory, "--flat", "0x7c00", "--serial",
           "none", "-o", trace, guest}) != 1)
    throw std::runtime_error("recording failed");
  std::printf("io_loop, %u exits, --mem %s:\n", iterations, memory.c_str());

  Server server(rrvm, trace, std::string(dir) + "/server.err");
  Client client(server.port);
  const uint64_t total = events(client).second;
  const double per_exit = static_cast<double>(total) / iterations;
  // The last iterations, as a user would go before going back: checkpoints are laid on the way.
  const uint64_t near_end = total - static_cast<uint64_t>(per_exit * 4);
  measure_steps(server, client, std::to_string(near_end));

  const uint64_t exits_back = 10000;
  const double across = reverse_continue_ms(client, static_cast<uint64_t>(per_exit * 10000));
  std::printf("  reverse-continue back across %llu exits: %.0f ms\n",
              static_cast<unsigned long long>(exits_back), across);
  const double whole = reverse_continue_ms(client, near_end);
  std::printf("  reverse-continue back across %u exits (the whole replay): %.0f ms\n",
              iterations - 4, whole);
  client.post("k");
  std::filesystem::remove_all(dir);
}

// Any emu trace (e.g. a Linux boot): the stepping figures at instruction `icount`.
void measure_trace(const std::string& rrvm, const std::string& trace, const std::string& icount) {
  char dir[] = "/tmp/rrvm-reverse-bench-XXXXXX";
  if (!mkdtemp(dir)) throw std::runtime_error("mkdtemp");
  std::printf("%s:\n", trace.c_str());
  Server server(rrvm, trace, std::string(dir) + "/server.err");
  Client client(server.port);
  measure_steps(server, client, "icount " + icount);
  client.post("k");
  std::filesystem::remove_all(dir);
}

} // namespace

int main(int argc, char** argv) {
  try {
    if (argc > 1 && std::string(argv[1]) == "--trace") {
      if (argc < 4) throw std::runtime_error("usage: reverse_bench --trace TRACE ICOUNT [RRVM]");
      measure_trace(argc > 4 ? argv[4] : RRVM_BINARY, argv[2], argv[3]);
      return 0;
    }
    const std::string rrvm = argc > 1 ? argv[1] : RRVM_BINARY;
    const uint32_t iterations = argc > 2 ? static_cast<uint32_t>(std::stoul(argv[2])) : 150000;
    std::vector<std::string> memories(argv + std::min(argc, 3), argv + argc);
    if (memories.empty()) memories = {"64M", "256M", "1G"};
    std::vector<uint8_t> image = read_file(RRVM_GUEST_DIR "/io_loop_real.bin");
    if (image.size() < 4) throw std::runtime_error("io_loop_real.bin missing; build test_guests");
    std::memcpy(image.data() + image.size() - 4, &iterations, 4); // the last dword
    for (const std::string& memory : memories)
      measure_io_loop(rrvm, image, iterations, memory);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "reverse_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
