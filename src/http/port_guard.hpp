#pragma once
// With several threads, each worker listens on a socket of its own on the
// same port (SO_REUSEPORT) and the kernel spreads connections over them.
// The same option lets any other process of the same user join that group
// and silently take a share of the traffic (measured: 108 answers from one
// server, 92 from another). These checks keep that group corsd's:
// - port_taken() before binding: anyone already listening is refused;
// - foreign_listener() after listening: a server that bound in the moment
//   between the two (two started at once) is found, and both refuse;
// - admit_only_first() then: a socket that joins the group later gets no
//   connection, while all of corsd's sockets are open and nobody replaces
//   the group's program.
// What they cannot stop: a later SO_REUSEPORT socket of the same user on a
// more specific address (127.0.0.1 under corsd's 0.0.0.0) is a group of its
// own, and the kernel prefers it for that address; a process of the same
// user may attach a program of its own to the group; and once corsd closes
// its listeners to drain, the kernel moves a late socket into a freed place,
// where it gets the connections corsd no longer takes.

#include <span>

#include "net.hpp"

namespace corsd::http {

// address_in_use if anyone listens on `endpoint`: a plain bind tells.
error_code port_taken(const tcp::endpoint& endpoint);

// address_in_use if a listening TCP socket other than the descriptors in
// `ours` overlaps `endpoint` (same address, or either is a wildcard), read
// from the kernel's socket table (sock_diag). Any other error says why the
// table could not be read (no netlink in a sandbox, or a systemd unit's
// RestrictAddressFamilies): port_taken() is then all the check there was.
error_code foreign_listener(const tcp::endpoint& endpoint, std::span<const int> ours);

// Has the kernel hand each new connection on `fd`'s SO_REUSEPORT group to
// one of the group's first `count` sockets, at random (a classic BPF
// program on the group). The group's first sockets are the ones that
// listened first: ours, once foreign_listener() found no other. An error
// (a kernel or seccomp filter without it) leaves the group open to a later
// socket; the server still serves, and says so.
error_code admit_only_first(int fd, unsigned count);

}  // namespace corsd::http
