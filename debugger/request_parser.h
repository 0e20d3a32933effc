// gdb's packet payloads parsed into typed requests. Any text parses: what the stub does not know
// is Unsupported, a known request with bad arguments is Malformed.
#pragma once

#include <string_view>

#include "debugger/gdb_request.h"

namespace rrvm::gdb {

Request parse_request(std::string_view payload);

} // namespace rrvm::gdb
