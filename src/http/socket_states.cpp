#include "socket_states.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <boost/asio/detail/epoll_reactor.hpp>

namespace corsd::http {

void SocketStates::reserve_block() noexcept {
  using Reactor = net::detail::epoll_reactor;
  const int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  auto& reactor = net::use_service<Reactor>(io_);
  // Registering takes a state from the free list or allocates one; the
  // fd itself is refused by epoll (EPERM), which Asio accepts for files.
  std::array<Reactor::per_descriptor_data, kBlock> states{};
  for (auto& state : states) reactor.register_descriptor(fd, state);
  for (auto& state : states) {
    reactor.deregister_descriptor(fd, state, /*closing=*/true);
    reactor.cleanup_descriptor_data(state);
  }
  ::close(fd);
}

}  // namespace corsd::http
