// The target description gdb reads with qXfer:features:read:target.xml: the architecture and
// the registers of a RegisterMap, so gdb numbers them as the server does.
#pragma once

#include <string>

#include "debugger/register_map.h"

namespace rrvm::gdb {

std::string target_description_xml(const RegisterMap& map);

} // namespace rrvm::gdb
