#include "port_guard.hpp"

#include <linux/filter.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/v6_only.hpp>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <vector>

namespace corsd::http {
namespace {

// A listening socket as the kernel's table reports it.
struct TableEntry {
  net::ip::address address;
  bool v6_only = false;
  std::uint32_t inode = 0;
  std::uint16_t port = 0;
};

// Closes a descriptor on every way out.
struct OwnedFd {
  int fd;
  explicit OwnedFd(int d) : fd(d) {}
  ~OwnedFd() {
    if (fd >= 0) ::close(fd);
  }
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
};

net::ip::address address_of(const inet_diag_msg& msg) {
  if (msg.idiag_family == AF_INET) {
    net::ip::address_v4::bytes_type bytes;
    std::memcpy(bytes.data(), msg.id.idiag_src, bytes.size());
    return net::ip::address_v4(bytes);
  }
  net::ip::address_v6::bytes_type bytes;
  std::memcpy(bytes.data(), msg.id.idiag_src, bytes.size());
  return net::ip::address_v6(bytes);
}

// Netlink messages and their attributes are each padded to 4 bytes.
constexpr std::size_t padded(std::size_t length) { return (length + 3) & ~std::size_t{3}; }

// INET_DIAG_SKV6ONLY, which the kernel attaches to every IPv6 entry; the
// attributes follow the message.
bool v6_only_of(const char* attributes, std::size_t length) {
  for (std::size_t at = 0; at + sizeof(rtattr) <= length;) {
    rtattr attr;
    std::memcpy(&attr, attributes + at, sizeof attr);
    if (attr.rta_len < sizeof attr || at + attr.rta_len > length) return false;
    if (attr.rta_type == INET_DIAG_SKV6ONLY && attr.rta_len > sizeof attr) return attributes[at + sizeof attr] != 0;
    at += padded(attr.rta_len);
  }
  return false;
}

// One entry of the dump: a message, then its attributes.
TableEntry entry_of(const char* payload, std::size_t length) {
  inet_diag_msg msg;
  std::memcpy(&msg, payload, sizeof msg);
  const std::size_t rest = length - padded(sizeof msg);
  const bool v6_only = msg.idiag_family == AF_INET6 && v6_only_of(payload + padded(sizeof msg), rest);
  return {address_of(msg), v6_only, msg.idiag_inode, ntohs(msg.id.idiag_sport)};
}

// Asks the kernel for its table of listening TCP sockets of `family`.
bool request_listeners(int netlink, int family, std::uint16_t port) {
  struct {
    nlmsghdr header;
    inet_diag_req_v2 body;
  } request{};
  request.header.nlmsg_len = sizeof request;
  request.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  request.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  request.body.sdiag_family = static_cast<std::uint8_t>(family);
  request.body.sdiag_protocol = IPPROTO_TCP;
  request.body.idiag_states = 1U << TCP_LISTEN;
  request.body.id.idiag_sport = htons(port);  // the kernel skips other ports' listeners
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  return ::sendto(netlink, &request, sizeof request, 0, reinterpret_cast<const sockaddr*>(&kernel), sizeof kernel) >= 0;
}

error_code system_error(int number) { return {number, boost::system::system_category()}; }

// The error a NLMSG_DONE or NLMSG_ERROR message carries (a negative errno
// first in its payload; 0 for none).
error_code carried_error(const char* payload, std::size_t length) {
  int number = 0;
  if (length >= sizeof number) std::memcpy(&number, payload, sizeof number);
  return number < 0 ? system_error(-number) : error_code{};
}

// One part of the dump, or the error that ended it; interrupted reads are
// tried again.
ssize_t receive_part(int netlink, std::span<char> buffer) {
  for (;;) {
    // MSG_TRUNC: the part's whole length, even where it did not fit.
    const ssize_t got = ::recv(netlink, buffer.data(), buffer.size(), MSG_TRUNC);
    if (got >= 0 || errno != EINTR) return got;
  }
}

// Adds every listening TCP socket of `family` on `port` to `found`, or says
// why the table could not be read. The dump comes in parts, each of several
// messages, until NLMSG_DONE.
error_code listeners(int family, std::uint16_t port, std::vector<TableEntry>& found) {
  const OwnedFd netlink(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  if (netlink.fd < 0 || !request_listeners(netlink.fd, family, port)) return system_error(errno);
  alignas(nlmsghdr) std::array<char, 32768> buffer;
  for (;;) {
    const ssize_t got = receive_part(netlink.fd, buffer);
    if (got < 0) return system_error(errno);
    if (got == 0) return system_error(EBADMSG);
    if (static_cast<std::size_t>(got) > buffer.size()) return system_error(EMSGSIZE);
    const auto length = static_cast<std::size_t>(got);
    for (std::size_t at = 0; at + sizeof(nlmsghdr) <= length;) {
      nlmsghdr header;
      std::memcpy(&header, buffer.data() + at, sizeof header);
      if (header.nlmsg_len < sizeof header || at + header.nlmsg_len > length) return system_error(EBADMSG);
      const char* body = buffer.data() + at + padded(sizeof header);
      const std::size_t payload = header.nlmsg_len - padded(sizeof header);
      if (header.nlmsg_type == NLMSG_DONE || header.nlmsg_type == NLMSG_ERROR) {
        const error_code ec = carried_error(body, payload);
        return ec || header.nlmsg_type == NLMSG_DONE ? ec : system_error(EBADMSG);
      }
      if (payload >= sizeof(inet_diag_msg)) {
        TableEntry entry = entry_of(body, payload);
        if (entry.port == port) found.push_back(entry);
      }
      at += padded(header.nlmsg_len);
    }
  }
}

// Whether a connection to `ours` could reach `theirs` (corsd's IPv6
// sockets are IPv6-only; anyone else's need not be).
bool overlaps(const net::ip::address& ours, const TableEntry& theirs) {
  const net::ip::address& other = theirs.address;
  if (ours.is_v4() == other.is_v4()) return ours == other || ours.is_unspecified() || other.is_unspecified();
  if (ours.is_v6() || theirs.v6_only) return false;
  const net::ip::address_v6 dual = other.to_v6();
  if (dual.is_unspecified()) return true;
  return dual.is_v4_mapped() && (ours.is_unspecified() || net::ip::make_address_v4(net::ip::v4_mapped, dual) == ours);
}

std::uint32_t inode_of(int fd) {
  struct stat info {};
  return ::fstat(fd, &info) == 0 ? static_cast<std::uint32_t>(info.st_ino) : 0;
}

}  // namespace

error_code port_taken(const tcp::endpoint& endpoint) {
  net::io_context io;
  tcp::acceptor probe(io);
  error_code ec;
  probe.open(endpoint.protocol(), ec);
  if (!ec) probe.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec && endpoint.address().is_v6()) probe.set_option(net::ip::v6_only(true), ec);
  if (!ec) probe.bind(endpoint, ec);
  return ec;
}

error_code foreign_listener(const tcp::endpoint& endpoint, std::span<const int> ours) {
  std::vector<std::uint32_t> our_inodes;
  for (const int fd : ours) our_inodes.push_back(inode_of(fd));
  // corsd's IPv6 sockets are IPv6-only: no IPv4 socket can overlap them.
  const std::vector<int> families =
      endpoint.address().is_v6() ? std::vector<int>{AF_INET6} : std::vector<int>{AF_INET, AF_INET6};
  for (const int family : families) {
    std::vector<TableEntry> entries;
    if (const error_code ec = listeners(family, endpoint.port(), entries)) return ec;
    for (const TableEntry& entry : entries) {
      const bool mine = std::find(our_inodes.begin(), our_inodes.end(), entry.inode) != our_inodes.end();
      if (!mine && overlaps(endpoint.address(), entry)) return make_error_code(boost::system::errc::address_in_use);
    }
  }
  return {};
}

error_code admit_only_first(int fd, unsigned count) {
  if (count == 0) return make_error_code(boost::system::errc::invalid_argument);
  std::array<sock_filter, 3> code = {{
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, static_cast<std::uint32_t>(SKF_AD_OFF + SKF_AD_RANDOM)),
      BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, count),
      BPF_STMT(BPF_RET | BPF_A, 0),
  }};
  sock_fprog program{static_cast<unsigned short>(code.size()), code.data()};
  if (::setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &program, sizeof program) != 0) {
    return system_error(errno);
  }
  return {};
}

}  // namespace corsd::http
