#include "debugger/gdb_server.h"

#include <charconv>
#include <iostream>
#include <sstream>

#include "debugger/hex.h"
#include "debugger/packet.h"
#include "debugger/target_description.h"
#include "vmm/emu/emu_engine.h"
#include "vmm/page_walker.h"

namespace rrvm::gdb {

namespace {

constexpr const char* kErrorArguments = "E01"; // malformed arguments (bad hex, missing fields)
constexpr const char* kErrorMemory = "E14";    // EFAULT: nothing mapped there
constexpr const char* kErrorRefused = "E16";   // the target cannot do it now

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// "ADDR,LEN" into numbers.
std::optional<std::pair<uint64_t, uint64_t>> address_length(std::string_view args) {
  const size_t comma = args.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  auto address = parse_hex_number(args.substr(0, comma));
  auto length = parse_hex_number(args.substr(comma + 1));
  if (!address || !length) return std::nullopt;
  return std::pair{*address, *length};
}

} // namespace

GdbServer::GdbServer(KernelKind kernel, ReplayController& controller)
    : controller_(controller), registers_(kernel_starts_in_long_mode(kernel)),
      target_xml_(target_description_xml(registers_)) {}

GdbServer::End GdbServer::serve(Connection& connection) {
  connection_ = &connection;
  end_.reset();
  while (!end_) {
    std::optional<Connection::Packet> packet = connection.receive();
    if (!packet) return End::kDisconnected;
    std::optional<std::string> reply =
        packet->overlong ? std::optional<std::string>(kErrorArguments) : handle(packet->payload);
    if (reply) connection.send(*reply);
    if (packet->payload == "QStartNoAckMode") connection.set_no_ack();
  }
  return *end_;
}

std::optional<std::string> GdbServer::handle(std::string_view p) {
  if (p.empty()) return "";
  Engine& engine = controller_.machine().engine();
  switch (p[0]) {
  case '?':
    return stop_reply(last_stop_);
  case 'g':
    return p.size() == 1 ? to_hex(registers_.read_all(engine.state())) : "";
  case 'G': {
    if (!may_write("registers")) return kErrorRefused;
    auto bytes = from_hex(p.substr(1));
    CpuState cpu = engine.state();
    if (!bytes || !registers_.write_all(cpu, *bytes)) return kErrorArguments;
    engine.set_state(cpu);
    warn_divergence("registers");
    return "OK";
  }
  case 'p': {
    auto number = parse_hex_number(p.substr(1));
    if (!number) return kErrorArguments;
    auto bytes = registers_.read(engine.state(), *number);
    return bytes ? to_hex(*bytes) : kErrorArguments;
  }
  case 'P': {
    if (!may_write("registers")) return kErrorRefused;
    const size_t eq = p.find('=');
    if (eq == std::string_view::npos) return kErrorArguments;
    auto number = parse_hex_number(p.substr(1, eq - 1));
    auto bytes = from_hex(p.substr(eq + 1));
    CpuState cpu = engine.state();
    if (!number || !bytes || !registers_.write(cpu, *number, *bytes)) return kErrorArguments;
    engine.set_state(cpu);
    warn_divergence("registers");
    return "OK";
  }
  case 'm':
    return read_memory(p.substr(1));
  case 'M':
    return write_memory(p.substr(1), false);
  case 'X':
    return write_memory(p.substr(1), true);
  case 'Z':
  case 'z':
    return breakpoint(p.substr(1), p[0] == 'Z');
  case 'c':
  case 'C':
  case 's':
  case 'S':
    return resume(p);
  case 'b':
    if (p == "bc" || p == "bs") return resume(p);
    return "";
  case 'H':
    return "OK"; // one thread: every thread selection selects it
  case 'T':
    return p == "T1" || p == "T01" ? "OK" : "E01";
  case 'k':
    end_ = End::kKilled;
    return std::nullopt;
  case 'D':
    end_ = End::kDetached;
    connection_->send("OK");
    return std::nullopt;
  case 'q':
  case 'Q':
    return query(p);
  case 'v':
    if (p == "vCont?") return "vCont;c;C;s;S";
    if (starts_with(p, "vCont;")) return vcont(p.substr(6));
    if (starts_with(p, "vKill")) {
      end_ = End::kKilled;
      connection_->send("OK");
      return std::nullopt;
    }
    return ""; // vMustReplyEmpty and everything unsupported
  default:
    return "";
  }
}

std::string GdbServer::query(std::string_view p) {
  if (starts_with(p, "qSupported"))
    return "PacketSize=" + hex_number(kMaxPacketSize) +
           ";qXfer:features:read+;swbreak+;hwbreak+;ReverseStep+;ReverseContinue+;"
           "vContSupported+;QStartNoAckMode+";
  if (p == "QStartNoAckMode") return "OK";
  if (starts_with(p, "qXfer:features:read:")) {
    std::string_view rest = p.substr(20);
    const size_t colon = rest.find(':');
    if (colon == std::string_view::npos) return kErrorArguments;
    if (rest.substr(0, colon) != "target.xml") return "E00";
    auto range = address_length(rest.substr(colon + 1));
    if (!range) return kErrorArguments;
    const auto [offset, length] = *range;
    if (offset >= target_xml_.size()) return "l";
    const std::string chunk = target_xml_.substr(offset, length);
    return (offset + chunk.size() >= target_xml_.size() ? "l" : "m") + chunk;
  }
  if (p == "qfThreadInfo") return "m1";
  if (p == "qsThreadInfo") return "l";
  if (p == "qC") return "QC1";
  if (p == "qAttached") return "1";
  if (starts_with(p, "qThreadExtraInfo")) return to_hex(std::string_view("vCPU 0"));
  if (starts_with(p, "qSymbol")) return "OK";
  if (starts_with(p, "qRcmd,")) {
    auto bytes = from_hex(p.substr(6));
    if (!bytes) return kErrorArguments;
    return monitor(std::string(bytes->begin(), bytes->end()));
  }
  return "";
}

std::string GdbServer::read_memory(std::string_view args) {
  auto range = address_length(args);
  if (!range) return kErrorArguments;
  const auto [address, length] = *range;
  std::vector<uint8_t> bytes(std::min<uint64_t>(length, kMaxPacketSize / 2));
  Machine& machine = controller_.machine();
  // The guest's current paging mode decides what an address means; gdb addresses are linear.
  const size_t n = read_linear(machine.memory(), machine.engine().state(), address, bytes);
  if (n == 0 && length != 0) return kErrorMemory;
  bytes.resize(n);
  return to_hex(bytes);
}

std::string GdbServer::write_memory(std::string_view args, bool binary) {
  const size_t colon = args.find(':');
  if (colon == std::string_view::npos) return kErrorArguments;
  auto range = address_length(args.substr(0, colon));
  if (!range) return kErrorArguments;
  std::vector<uint8_t> data;
  std::string_view payload = args.substr(colon + 1);
  if (binary) {
    data.assign(payload.begin(), payload.end());
  } else {
    auto decoded = from_hex(payload);
    if (!decoded) return kErrorArguments;
    data = std::move(*decoded);
  }
  if (data.size() != range->second) return kErrorArguments;
  if (!data.empty() && !may_write("memory")) return kErrorRefused;
  Machine& machine = controller_.machine();
  const CpuState cpu = machine.engine().state();
  // Check every page first, so a write is done whole or not at all.
  std::vector<std::pair<uint64_t, uint64_t>> pieces; // guest-physical address, length
  for (uint64_t done = 0; done < data.size();) {
    const uint64_t linear = range->first + done;
    const uint64_t length = std::min<uint64_t>(data.size() - done, kPageSize - linear % kPageSize);
    auto physical = linear_to_physical(machine.memory(), cpu, linear);
    if (!physical || !machine.memory().contains(*physical, length)) return kErrorMemory;
    pieces.emplace_back(*physical, length);
    done += length;
  }
  auto* emu = dynamic_cast<EmuEngine*>(&machine.engine());
  uint64_t done = 0;
  for (const auto& [physical, length] : pieces) {
    machine.memory().write(physical, std::span(data).subspan(done, length));
    if (emu) emu->invalidate_code(physical, length);
    done += length;
  }
  if (!data.empty()) warn_divergence("memory");
  return "OK";
}

std::string GdbServer::breakpoint(std::string_view args, bool insert) {
  // TYPE,ADDR,KIND (a breakpoint's KIND is an instruction length hint; a watchpoint's its size).
  if (args.size() < 2 || args[1] != ',') return kErrorArguments;
  const char type = args[0];
  std::string_view rest = args.substr(2);
  rest = rest.substr(0, rest.find(';')); // conditions and commands evaluated by gdb itself
  auto range = address_length(rest);
  if (!range || type < '0' || type > '4') return type >= '0' && type <= '4' ? kErrorArguments : "";
  Breakpoint b{{range->first, WatchKind::kExecute, 1}, type == '0'};
  if (type >= '2') {
    const uint64_t length = range->second;
    if (length != 1 && length != 2 && length != 4 && length != 8) return kErrorArguments;
    b.point.length = static_cast<uint8_t>(length);
    b.point.kind = type == '2'   ? WatchKind::kWrite
                   : type == '3' ? WatchKind::kRead
                                 : WatchKind::kAccess;
  }
  if (insert) return controller_.insert(b) ? "OK" : kErrorRefused;
  return controller_.remove(b) ? "OK" : kErrorArguments;
}

std::string GdbServer::vcont(std::string_view actions) {
  // One thread: the first action decides (gdb lists the one for our thread, maybe a default).
  const std::string_view action = actions.substr(0, actions.find_first_of(":;"));
  if (action == "c" || (action.size() == 3 && action[0] == 'C')) return resume("c");
  if (action == "s" || (action.size() == 3 && action[0] == 'S')) return resume("s");
  return "";
}

std::string GdbServer::resume(std::string_view packet) {
  if (changed_state_) {
    connection_->send_console("warning: gdb changed the guest's registers or memory; the replay "
                              "may diverge from the trace\n");
    changed_state_ = false;
  }
  const bool reverse = packet[0] == 'b';
  const bool step = reverse ? packet[1] == 's' : packet[0] == 's' || packet[0] == 'S';
  // "c ADDR" / "s ADDR" resume at ADDR.
  if (!reverse && packet.size() > 1 && packet[0] != 'C' && packet[0] != 'S') {
    auto address = parse_hex_number(packet.substr(1));
    if (!address) return kErrorArguments;
    Engine& engine = controller_.machine().engine();
    CpuState cpu = engine.state();
    cpu.rip = *address;
    engine.set_state(cpu);
  }
  if (reverse && !reversible()) return kErrorRefused;
  auto interrupted = [this] { return connection_->interrupt_requested(); };
  if (reverse)
    last_stop_ = step ? controller_.reverse_step() : controller_.reverse_resume(interrupted);
  else
    last_stop_ = step ? controller_.step() : controller_.resume(interrupted);
  return stop_reply(last_stop_);
}

std::string GdbServer::stop_reply(const Stop& stop) {
  switch (stop.kind) {
  case Stop::Kind::kStep:
    return "T05thread:1;";
  case Stop::Kind::kBreakpoint:
    return stop.software ? "T05thread:1;swbreak:;" : "T05thread:1;hwbreak:;";
  case Stop::Kind::kWatchpoint: {
    const char* name = stop.cause == DebugCause::kWatchWrite  ? "watch"
                       : stop.cause == DebugCause::kWatchRead ? "rwatch"
                                                              : "awatch";
    return std::string("T05thread:1;") + name + ":" + hex_number(stop.address) + ";";
  }
  case Stop::Kind::kInterrupted:
    return "T02thread:1;";
  case Stop::Kind::kReplayStart:
    return "T05thread:1;replaylog:begin;";
  case Stop::Kind::kExited:
    return "W" + hex_byte(static_cast<uint8_t>(stop.status));
  case Stop::Kind::kFailed:
    connection_->send_console("rrvm: " + stop.message + "\n");
    std::cerr << "rrvm: " << stop.message << "\n";
    return "X06"; // SIGABRT: the replay cannot go on
  }
  return "T05thread:1;";
}

std::string GdbServer::monitor(const std::string& line) {
  std::istringstream words(line);
  std::string command;
  words >> command;
  std::ostringstream out;
  auto position = [&] {
    if (const std::optional<uint64_t> count = controller_.position())
      out << "instruction " << *count;
    else
      out << "no instruction count (kvm)";
    if (const std::optional<uint64_t> event = controller_.event_position()) {
      out << ", trace event " << *event;
      if (auto total = controller_.total_events()) out << " of " << *total;
    } else {
      out << (controller_.recording() ? ", live recording" : ", live run");
    }
    out << "\n";
  };
  if (command == "when") {
    position();
  } else if (command == "goto") {
    std::string what, number;
    words >> what;
    const bool icount = what == "icount";
    if (icount)
      words >> number;
    else
      number = what;
    uint64_t target = 0;
    const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), target);
    if (number.empty() || error != std::errc() || end != number.data() + number.size()) {
      out << "usage: monitor goto EVENT        (trace event index, as monitor when shows)\n"
             "       monitor goto icount N     (retired-instruction count)\n";
    } else if (!reversible()) {
      out << "cannot go anywhere: " << controller_.why_not_reversible() << "\n";
    } else if (const uint64_t before = *controller_.position();
               !(icount ? controller_.go_to(target) : controller_.go_to_event(target))) {
      controller_.go_to(before); // where gdb believes the replay still is
      out << "cannot go to " << (icount ? "instruction " : "trace event ") << target
          << ": the replay ends before it\n";
    } else {
      last_stop_ = {Stop::Kind::kStep};
      out << "now at ";
      position();
      // A monitor reply cannot make gdb drop the registers and frames it holds.
      out << "gdb still shows the old registers: run 'maintenance flush register-cache' (or "
             "'flushregs')\n";
    }
  } else if (command == "emu") {
    if (reversible())
      out << "on emu: exact positions, reverse execution and data watchpoints\n";
    else
      out << "staying on kvm: " << controller_.why_not_reversible() << "\n";
  } else if (command == "stats") {
    controller_.machine().stats().print(out, 0);
  } else if (command == "checkpoints") {
    if (!controller_.reversible())
      out << "no checkpoints: " << controller_.why_not_reversible() << "\n";
    else
      out << controller_.describe_checkpoints();
  } else {
    out << "rrvm monitor commands:\n"
           "  when                 the replay position (instruction count, trace event)\n"
           "  goto EVENT           move to just after the exit that reads trace event EVENT\n"
           "  goto icount N        move to retired-instruction count N\n"
           "  emu                  continue a kvm replay on emu, in the same state\n"
           "  stats                the machine's statistics so far\n"
           "  checkpoints          the checkpoints reverse execution starts from\n";
  }
  return to_hex(out.str());
}

bool GdbServer::reversible() {
  if (controller_.reversible()) return true;
  const bool handed_over = controller_.hand_over_to_emu();
  const std::string message =
      handed_over ? "rrvm: the kvm replay continues on emu from here, which can go backwards\n"
                  : "rrvm: " + controller_.why_not_reversible() + "\n";
  std::cerr << message;
  connection_->send_console(message);
  return handed_over;
}

bool GdbServer::may_write(const char* what) {
  if (!controller_.recording()) return true;
  std::cerr << "rrvm: refused gdb's write to the guest's " << what
            << ": the recording would not contain it and its replay would diverge\n";
  return false;
}

void GdbServer::warn_divergence(const char* what) {
  if (controller_.live()) return; // nothing to diverge from
  if (!changed_state_)
    std::cerr << "rrvm: gdb changed the guest's " << what
              << "; the replay may diverge from the trace from here on\n";
  changed_state_ = true;
}

} // namespace rrvm::gdb
