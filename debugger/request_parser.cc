#include "debugger/request_parser.h"

#include "debugger/hex.h"

namespace rrvm::gdb {

namespace {

using namespace request;

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

// "A,B" as two hex numbers.
std::optional<std::pair<uint64_t, uint64_t>> hex_pair(std::string_view text) {
  const size_t comma = text.find(',');
  if (comma == std::string_view::npos) return std::nullopt;
  auto first = parse_hex_number(text.substr(0, comma));
  auto second = parse_hex_number(text.substr(comma + 1));
  if (!first || !second) return std::nullopt;
  return std::pair{*first, *second};
}

std::optional<ThreadId> thread_id(std::string_view text) {
  if (text == "-1") return kAllThreads;
  auto id = parse_hex_number(text);
  if (!id || *id > uint64_t(INT64_MAX)) return std::nullopt;
  return static_cast<ThreadId>(*id);
}

std::optional<uint8_t> signal_number(std::string_view text) {
  auto number = text.size() == 2 ? parse_hex_number(text) : std::nullopt;
  if (!number) return std::nullopt;
  return static_cast<uint8_t>(*number);
}

Request read_register(std::string_view args) {
  auto number = parse_hex_number(args);
  if (!number) return Malformed{};
  return ReadRegister{*number};
}

Request write_register(std::string_view args) {
  const size_t eq = args.find('=');
  if (eq == std::string_view::npos) return Malformed{};
  auto number = parse_hex_number(args.substr(0, eq));
  auto bytes = from_hex(args.substr(eq + 1));
  if (!number || !bytes) return Malformed{};
  return WriteRegister{*number, std::move(*bytes)};
}

Request write_registers(std::string_view args) {
  auto bytes = from_hex(args);
  if (!bytes) return Malformed{};
  return WriteRegisters{std::move(*bytes)};
}

Request read_memory(std::string_view args) {
  auto range = hex_pair(args);
  if (!range) return Malformed{};
  return ReadMemory{range->first, range->second};
}

// M ADDR,LEN:HEX and X ADDR,LEN:BYTES.
Request write_memory(std::string_view args, bool binary) {
  const size_t colon = args.find(':');
  if (colon == std::string_view::npos) return Malformed{};
  auto range = hex_pair(args.substr(0, colon));
  if (!range) return Malformed{};
  const std::string_view payload = args.substr(colon + 1);
  std::vector<uint8_t> data;
  if (binary) {
    data.assign(payload.begin(), payload.end());
  } else {
    auto decoded = from_hex(payload);
    if (!decoded) return Malformed{};
    data = std::move(*decoded);
  }
  if (data.size() != range->second) return Malformed{};
  return WriteMemory{range->first, std::move(data)};
}

// TYPE,ADDR,KIND[;conditions and commands, which gdb evaluates itself].
Request set_point(std::string_view args, bool insert) {
  if (args.empty() || args[0] < '0' || args[0] > '4') return Unsupported{};
  if (args.size() < 2 || args[1] != ',') return Malformed{};
  auto range = hex_pair(args.substr(2, args.find(';') - 2));
  if (!range) return Malformed{};
  return SetPoint{insert, static_cast<PointType>(args[0] - '0'), range->first, range->second};
}

// c[ADDR], s[ADDR], C SIG[;ADDR], S SIG[;ADDR].
Request resume(std::string_view packet) {
  ResumeAction action;
  action.step = packet[0] == 's' || packet[0] == 'S';
  std::string_view address = packet.substr(1);
  if (packet[0] == 'C' || packet[0] == 'S') {
    const size_t semicolon = address.find(';');
    action.signal = signal_number(address.substr(0, semicolon));
    if (!action.signal) return Malformed{};
    address = semicolon == std::string_view::npos ? "" : address.substr(semicolon + 1);
    if (semicolon != std::string_view::npos && address.empty()) return Malformed{};
  }
  if (!address.empty()) {
    action.address = parse_hex_number(address);
    if (!action.address) return Malformed{};
  }
  return Resume{action};
}

// bc and bs.
Request reverse(bool step) {
  ResumeAction action;
  action.step = step;
  action.reverse = true;
  return Resume{action};
}

// One vCont action: c, s, C SIG, S SIG, each with an optional :TID.
std::optional<ResumeAction> vcont_action(std::string_view text) {
  ResumeAction action;
  const size_t colon = text.find(':');
  if (colon != std::string_view::npos) {
    auto thread = thread_id(text.substr(colon + 1));
    if (!thread) return std::nullopt;
    action.thread = *thread;
    text = text.substr(0, colon);
  }
  if (text.empty()) return std::nullopt;
  action.step = text[0] == 's' || text[0] == 'S';
  if (text == "c" || text == "s") return action;
  if (text[0] != 'C' && text[0] != 'S') return std::nullopt;
  action.signal = signal_number(text.substr(1));
  if (!action.signal) return std::nullopt;
  return action;
}

Request vcont(std::string_view actions) {
  VCont request;
  for (;;) {
    const size_t semicolon = actions.find(';');
    auto action = vcont_action(actions.substr(0, semicolon));
    if (!action) return Malformed{};
    request.actions.push_back(*action);
    if (semicolon == std::string_view::npos) return request;
    actions = actions.substr(semicolon + 1);
  }
}

Request select_thread(std::string_view args) {
  if (args.empty()) return Malformed{};
  auto thread = thread_id(args.substr(1));
  if (!thread) return Malformed{};
  return SelectThread{args[0], *thread};
}

Request thread_alive(std::string_view args) {
  auto thread = thread_id(args);
  if (!thread) return Malformed{};
  return ThreadAlive{*thread};
}

Request read_features(std::string_view args) {
  const size_t colon = args.find(':');
  if (colon == std::string_view::npos) return Malformed{};
  auto range = hex_pair(args.substr(colon + 1));
  if (!range) return Malformed{};
  return ReadFeatures{std::string(args.substr(0, colon)), range->first, range->second};
}

Request supported(std::string_view args) {
  QuerySupported request;
  if (args.empty()) return request;
  if (args[0] != ':') return Unsupported{};
  args.remove_prefix(1);
  while (!args.empty()) {
    const size_t semicolon = args.find(';');
    request.features.emplace_back(args.substr(0, semicolon));
    if (semicolon == std::string_view::npos) break;
    args.remove_prefix(semicolon + 1);
  }
  return request;
}

Request monitor(std::string_view args) {
  auto bytes = from_hex(args);
  if (!bytes) return Malformed{};
  return Monitor{std::string(bytes->begin(), bytes->end())};
}

Request query(std::string_view p) {
  if (starts_with(p, "qSupported")) return supported(p.substr(10));
  if (starts_with(p, "qXfer:features:read:")) return read_features(p.substr(20));
  if (p == "qfThreadInfo" || p == "qsThreadInfo") return ThreadList{p[1] == 'f'};
  if (p == "qC") return CurrentThread{};
  if (p == "qAttached" || starts_with(p, "qAttached:")) return Attached{};
  if (starts_with(p, "qThreadExtraInfo,")) {
    auto thread = thread_id(p.substr(17));
    if (!thread) return Malformed{};
    return ThreadExtraInfo{*thread};
  }
  if (starts_with(p, "qSymbol")) return Symbol{};
  if (starts_with(p, "qRcmd,")) return monitor(p.substr(6));
  if (p == "QStartNoAckMode") return StartNoAckMode{};
  return Unsupported{};
}

Request verbose(std::string_view p) {
  if (p == "vCont?") return QueryVCont{};
  if (starts_with(p, "vCont;")) return vcont(p.substr(6));
  if (p == "vKill" || starts_with(p, "vKill;")) return Kill{true};
  return Unsupported{}; // vMustReplyEmpty and everything else
}

// Requests that take no arguments.
template <typename T> Request bare(std::string_view p) {
  if (p.size() != 1) return Malformed{};
  return T{};
}

} // namespace

Request parse_request(std::string_view p) {
  if (p.empty()) return Unsupported{};
  switch (p[0]) {
  case '?':
    return bare<QueryHaltReason>(p);
  case 'g':
    return bare<ReadRegisters>(p);
  case 'G':
    return write_registers(p.substr(1));
  case 'p':
    return read_register(p.substr(1));
  case 'P':
    return write_register(p.substr(1));
  case 'm':
    return read_memory(p.substr(1));
  case 'M':
  case 'X':
    return write_memory(p.substr(1), p[0] == 'X');
  case 'Z':
  case 'z':
    return set_point(p.substr(1), p[0] == 'Z');
  case 'c':
  case 'C':
  case 's':
  case 'S':
    return resume(p);
  case 'b':
    if (p != "bc" && p != "bs") return Unsupported{};
    return reverse(p[1] == 's');
  case 'H':
    return select_thread(p.substr(1));
  case 'T':
    return thread_alive(p.substr(1));
  case 'k':
    if (p.size() != 1) return Malformed{};
    return Kill{false};
  case 'D':
    if (p == "D" || p[1] == ';') return Detach{};
    return Malformed{};
  case 'q':
  case 'Q':
    return query(p);
  case 'v':
    return verbose(p);
  default:
    return Unsupported{};
  }
}

} // namespace rrvm::gdb
