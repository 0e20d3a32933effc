// The commands of gdb's remote serial protocol, answered over a ReplayController: registers,
// guest-virtual memory, breakpoints and watchpoints, forward and reverse execution, threads (one
// vCPU = thread 1) and `monitor` commands.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "debugger/gdb_connection.h"
#include "debugger/register_map.h"
#include "debugger/replay_controller.h"

namespace rrvm::gdb {

class GdbServer {
public:
  GdbServer(const TraceHeader& header, ReplayController& controller);

  enum class End : uint8_t { kDetached, kKilled, kDisconnected };
  // Serves one gdb until it detaches, kills the target or goes away.
  End serve(Connection& connection);

private:
  // The reply to one packet; nullopt when the packet ends the session (k, D answered inside).
  std::optional<std::string> handle(std::string_view packet);
  std::string query(std::string_view packet);
  std::string read_memory(std::string_view args);
  std::string write_memory(std::string_view args, bool binary);
  std::string breakpoint(std::string_view args, bool insert);
  std::string resume(std::string_view packet);
  std::string vcont(std::string_view actions);
  std::string monitor(const std::string& command);
  std::string stop_reply(const Stop& stop);
  void warn_divergence(const char* what);

  ReplaySession& session() { return controller_.session(); }

  ReplayController& controller_;
  RegisterMap registers_;
  std::string target_xml_;
  Connection* connection_ = nullptr;
  Stop last_stop_{Stop::Kind::kStep};
  bool changed_state_ = false; // gdb wrote registers or memory since the last resume
  std::optional<End> end_;
};

} // namespace rrvm::gdb
