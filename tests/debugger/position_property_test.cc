// The property that makes reverse debugging trustworthy: from random positions in traces of the
// test guests, N single steps forward and then N steps back revisit the same states (position,
// registers, a hash of all guest RAM) in reverse order, interrupt and exception deliveries, HLT
// wake-ups, REP iterations and VMM exits included. Once over the raw remote protocol (`s`, `bs`,
// `g`, `qRcmd`) against `rrvm replay --gdb`, once through the real gdb (`stepi`,
// `reverse-stepi`, skipped without it). The seed is printed on failure; RRVM_PROPERTY_SEED
// repeats a run.
#include <arpa/inet.h>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/gdb_server_process.h"
#include "tests/support/subprocess.h"

namespace rrvm::test {
namespace {

constexpr int kSteps = 8;          // N
constexpr int kStartPositions = 3; // random starting positions per trace and client

uint64_t property_seed() {
  if (const char* text = std::getenv("RRVM_PROPERTY_SEED")) return std::stoull(text);
  return static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

// A trace to test: a test guest recorded on emu, or a saved trace (replayed on emu).
struct TraceCase {
  std::string name;
  std::vector<std::string> record; // rrvm record's options and kernel; empty for a saved trace
  std::string saved;               // tests/traces/NAME
};

std::string guest(const std::string& name) {
  return guest_path(name);
}

TraceCase elf(const std::string& name) {
  return {name, {"--mem", "8M", guest(name + ".elf")}, ""};
}

TraceCase flat(const std::string& name) {
  return {name, {"--mem", "8M", "--flat", "0x7c00", guest(name + ".bin")}, ""};
}

TraceCase saved(const std::string& name, const std::string& file) {
  return {name, {}, std::string(RRVM_TRACE_DIR) + "/" + file};
}

std::string hex_text(const std::string& text) {
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : text) {
    hex += digits[c >> 4];
    hex += digits[c & 15];
  }
  return hex;
}

std::string unhex(const std::string& hex) {
  std::string text;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    text += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return text;
}

// A remote-protocol client that waits for each reply (acknowledgement mode, as gdb starts).
class RawClient {
public:
  explicit RawClient(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    timeval timeout{30, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    const int one = 1; // each packet waits for its reply: no coalescing delay
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawClient() { close(fd_); }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;

  bool connected() const { return connected_; }
  // What the server wrote on gdb's console.
  const std::string& console() const { return console_; }

  // Sends `payload` and returns the reply's payload (console "O" packets skipped).
  std::string ask(const std::string& payload) {
    unsigned sum = 0;
    for (unsigned char c : payload)
      sum += c;
    char tail[4];
    snprintf(tail, sizeof tail, "#%02x", sum & 0xff);
    const std::string frame = "$" + payload + tail;
    send(fd_, frame.data(), frame.size(), MSG_NOSIGNAL);
    for (;;) {
      std::string reply = receive();
      if (reply.size() > 1 && reply[0] == 'O' && reply != "OK") {
        console_ += unhex(reply.substr(1));
        continue;
      }
      return reply;
    }
  }

  // A monitor command's text.
  std::string monitor(const std::string& command) {
    return unhex(ask("qRcmd," + hex_text(command)));
  }

private:
  std::string receive() {
    std::string payload;
    bool inside = false;
    for (;;) {
      char c;
      if (recv(fd_, &c, 1, 0) != 1) return "<connection closed>";
      if (!inside) {
        inside = c == '$';
        continue;
      }
      if (c != '#') {
        payload += c;
        continue;
      }
      char checksum[2];
      if (recv(fd_, checksum, 2, MSG_WAITALL) != 2) return "<connection closed>";
      send(fd_, "+", 1, MSG_NOSIGNAL);
      return payload;
    }
  }

  int fd_;
  bool connected_ = false;
  std::string console_;
};

// What must be equal when the replay returns to a position.
struct State {
  std::string position; // "N" or "N+K"
  std::string registers;
  std::string ram;
  bool operator==(const State&) const = default;
};

std::ostream& operator<<(std::ostream& out, const State& s) {
  return out << "position " << s.position << ", " << s.ram << ", registers " << s.registers;
}

std::string word_after(const std::string& text, const std::string& label) {
  const size_t at = text.find(label);
  if (at == std::string::npos) return "";
  const size_t start = at + label.size();
  return text.substr(start, text.find_first_of(",\n", start) - start);
}

class PositionProperty : public ::testing::TestWithParam<TraceCase> {
protected:
  void SetUp() override {
    char dir[] = "/tmp/rrvm-position-test-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    const TraceCase& c = GetParam();
    trace_ = c.saved;
    if (trace_.empty()) {
      trace_ = dir_ + "/trace";
      // Every exit a trace event: the starting positions are drawn from them.
      std::vector<std::string> argv = {rrvm_binary(), "record", "--engine", "emu",
                                       "--verify",    "exits",  "-o",       trace_};
      argv.insert(argv.end(), c.record.begin(), c.record.end());
      const ProcessResult r = run_process(argv, 30);
      ASSERT_NE(r.err.find("recorded"), std::string::npos) << r.err;
      kernel_ = c.record.back();
    }
    seed_ = property_seed();
    rng_.seed(seed_);
    server_.emplace(
        std::vector<std::string>{"replay", trace_, "--engine", "emu", "--gdb", "127.0.0.1:0"},
        dir_ + "/server.err");
    port_ = server_->port();
    ASSERT_NE(port_, 0) << "the server did not start: " << server_->err();
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  uint64_t uniform(uint64_t low, uint64_t high) {
    return std::uniform_int_distribution<uint64_t>(low, high)(rng_);
  }

  // A `monitor goto` argument: a random trace event (where interrupts are injected), or a random
  // instruction count before one.
  std::string random_goto(RawClient& client) {
    const std::string when = client.monitor("when");
    const std::string total = word_after(when, " of ");
    const uint64_t events = total.empty() ? 1 : std::stoull(total);
    const uint64_t event = uniform(1, std::max<uint64_t>(1, events * 9 / 10));
    // A trace whose only exit ends it has no boundary after its events.
    if (client.monitor("goto " + std::to_string(event)).find("now at") == std::string::npos)
      return "icount 0";
    if (uniform(0, 1) == 0) return std::to_string(event);
    const uint64_t count = std::stoull(word_after(client.monitor("when"), "instruction "));
    return "icount " + std::to_string(uniform(0, count));
  }

  std::string dir_, trace_, kernel_;
  uint64_t seed_ = 0;
  std::mt19937_64 rng_;
  std::optional<GdbServerProcess> server_;
  int port_ = 0;
};

State raw_state(RawClient& client) {
  State s;
  s.position = word_after(client.monitor("when"), "instruction ");
  s.registers = client.ask("g");
  s.ram = client.monitor("ram-hash");
  return s;
}

TEST_P(PositionProperty, RawStepsAndReverseStepsRevisitEveryState) {
  SCOPED_TRACE("seed " + std::to_string(seed_) + " (RRVM_PROPERTY_SEED repeats it)");
  RawClient client(port_);
  ASSERT_TRUE(client.connected());
  int deliveries = 0;
  for (int start = 0; start < kStartPositions; ++start) {
    const std::string where = random_goto(client);
    SCOPED_TRACE("monitor goto " + where);
    const std::string moved = client.monitor("goto " + where);
    ASSERT_NE(moved.find("now at"), std::string::npos) << moved;
    std::vector<State> forward{raw_state(client)};
    for (int i = 0; i < kSteps; ++i) {
      const std::string stop = client.ask("s");
      if (stop[0] != 'T') { // the replay ended: back to the last state gdb saw
        client.monitor("goto icount " + forward.back().position);
        ASSERT_EQ(raw_state(client), forward.back());
        break;
      }
      forward.push_back(raw_state(client));
      ASSERT_NE(forward.back().position, forward[forward.size() - 2].position) << "step " << i;
      if (forward.back().position.find('+') != std::string::npos) ++deliveries;
    }
    for (size_t i = forward.size() - 1; i > 0; --i) {
      const std::string stop = client.ask("bs");
      ASSERT_EQ(stop.rfind("T05", 0), 0u) << stop << " after " << forward.size() - 1 - i
                                          << " reverse steps from " << forward.back() << "\n"
                                          << client.console();
      ASSERT_EQ(raw_state(client), forward[i - 1]) << "reverse step back to step " << i - 1;
    }
  }
  std::cout << GetParam().name << ": " << deliveries << " positions after a delivery visited\n";
  client.ask("k");
}

// gdb's "info registers" for the general, segment and flag registers, the position and the RAM
// hash, between STATE and END after each step.
const char* kShowState = "echo STATE\\n\nmonitor when\ninfo registers\nmonitor ram-hash\n"
                         "echo END\\n\n";

std::vector<std::string> gdb_states(const std::string& output) {
  std::vector<std::string> states;
  const std::regex state("STATE\n([^]*?)END\n");
  for (std::sregex_iterator it(output.begin(), output.end(), state), end; it != end; ++it)
    states.push_back((*it)[1]);
  return states;
}

// gdb takes a second or two per run: the guests with interrupts, faults, HLT, port and MMIO exits.
class GdbPositionProperty : public PositionProperty {};

TEST_P(GdbPositionProperty, StepiAndReverseStepiRevisitEveryState) {
  SCOPED_TRACE("seed " + std::to_string(seed_) + " (RRVM_PROPERTY_SEED repeats it)");
  std::string where;
  {
    RawClient probe(port_);
    ASSERT_TRUE(probe.connected());
    where = random_goto(probe);
    probe.ask("D"); // detached: the server runs the replay to its end and exits
  }
  server_->wait_status();
  server_.emplace(
      std::vector<std::string>{"replay", trace_, "--engine", "emu", "--gdb", "127.0.0.1:0"},
      dir_ + "/gdb_server.err");
  port_ = server_->port();
  ASSERT_NE(port_, 0) << server_->err();
  SCOPED_TRACE("monitor goto " + where);
  std::ostringstream script;
  script << "set pagination off\nset confirm off\ntarget remote 127.0.0.1:" << port_ << "\n"
         << "monitor goto " << where << "\nmaint flush register-cache\n"
         << kShowState << "set $i = 0\nwhile $i < " << kSteps << "\n  stepi\n"
         << kShowState << "  set $i = $i + 1\nend\n"
         << "set $i = 0\nwhile $i < " << kSteps << "\n  reverse-stepi\n"
         << kShowState << "  set $i = $i + 1\nend\nkill\n";
  const std::string path = dir_ + "/script.gdb";
  std::ofstream(path) << script.str();
  std::vector<std::string> argv = {"gdb", "-batch", "-nx", "-x", path};
  if (!kernel_.empty() && kernel_.ends_with(".elf")) argv.push_back(kernel_);
  const ProcessResult r = run_process(argv, 60);
  ASSERT_FALSE(r.timed_out);
  const std::vector<std::string> states = gdb_states(r.out + r.err);
  ASSERT_EQ(states.size(), 2u * kSteps + 1) << r.out << r.err;
  for (int i = 0; i < kSteps; ++i) {
    EXPECT_NE(states[i], states[i + 1]) << "stepi " << i + 1 << " did not move";
    EXPECT_EQ(states[kSteps + 1 + i], states[kSteps - 1 - i]) << "reverse-stepi " << i + 1 << "\n"
                                                              << r.out << r.err;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Guests, PositionProperty,
    ::testing::Values(elf("pit_long"), elf("idle_pit_long"), elf("demo_race"), elf("pit_multiboot"),
                      elf("hpet_long"), elf("compute_long"), elf("msr_long"), elf("rdtsc_long"),
                      elf("sse_long"), elf("tsc_calibrate_long"), elf("hello_multiboot"),
                      flat("pit_real"), flat("io_loop_real"), flat("stats_real"), flat("spin_real"),
                      flat("pit_storm_real"), flat("poweroff_real"),
                      saved("saved_pit_real", "pit_real.emu.trace"),
                      saved("saved_hello_multiboot", "hello_multiboot.emu.trace"),
                      saved("saved_pit_long_kvm", "pit_long.kvm.trace")),
    [](const auto& info) { return info.param.name; });

INSTANTIATE_TEST_SUITE_P(Guests, GdbPositionProperty,
                         ::testing::Values(elf("pit_long"), elf("idle_pit_long"), elf("demo_race"),
                                           elf("hpet_long"), flat("pit_real"), flat("io_loop_real"),
                                           flat("pit_storm_real"),
                                           saved("saved_pit_long_kvm", "pit_long.kvm.trace")),
                         [](const auto& info) { return info.param.name; });

} // namespace
} // namespace rrvm::test
