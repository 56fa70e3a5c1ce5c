// <linux/tcp.h> has the whole struct tcp_info; glibc's <netinet/tcp.h> stops
// before tcpi_data_segs_in, and the two cannot be included together.
#include "tcp_info.hpp"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace corsd::test {

std::int64_t data_segments_in(int fd) {
  tcp_info info{};
  socklen_t len = sizeof info;
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0) return -1;
  return info.tcpi_data_segs_in;
}

}  // namespace corsd::test
