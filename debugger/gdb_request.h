// What gdb asks of the stub, one type per request of the remote serial protocol, with its
// arguments already decoded: the server acts on these and never sees packet text. A new packet
// is a type here, its parsing in request_parser.cc, a GdbServer::answer overload (std::visit
// does not compile without one), cases in request_parser_test.cc and a seed in
// tests/debugger/fuzz_seeds/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace rrvm::gdb::request {

// A thread id as gdb writes it: -1 for all threads, 0 for any thread, otherwise the thread.
using ThreadId = int64_t;
constexpr ThreadId kAllThreads = -1;
constexpr ThreadId kAnyThread = 0;

struct QueryHaltReason {}; // ?
struct ReadRegisters {};   // g
struct WriteRegisters {    // G
  std::vector<uint8_t> bytes;
};
struct ReadRegister { // p
  uint64_t number;
};
struct WriteRegister { // P
  uint64_t number;
  std::vector<uint8_t> bytes;
};
struct ReadMemory { // m
  uint64_t address;
  uint64_t length;
};
struct WriteMemory { // M (hex) and X (binary): `data` holds exactly the announced length
  uint64_t address;
  std::vector<uint8_t> data;
};

enum class PointType : uint8_t { kSoftware, kHardware, kWrite, kRead, kAccess };
struct SetPoint { // Z and z; a breakpoint's `kind` is an instruction length hint, a watchpoint's
  bool insert;    // its size in bytes
  PointType type;
  uint64_t address;
  uint64_t kind;
};

// c, C, s, S, bc, bs and each vCont action.
struct ResumeAction {
  bool step = false;
  bool reverse = false;
  std::optional<uint8_t> signal;   // C and S: the signal gdb passes on (the stub has none to pass)
  std::optional<uint64_t> address; // c ADDR, s ADDR: resume there
  ThreadId thread = kAllThreads;   // vCont's ":TID"
};
struct Resume {
  ResumeAction action;
};
struct VCont { // vCont;ACTION[:TID]...: the first action that applies to a thread wins
  std::vector<ResumeAction> actions;
};
struct QueryVCont {}; // vCont?

struct QuerySupported { // qSupported[:FEATURE;...]
  std::vector<std::string> features;
};
struct StartNoAckMode {}; // QStartNoAckMode
struct ReadFeatures {     // qXfer:features:read:ANNEX:OFFSET,LENGTH
  std::string annex;
  uint64_t offset;
  uint64_t length;
};
struct ThreadList { // qfThreadInfo (first) and qsThreadInfo
  bool first;
};
struct CurrentThread {}; // qC
struct Attached {};      // qAttached
struct ThreadExtraInfo { // qThreadExtraInfo,TID
  ThreadId thread;
};
struct Symbol {}; // qSymbol: the stub looks up no symbols
struct Monitor {  // qRcmd,HEX: gdb's `monitor` command line
  std::string command;
};
struct SelectThread { // H OP TID
  char operation;     // 'g' for register and memory access, 'c' for resumes
  ThreadId thread;
};
struct ThreadAlive { // T TID
  ThreadId thread;
};
struct Detach {};    // D
struct Kill {        // k and vKill
  bool acknowledged; // vKill waits for an "OK", k for nothing
};
// ^C while the target is stopped (gdb raced a stop reply): nothing to stop, nothing to answer.
struct Interrupt {};
// A known request with arguments that do not parse; answered with an error.
struct Malformed {};
// A request the stub does not implement; answered with the empty reply.
struct Unsupported {};

} // namespace rrvm::gdb::request

namespace rrvm::gdb {

using Request =
    std::variant<request::QueryHaltReason, request::ReadRegisters, request::WriteRegisters,
                 request::ReadRegister, request::WriteRegister, request::ReadMemory,
                 request::WriteMemory, request::SetPoint, request::Resume, request::VCont,
                 request::QueryVCont, request::QuerySupported, request::StartNoAckMode,
                 request::ReadFeatures, request::ThreadList, request::CurrentThread,
                 request::Attached, request::ThreadExtraInfo, request::Symbol, request::Monitor,
                 request::SelectThread, request::ThreadAlive, request::Detach, request::Kill,
                 request::Interrupt, request::Malformed, request::Unsupported>;

} // namespace rrvm::gdb
