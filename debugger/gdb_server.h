// gdb's requests answered over a ReplayController: registers, guest-virtual memory, breakpoints
// and watchpoints, forward and reverse execution, threads (one vCPU = thread 1) and `monitor`
// commands. The server acts on typed requests only (the Connection parses packets).
#pragma once

#include <iosfwd>
#include <map>
#include <optional>
#include <string>

#include "debugger/gdb_connection.h"
#include "debugger/gdb_peer.h"
#include "debugger/gdb_request.h"
#include "debugger/register_map.h"
#include "debugger/replay_controller.h"
#include "debugger/write_history.h"

namespace rrvm::gdb {

class GdbServer {
public:
  // `history_replay` builds a silent emu replay of the trace for `monitor history` and
  // `monitor last-write` to scan (none for a live run).
  GdbServer(KernelKind kernel, ReplayController& controller,
            ReplayController::EmuReplay history_replay = {});

  enum class End : uint8_t { kDetached, kKilled, kDisconnected };
  // Serves one gdb until it detaches, kills the target or goes away.
  End serve(Connection& connection);

  // The reply to one request; nullopt when none is sent (k, a stray ^C). `peer` gets console
  // text and is asked for ^C while the target runs.
  std::optional<std::string> handle(const Request& request, GdbPeer& peer);
  // Set once a request ended the session (D, k, vKill).
  const std::optional<End>& ended() const { return end_; }

private:
  using Reply = std::optional<std::string>;
  Reply answer(const request::QueryHaltReason&);
  Reply answer(const request::ReadRegisters&);
  Reply answer(const request::WriteRegisters&);
  Reply answer(const request::ReadRegister&);
  Reply answer(const request::WriteRegister&);
  Reply answer(const request::ReadMemory&);
  Reply answer(const request::WriteMemory&);
  Reply answer(const request::SetPoint&);
  Reply answer(const request::Resume&);
  Reply answer(const request::VCont&);
  Reply answer(const request::QueryVCont&);
  Reply answer(const request::QuerySupported&);
  Reply answer(const request::StartNoAckMode&);
  Reply answer(const request::ReadFeatures&);
  Reply answer(const request::ThreadList&);
  Reply answer(const request::CurrentThread&);
  Reply answer(const request::Attached&);
  Reply answer(const request::ThreadExtraInfo&);
  Reply answer(const request::Symbol&);
  Reply answer(const request::Monitor&);
  Reply answer(const request::SelectThread&);
  Reply answer(const request::ThreadAlive&);
  Reply answer(const request::Detach&);
  Reply answer(const request::Kill&);
  Reply answer(const request::Interrupt&);
  Reply answer(const request::Malformed&);
  Reply answer(const request::Unsupported&);

  // Hands gdb's changed registers to the engine when the CPU could hold them.
  std::string write_registers(const CpuState& changed);
  std::string resume(const request::ResumeAction& action);
  std::string stop_reply(const Stop& stop);
  // Whether the replay can go backwards, after handing a kvm replay over to emu if it can (told
  // on gdb's console either way).
  bool reversible();
  // False in a recording, whose trace would not hold what gdb changed.
  bool may_write(const char* what);
  void warn_divergence(const char* what);
  // `monitor when`'s line.
  void describe_position(std::ostream& out);
  // ADDR [LEN] of `monitor history` and `monitor last-write`; nullopt after telling `out` why not.
  std::optional<WatchedRange> parse_range(const std::string& command, std::istream& words,
                                          std::ostream& out);
  // The range's history, scanned once per range and session; nullptr after telling `out` why not.
  const WriteHistory* history(const WatchedRange& range, std::ostream& out);
  void show_history(const WatchedRange& range, std::ostream& out);
  void go_to_last_write(const WatchedRange& range, std::ostream& out);

  ReplayController& controller_;
  RegisterMap registers_;
  std::string target_xml_;
  GdbPeer* peer_ = nullptr;
  Stop last_stop_{Stop::Kind::kStep};
  bool changed_state_ = false; // gdb wrote registers or memory since the last resume
  std::optional<End> end_;
  ReplayController::EmuReplay history_replay_;
  std::map<WatchedRange, WriteHistory> histories_;
};

} // namespace rrvm::gdb
