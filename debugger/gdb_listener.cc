#include "debugger/gdb_listener.h"

#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "vmm/error.h"

namespace rrvm::gdb {

Listener::Listener(const std::string& address) {
  const size_t colon = address.rfind(':');
  std::string host = colon == std::string::npos ? "127.0.0.1" : address.substr(0, colon);
  const std::string port_text = colon == std::string::npos ? address : address.substr(colon + 1);
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  unsigned port = 0;
  const auto [end, error] =
      std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  if (port_text.empty() || error != std::errc() || end != port_text.data() + port_text.size() ||
      port > 65535 || inet_pton(AF_INET, host.c_str(), &sa.sin_addr) != 1)
    throw Error(ExitCode::kUsage,
                "bad --gdb address '" + address + "': expected [HOST:]PORT with an IPv4 HOST");
  sa.sin_port = htons(static_cast<uint16_t>(port));
  fd_ = UniqueFd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd_) throw Error(ExitCode::kIo, errno_message("socket", errno));
  const int one = 1;
  ::setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0)
    throw Error(ExitCode::kIo, errno_message("bind " + address, errno));
  // A deep queue: while one gdb is attached, everyone else is accepted only to be turned away
  // (ConnectionRefuser), and a full queue would leave them retrying their SYNs for seconds.
  if (::listen(fd_.get(), SOMAXCONN) != 0)
    throw Error(ExitCode::kIo, errno_message("listen", errno));
  socklen_t length = sizeof sa;
  ::getsockname(fd_.get(), reinterpret_cast<sockaddr*>(&sa), &length);
  name_ = host + ":" + std::to_string(ntohs(sa.sin_port));
}

UniqueFd Listener::accept() {
  for (;;) {
    UniqueFd client(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (client) {
      // Packets are small and answered one at a time: send each at once.
      const int one = 1;
      ::setsockopt(client.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return client;
    }
    if (errno != EINTR) throw Error(ExitCode::kIo, errno_message("accept", errno));
  }
}

} // namespace rrvm::gdb
