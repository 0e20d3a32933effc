#include "debugger/gdb_server.h"

#include <algorithm>
#include <charconv>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "debugger/hex.h"
#include "debugger/packet.h"
#include "debugger/register_write_check.h"
#include "debugger/target_description.h"
#include "vmm/hex_text.h"
#include "vmm/page_walker.h"
#include "vmm/state_hash.h"

namespace rrvm::gdb {

namespace {

constexpr const char* kErrorArguments = "E01"; // malformed arguments (bad hex, missing fields)
constexpr const char* kErrorNoAnnex = "E00";   // qXfer of an annex the stub does not have
constexpr const char* kErrorMemory = "E14";    // EFAULT: nothing mapped there
constexpr const char* kErrorRefused = "E16";   // EINVAL: the target cannot do it (now)

constexpr request::ThreadId kOnlyThread = 1; // the vCPU

// `monitor history ADDR` without a length: a 64-bit word.
constexpr uint64_t kDefaultWatchedLength = 8;

// After a monitor command moved the replay: a monitor reply cannot make gdb drop the registers and
// frames it holds.
constexpr const char* kFlushRegisters =
    "gdb still shows the old registers: run 'maintenance flush register-cache' (or 'flushregs')\n";

// A number as gdb's users write one: 0x for hex, decimal otherwise.
std::optional<uint64_t> parse_number(const std::string& word) {
  const bool hex = word.size() > 2 && word[0] == '0' && (word[1] == 'x' || word[1] == 'X');
  const char* first = word.data() + (hex ? 2 : 0);
  const char* last = word.data() + word.size();
  uint64_t value = 0;
  const auto [end, error] = std::from_chars(first, last, value, hex ? 16 : 10);
  if (first == last || error != std::errc() || end != last) return std::nullopt;
  return value;
}

bool names_our_thread(request::ThreadId thread) {
  return thread == request::kAllThreads || thread == request::kAnyThread || thread == kOnlyThread;
}

} // namespace

GdbServer::GdbServer(KernelKind kernel, ReplayController& controller,
                     ReplayController::EmuReplay history_replay)
    : controller_(controller), registers_(kernel_starts_in_long_mode(kernel)),
      target_xml_(target_description_xml(registers_)), history_replay_(std::move(history_replay)) {}

GdbServer::End GdbServer::serve(Connection& connection) {
  end_.reset();
  while (!end_) {
    std::optional<Request> request = connection.receive();
    if (!request) return End::kDisconnected;
    if (std::optional<std::string> reply = handle(*request, connection)) connection.send(*reply);
    if (std::holds_alternative<request::StartNoAckMode>(*request)) connection.set_no_ack();
  }
  return *end_;
}

std::optional<std::string> GdbServer::handle(const Request& request, GdbPeer& peer) {
  peer_ = &peer;
  return std::visit([this](const auto& r) { return answer(r); }, request);
}

GdbServer::Reply GdbServer::answer(const request::QueryHaltReason&) {
  return stop_reply(last_stop_);
}

GdbServer::Reply GdbServer::answer(const request::ReadRegisters&) {
  return to_hex(registers_.read_all(controller_.machine().engine().state()));
}

GdbServer::Reply GdbServer::answer(const request::WriteRegisters& r) {
  CpuState cpu = controller_.machine().engine().state();
  if (!registers_.write_all(cpu, r.bytes)) return kErrorArguments;
  return write_registers(cpu);
}

GdbServer::Reply GdbServer::answer(const request::ReadRegister& r) {
  auto bytes = registers_.read(controller_.machine().engine().state(), r.number);
  if (!bytes) return kErrorArguments;
  return to_hex(*bytes);
}

GdbServer::Reply GdbServer::answer(const request::WriteRegister& r) {
  CpuState cpu = controller_.machine().engine().state();
  if (!registers_.write(cpu, r.number, r.bytes)) return kErrorArguments;
  return write_registers(cpu);
}

std::string GdbServer::write_registers(const CpuState& changed) {
  if (!may_write("registers")) return kErrorRefused;
  Engine& engine = controller_.machine().engine();
  if (const std::optional<std::string> problem = register_write_problem(engine.state(), changed)) {
    std::cerr << "rrvm: refused gdb's register write: " << *problem << "\n";
    return kErrorRefused;
  }
  engine.set_state(changed);
  warn_divergence("registers");
  return "OK";
}

GdbServer::Reply GdbServer::answer(const request::ReadMemory& r) {
  std::vector<uint8_t> bytes(std::min<uint64_t>(r.length, kMaxPacketSize / 2));
  Machine& machine = controller_.machine();
  // The guest's current paging mode decides what an address means; gdb addresses are linear.
  const size_t n = read_linear(machine.memory(), machine.engine().state(), r.address, bytes);
  if (n == 0 && r.length != 0) return kErrorMemory;
  bytes.resize(n);
  return to_hex(bytes);
}

GdbServer::Reply GdbServer::answer(const request::WriteMemory& r) {
  if (r.data.empty()) return "OK";
  if (!may_write("memory")) return kErrorRefused;
  Machine& machine = controller_.machine();
  const CpuState cpu = machine.engine().state();
  // Check every page first, so a write is done whole or not at all.
  std::vector<std::pair<uint64_t, uint64_t>> pieces; // guest-physical address, length
  for (uint64_t done = 0; done < r.data.size();) {
    const uint64_t linear = r.address + done;
    const uint64_t length =
        std::min<uint64_t>(r.data.size() - done, kPageSize - linear % kPageSize);
    auto physical = linear_to_physical(machine.memory(), cpu, linear);
    if (!physical || !machine.memory().contains(*physical, length)) return kErrorMemory;
    pieces.emplace_back(*physical, length);
    done += length;
  }
  uint64_t done = 0;
  for (const auto& [physical, length] : pieces) {
    machine.memory().write(physical, std::span(r.data).subspan(done, length));
    machine.engine().invalidate_code(physical, length);
    done += length;
  }
  warn_divergence("memory");
  return "OK";
}

GdbServer::Reply GdbServer::answer(const request::SetPoint& r) {
  using request::PointType;
  Breakpoint b{{r.address, WatchKind::kExecute, 1}, r.type == PointType::kSoftware};
  if (r.type != PointType::kSoftware && r.type != PointType::kHardware) {
    if (r.kind != 1 && r.kind != 2 && r.kind != 4 && r.kind != 8) return kErrorArguments;
    b.point.length = static_cast<uint8_t>(r.kind);
    b.point.kind = r.type == PointType::kWrite  ? WatchKind::kWrite
                   : r.type == PointType::kRead ? WatchKind::kRead
                                                : WatchKind::kAccess;
  }
  if (r.insert) return controller_.insert(b) ? "OK" : kErrorRefused;
  return controller_.remove(b) ? "OK" : kErrorArguments;
}

GdbServer::Reply GdbServer::answer(const request::Resume& r) {
  return resume(r.action);
}

GdbServer::Reply GdbServer::answer(const request::VCont& r) {
  // One thread: the first action that applies to it decides.
  for (const request::ResumeAction& action : r.actions)
    if (names_our_thread(action.thread)) return resume(action);
  return kErrorArguments;
}

GdbServer::Reply GdbServer::answer(const request::QueryVCont&) {
  return "vCont;c;C;s;S";
}

GdbServer::Reply GdbServer::answer(const request::QuerySupported&) {
  std::string features = "PacketSize=";
  features += hex_number(kMaxPacketSize);
  features += ";qXfer:features:read+;swbreak+;hwbreak+;ReverseStep+;ReverseContinue+;"
              "vContSupported+;QStartNoAckMode+";
  return features;
}

GdbServer::Reply GdbServer::answer(const request::StartNoAckMode&) {
  return "OK";
}

GdbServer::Reply GdbServer::answer(const request::ReadFeatures& r) {
  if (r.annex != "target.xml") return kErrorNoAnnex;
  if (r.offset >= target_xml_.size()) return "l";
  std::string reply(1, r.length >= target_xml_.size() - r.offset ? 'l' : 'm');
  reply.append(target_xml_, r.offset, r.length);
  return reply;
}

GdbServer::Reply GdbServer::answer(const request::ThreadList& r) {
  return r.first ? "m1" : "l";
}

GdbServer::Reply GdbServer::answer(const request::CurrentThread&) {
  return "QC1";
}

GdbServer::Reply GdbServer::answer(const request::Attached&) {
  return "1";
}

GdbServer::Reply GdbServer::answer(const request::ThreadExtraInfo&) {
  return to_hex(std::string_view("vCPU 0"));
}

GdbServer::Reply GdbServer::answer(const request::Symbol&) {
  return "OK";
}

GdbServer::Reply GdbServer::answer(const request::SelectThread& r) {
  return names_our_thread(r.thread) ? "OK" : kErrorArguments;
}

GdbServer::Reply GdbServer::answer(const request::ThreadAlive& r) {
  return r.thread == kOnlyThread ? "OK" : kErrorArguments;
}

GdbServer::Reply GdbServer::answer(const request::Detach&) {
  end_ = End::kDetached;
  return "OK";
}

GdbServer::Reply GdbServer::answer(const request::Kill& r) {
  end_ = End::kKilled;
  if (r.acknowledged) return "OK";
  return std::nullopt;
}

GdbServer::Reply GdbServer::answer(const request::Interrupt&) {
  return std::nullopt; // the target is already stopped and gdb has its stop reply
}

GdbServer::Reply GdbServer::answer(const request::Malformed&) {
  return kErrorArguments;
}

GdbServer::Reply GdbServer::answer(const request::Unsupported&) {
  return "";
}

std::string GdbServer::resume(const request::ResumeAction& action) {
  if (action.address) {
    CpuState cpu = controller_.machine().engine().state();
    cpu.rip = *action.address;
    if (const std::string reply = write_registers(cpu); reply != "OK") return reply;
  }
  if (changed_state_) {
    peer_->send_console("warning: gdb changed the guest's registers or memory; the replay "
                        "may diverge from the trace\n");
    changed_state_ = false;
  }
  if (action.reverse && !reversible()) return kErrorRefused;
  auto interrupted = [this] { return peer_->interrupt_requested(); };
  if (action.reverse)
    last_stop_ = action.step ? controller_.reverse_step() : controller_.reverse_resume(interrupted);
  else
    last_stop_ = action.step ? controller_.step() : controller_.resume(interrupted);
  return stop_reply(last_stop_);
}

std::string GdbServer::stop_reply(const Stop& stop) {
  std::string reply = "T05thread:1;";
  switch (stop.kind) {
  case Stop::Kind::kStep:
    break;
  case Stop::Kind::kBreakpoint:
    reply += stop.software ? "swbreak:;" : "hwbreak:;";
    break;
  case Stop::Kind::kWatchpoint:
    reply += stop.cause == DebugCause::kWatchWrite  ? "watch:"
             : stop.cause == DebugCause::kWatchRead ? "rwatch:"
                                                    : "awatch:";
    reply += hex_number(stop.address);
    reply += ';';
    break;
  case Stop::Kind::kInterrupted:
    reply = "T02thread:1;"; // SIGINT
    break;
  case Stop::Kind::kReplayStart:
    reply += "replaylog:begin;";
    break;
  case Stop::Kind::kExited:
    reply = 'W';
    reply += hex_byte(static_cast<uint8_t>(stop.status));
    break;
  case Stop::Kind::kFailed:
    // Told to gdb's user here; rrvm reports it on stderr once, when the replay ends.
    peer_->send_console("rrvm: " + stop.message + "\n");
    reply = "X06"; // SIGABRT: the replay cannot go on
    break;
  }
  return reply;
}

GdbServer::Reply GdbServer::answer(const request::Monitor& m) {
  std::istringstream words(m.command);
  std::string command;
  words >> command;
  std::ostringstream out;
  if (command == "when") {
    describe_position(out);
  } else if (command == "goto") {
    std::string what, number;
    words >> what;
    const bool icount = what == "icount";
    if (icount)
      words >> number;
    else
      number = what;
    const std::optional<ReplayPosition> target = parse_position(number);
    if (!target || (!icount && target->deliveries != 0)) {
      out << "usage: monitor goto EVENT        (trace event index, as monitor when shows)\n"
             "       monitor goto icount N[+K] (retired-instruction count, K deliveries after)\n";
    } else if (!reversible()) {
      out << "cannot go anywhere: " << controller_.why_not_reversible() << "\n";
    } else if (const ReplayPosition before = *controller_.position();
               !(icount ? controller_.go_to(*target)
                        : controller_.go_to_event(target->instructions))) {
      controller_.go_to(before); // where gdb believes the replay still is
      out << "cannot go to " << (icount ? "instruction " : "trace event ") << number
          << (target->deliveries != 0 ? ": the replay ends before it, or delivers fewer events "
                                        "after that instruction\n"
                                      : ": the replay ends before it\n");
    } else {
      last_stop_ = {Stop::Kind::kStep};
      out << "now at ";
      describe_position(out);
      out << kFlushRegisters;
    }
  } else if (command == "history" || command == "last-write") {
    if (const std::optional<WatchedRange> range = parse_range(command, words, out)) {
      if (command == "history")
        show_history(*range, out);
      else
        go_to_last_write(*range, out);
    }
  } else if (command == "emu") {
    if (reversible())
      out << "on emu: exact positions, reverse execution and data watchpoints\n";
    else
      out << "staying on kvm: " << controller_.why_not_reversible() << "\n";
  } else if (command == "ram-hash") {
    const GuestMemory& memory = controller_.machine().memory();
    out << "ram hash " << hex_text(hash_bytes({memory.host(), memory.size()})) << "\n";
  } else if (command == "stats") {
    controller_.machine().stats().print(out, 0);
  } else if (command == "checkpoints") {
    if (!controller_.reversible())
      out << "no checkpoints: " << controller_.why_not_reversible() << "\n";
    else
      out << controller_.describe_checkpoints();
  } else {
    out << "rrvm monitor commands:\n"
           "  when                 the replay position (instruction count[+deliveries], trace\n"
           "                       event)\n"
           "  goto EVENT           move to just after the exit that reads trace event EVENT\n"
           "  goto icount N[+K]    move to retired-instruction count N (K interrupt or\n"
           "                       exception deliveries after it)\n"
           "  history ADDR [LEN]   every write to LEN bytes (default 8) at linear address ADDR\n"
           "                       over the whole trace: instruction count, rip, old -> new\n"
           "  last-write ADDR [LEN]\n"
           "                       move to just after the last write there before this point\n"
           "  emu                  continue a kvm replay on emu, in the same state\n"
           "  ram-hash             a hash of all guest RAM (to compare states)\n"
           "  stats                the machine's statistics so far\n"
           "  checkpoints          the checkpoints reverse execution starts from\n";
  }
  return to_hex(out.str());
}

void GdbServer::describe_position(std::ostream& out) {
  if (const std::optional<ReplayPosition> position = controller_.position())
    out << "instruction " << position_text(*position);
  else
    out << "no instruction count (kvm)";
  if (const std::optional<uint64_t> event = controller_.event_position()) {
    out << ", trace event " << *event;
    if (auto total = controller_.total_events()) out << " of " << *total;
  } else {
    out << (controller_.recording() ? ", live recording" : ", live run");
  }
  out << "\n";
}

std::optional<WatchedRange> GdbServer::parse_range(const std::string& command, std::istream& words,
                                                   std::ostream& out) {
  std::string address_word, length_word, extra;
  words >> address_word >> length_word >> extra;
  const std::string name = "monitor " + command;
  if (address_word.empty()) {
    out << "usage: " << name << " ADDR [LEN]: ADDR a linear address (0x for hex), LEN 1 to "
        << kMaxWatchedRange << " bytes (default " << kDefaultWatchedLength << ")\n";
    return std::nullopt;
  }
  const std::optional<uint64_t> address = parse_number(address_word);
  if (!address) {
    out << name << ": bad address '" << address_word << "': a number, 0x for hex\n";
    return std::nullopt;
  }
  std::optional<uint64_t> length = kDefaultWatchedLength;
  if (!length_word.empty()) length = parse_number(length_word);
  if (!length) {
    out << name << ": bad length '" << length_word << "': a number of bytes\n";
  } else if (*length == 0 || *length > kMaxWatchedRange) {
    out << name << ": LEN is 1 to " << kMaxWatchedRange << " bytes, not " << *length
        << " (watch a longer range in pieces)\n";
  } else if (*address + *length - 1 < *address) {
    out << name << ": " << hex_text(*address) << " + " << *length
        << " bytes runs past the end of the address space\n";
  } else if (!extra.empty()) {
    out << name << ": unexpected '" << extra << "' after LEN\n";
  } else {
    return WatchedRange{*address, *length};
  }
  return std::nullopt;
}

const WriteHistory* GdbServer::history(const WatchedRange& range, std::ostream& out) {
  if (const auto cached = histories_.find(range); cached != histories_.end())
    return &cached->second;
  if (!history_replay_) {
    out << "no history: "
        << (controller_.live() ? "a live run has no trace to scan; record it "
                                 "and debug the replay"
                               : "this replay cannot scan its trace")
        << "\n";
    return nullptr;
  }
  ScanHooks hooks;
  hooks.progress = [this](std::string_view line) {
    std::cerr << line;
    peer_->send_console(line);
  };
  hooks.interrupted = [this] { return peer_->interrupt_requested(); };
  try {
    const std::unique_ptr<ReplaySession> session = history_replay_();
    std::optional<WriteHistory> scanned = scan_write_history(*session, range, hooks);
    if (!scanned) {
      out << "history scan interrupted\n";
      return nullptr;
    }
    return &histories_.emplace(range, std::move(*scanned)).first->second;
  } catch (const Error& e) {
    out << "cannot scan the trace: " << e.what() << "\n";
    return nullptr;
  }
}

void GdbServer::show_history(const WatchedRange& range, std::ostream& out) {
  const bool cached = histories_.contains(range);
  const WriteHistory* scanned = history(range, out);
  if (!scanned) return;
  const std::vector<RangeWrite>& writes = scanned->writes;
  out << (writes.empty() ? "no writes to " : "writes to ") << hex_text(range.address) << " ("
      << range.length << (range.length == 1 ? " byte" : " bytes") << ") over the whole trace, "
      << scanned->end_position << " instructions (" << scanned->end << "; ";
  if (cached)
    out << "scanned earlier)\n";
  else
    out << "scanned in " << std::fixed << std::setprecision(2) << scanned->scan_seconds << " s)\n";
  if (writes.empty()) return;
  std::optional<uint64_t> now;
  if (const std::optional<ReplayPosition> position = controller_.position())
    now = position->instructions;
  out << "   instruction  rip                 old -> new\n";
  const std::vector<bool> shown = writes_to_show(writes, now);
  size_t unchanged = 0, hidden = 0, all_hidden = 0;
  for (size_t i = 0; i <= writes.size(); ++i) {
    // "now" goes before the first write the replay has not done yet.
    const bool at_now = now && (i == writes.size() || writes[i].position > *now) &&
                        (i == 0 || writes[i - 1].position <= *now);
    if (hidden && (at_now || i == writes.size() || shown[i])) {
      out << "   ... " << hidden << (hidden == 1 ? " write" : " writes") << " not shown ...\n";
      all_hidden += std::exchange(hidden, 0);
    }
    if (at_now) out << "  -- now: instruction " << *now << " --\n";
    if (i == writes.size()) break;
    if (writes[i].before == writes[i].after) ++unchanged;
    if (shown[i])
      out << describe_write(writes[i]) << "\n";
    else
      ++hidden;
  }
  out << writes.size() << (writes.size() == 1 ? " write" : " writes");
  if (unchanged) out << ", " << unchanged << " of them leaving the value as it was";
  if (all_hidden)
    out << "; " << writes.size() - all_hidden << " shown (more than " << kAllWritesShown
        << ": those leaving the value, each with the write before it, and those nearest now and "
           "the ends)";
  out << "\n";
}

void GdbServer::go_to_last_write(const WatchedRange& range, std::ostream& out) {
  if (!reversible()) {
    out << "cannot go anywhere: " << controller_.why_not_reversible() << "\n";
    return;
  }
  const WriteHistory* scanned = history(range, out);
  if (!scanned) return;
  const ReplayPosition here = *controller_.position();
  const uint64_t now = here.instructions;
  // A write's position is the count with the writer retired: the last one done before here.
  const auto& writes = scanned->writes;
  const auto after = std::partition_point(writes.begin(), writes.end(),
                                          [now](const RangeWrite& w) { return w.position < now; });
  if (after == writes.begin()) {
    out << "no write to " << hex_text(range.address) << " (" << range.length
        << " bytes) before instruction " << now << "\n";
    return;
  }
  const RangeWrite& last = *std::prev(after);
  if (!controller_.go_to({last.position, 0})) {
    controller_.go_to(here); // where gdb believes the replay still is
    out << "cannot go to instruction " << last.position << ": the replay ends before it\n";
    return;
  }
  last_stop_ = {Stop::Kind::kStep};
  out << "the last write before instruction " << now << ":\n"
      << describe_write(last) << "\n"
      << "now just after it, at ";
  describe_position(out);
  out << "(reverse-stepi: the writing instruction, before it wrote; repeat last-write to go "
         "further back)\n"
      << kFlushRegisters;
}

bool GdbServer::reversible() {
  if (controller_.reversible()) return true;
  const bool handed_over = controller_.hand_over_to_emu();
  const std::string message =
      handed_over ? "rrvm: the kvm replay continues on emu from here, which can go backwards\n"
                  : "rrvm: " + controller_.why_not_reversible() + "\n";
  std::cerr << message;
  peer_->send_console(message);
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
