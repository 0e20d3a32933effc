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
  GdbServer(KernelKind kernel, ReplayController& controller);

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
  // Whether the replay can go backwards, after handing a kvm replay over to emu if it can (told
  // on gdb's console either way).
  bool reversible();
  // False in a recording, whose trace would not hold what gdb changed.
  bool may_write(const char* what);
  void warn_divergence(const char* what);

  ReplayController& controller_;
  RegisterMap registers_;
  std::string target_xml_;
  Connection* connection_ = nullptr;
  Stop last_stop_{Stop::Kind::kStep};
  bool changed_state_ = false; // gdb wrote registers or memory since the last resume
  std::optional<End> end_;
};

} // namespace rrvm::gdb
