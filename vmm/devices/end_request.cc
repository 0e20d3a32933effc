#include "vmm/devices/end_request.h"

#include <cstdio>

namespace rrvm {

std::string describe_reset(const EndRequest& request) {
  char text[128];
  switch (request.cause) {
  case ResetCause::kKeyboardController:
    std::snprintf(text, sizeof text,
                  "the keyboard controller's reset command (0x%02x written to port 0x64)",
                  request.value);
    break;
  case ResetCause::kResetControlRegister:
    std::snprintf(text, sizeof text,
                  "the reset control register (0x%02x written to port 0xcf9: %s)", request.value,
                  request.value & 0x02 ? "hard reset" : "soft reset");
    break;
  }
  return text;
}

void EndRequestLatch::save(StateWriter& out) const {
  out.put<uint8_t>(pending_.has_value());
  const EndRequest r = pending_.value_or(EndRequest::guest_exit(0));
  out.put<uint8_t>(static_cast<uint8_t>(r.kind));
  out.put<int32_t>(r.status);
  out.put<uint8_t>(static_cast<uint8_t>(r.cause));
  out.put<uint8_t>(r.value);
}

void EndRequestLatch::restore(StateReader& in) {
  const bool has = in.get<uint8_t>() != 0;
  EndRequest r;
  r.kind = static_cast<EndRequest::Kind>(in.get<uint8_t>());
  r.status = in.get<int32_t>();
  r.cause = static_cast<ResetCause>(in.get<uint8_t>());
  r.value = in.get<uint8_t>();
  pending_ = has ? std::optional<EndRequest>(r) : std::nullopt;
}

} // namespace rrvm
