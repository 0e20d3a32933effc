#include "debugger/serve_gdb.h"

#include <iostream>

#include "debugger/gdb_connection.h"
#include "debugger/gdb_listener.h"
#include "debugger/gdb_server.h"
#include "debugger/replay_controller.h"
#include "vmm/error.h"

namespace rrvm {

int serve_gdb(const std::string& trace_path, ReplayOptions options, const std::string& address) {
  const gdb::ReplayController* controller_ptr = nullptr;
  auto sink = std::move(options.serial_output);
  options.serial_output = [&controller_ptr, &sink](uint8_t byte) {
    if (sink && !(controller_ptr && controller_ptr->replaying_covered_ground())) sink(byte);
  };
  ReplaySession session(trace_path, std::move(options));
  gdb::ReplayController controller(session);
  controller_ptr = &controller;
  gdb::GdbServer server(controller.session().header(), controller);

  gdb::Listener listener(address);
  std::cerr << "rrvm: waiting for gdb on " << listener.name() << std::endl;
  gdb::Connection connection(listener.accept(), listener.fd());
  const gdb::GdbServer::End end = server.serve(connection);

  gdb::Stop last{gdb::Stop::Kind::kStep};
  if (end == gdb::GdbServer::End::kDetached)
    last = controller.run_detached(); // gdb let go: the replay runs on to its end
  else
    last = controller.final_stop().value_or(last);
  if (last.kind == gdb::Stop::Kind::kExited) return last.status;
  if (last.kind == gdb::Stop::Kind::kFailed) {
    std::cerr << "rrvm: " << last.message << "\n";
    return static_cast<int>(last.failure);
  }
  return 0;
}

} // namespace rrvm
