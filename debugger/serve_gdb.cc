#include "debugger/serve_gdb.h"

#include <iostream>

#include "debugger/connection_refuser.h"
#include "debugger/gdb_connection.h"
#include "debugger/gdb_listener.h"
#include "debugger/gdb_server.h"
#include "debugger/replay_controller.h"
#include "vmm/error.h"

namespace rrvm {

namespace {

// Waits for one gdb and serves it. A gdb that goes away without detaching (it crashed, the
// network dropped, the user closed it) is treated as a detach: the machine runs on to its end,
// as it would have had gdb's exit detached cleanly; killing stays explicit.
gdb::Stop serve(gdb::GdbServer& server, gdb::ReplayController& controller, gdb::Listener& listener,
                const std::function<void()>& waiting) {
  if (waiting)
    waiting();
  else
    std::cerr << "rrvm: waiting for gdb on " << listener.name() << std::endl;
  gdb::Connection connection(listener.accept());
  gdb::ConnectionRefuser refuser(listener.fd());
  const gdb::GdbServer::End end = server.serve(connection);
  // Once the replay has ended (gdb saw the guest exit) there is nothing to run on to.
  if (end == gdb::GdbServer::End::kDisconnected && !controller.final_stop())
    std::cerr << "rrvm: gdb disconnected without detaching"
              << (connection.closed_mid_packet() ? " (in the middle of a packet)" : "")
              << "; running on to the end as after a detach\n";
  if (end == gdb::GdbServer::End::kKilled)
    return controller.final_stop().value_or(gdb::Stop{gdb::Stop::Kind::kStep});
  return controller.run_detached();
}

} // namespace

int serve_gdb(const std::string& trace_path, ReplayOptions options, const std::string& address,
              const std::function<int(Machine&)>& at_end) {
  gdb::Listener listener(address);
  return serve_gdb(trace_path, std::move(options), listener, {}, at_end);
}

int serve_gdb(const std::string& trace_path, ReplayOptions options, gdb::Listener& listener,
              const std::function<void()>& waiting, const std::function<int(Machine&)>& at_end) {
  const gdb::ReplayController* controller_ptr = nullptr;
  auto sink = std::move(options.serial_output);
  options.serial_output = [&controller_ptr, &sink](uint8_t byte) {
    if (sink && !(controller_ptr && controller_ptr->replaying_covered_ground())) sink(byte);
  };
  // What a kvm replay hands over to for going backwards: the same trace and output on emu.
  ReplayOptions on_emu = options;
  on_emu.engine = "emu";
  on_emu.emu_translate = kEmuTranslateByDefault;
  auto emu_replay = [trace_path, on_emu] {
    return std::make_unique<ReplaySession>(trace_path, on_emu);
  };
  ReplaySession session(trace_path, std::move(options));
  gdb::ReplayController controller(session, emu_replay);
  controller_ptr = &controller;
  // History queries scan the trace on a replay of their own, whose output the user has seen.
  ReplayOptions quiet = on_emu;
  quiet.serial_output = {};
  auto history_replay = [trace_path, quiet] {
    return std::make_unique<ReplaySession>(trace_path, quiet);
  };
  gdb::GdbServer server(session.header().boot.kernel_kind, controller, history_replay);

  const gdb::Stop last = serve(server, controller, listener, waiting);
  if (last.kind == gdb::Stop::Kind::kExited) {
    const int status = at_end ? at_end(controller.machine()) : 0;
    return status != 0 ? status : last.status;
  }
  if (last.kind == gdb::Stop::Kind::kFailed) {
    std::cerr << "rrvm: " << last.message << "\n";
    return static_cast<int>(last.failure);
  }
  return 0;
}

RunOutcome serve_gdb_live(Machine& machine, KernelKind kernel, bool recording,
                          const std::string& address) {
  gdb::ReplayController controller(machine, recording);
  gdb::GdbServer server(kernel, controller);
  gdb::Listener listener(address);
  serve(server, controller, listener, {});
  if (!controller.final_stop()) return {RunOutcome::Kind::kStopped, 0, "gdb ended the run"};
  return controller.last_outcome();
}

} // namespace rrvm
