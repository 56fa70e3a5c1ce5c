#pragma once
// File: corsd/http/detail/drained_read.hpp
//
// async_read_drained(): a read of a TCP socket that tells Asio's reactor when
// it has drained the socket, so that the next read waits for epoll instead of
// first trying a recv() that fails with EAGAIN.
//
// Why: Asio's epoll reactor tries a read at once ("speculatively") whenever
// the socket has been reported readable since its last read of 0 bytes. A
// client that sends a request and waits for the answer has sent nothing when
// the answer has just gone out, so under load every request paid one recv()
// that failed with EAGAIN before the reactor waited: 2.68 system calls per
// preflight against nginx's 2.06.
//
// How: the kernel says, with each read, how much is left (TCP_INQ, Linux
// 4.18: a control message with the bytes still queued, and 1 when nothing
// but the peer's FIN is). A read that leaves nothing reports the socket
// exhausted, which clears the reactor's "try first" flag for reads; epoll's
// next edge (the socket is registered edge-triggered, and whatever arrives
// after this read raises one) sets it again. A FIN that came with the last
// bytes has raised its edge already: TCP_INQ counts it, so the next read
// still tries, and meets the end of the stream. A socket without TCP_INQ
// (report_queued_bytes() failed) gives no count, and every read behaves as
// Asio's own.
//
// A reset that came with the last bytes is not counted (the kernel hands
// the bytes over first, and TCP_INQ says 0), and raises no further edge.
// So only a read at a message boundary (Read::next_message: nothing of the
// next request, or of an upstream's answer, is there yet) may report the
// socket exhausted: the bytes it takes are answered, and the answer's
// write meets the reset. A read inside a message (Read::rest_of_message)
// tries the socket first whatever the reactor's flag says, and never clears
// it: it meets the reset at once, as Asio's own read would.
//
// Everything else is Asio's own read (reactive_socket_service_base::
// async_receive, Boost 1.81): the same operation allocation, completion and
// work tracking. Per-operation cancellation is not supported; the server
// cancels reads by cancelling the socket (Connection::expire()). Not a
// public header: it brings in Asio's internals, and only the sources of the
// http and proxy layers include it.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <boost/asio/detail/bind_handler.hpp>
#include <boost/asio/detail/fenced_block.hpp>
#include <boost/asio/detail/handler_alloc_helpers.hpp>
#include <boost/asio/detail/handler_cont_helpers.hpp>
#include <boost/asio/detail/handler_work.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/socket_ops.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

namespace corsd::http {

// The io_context's epoll reactor: what async_read_drained() reads through.
using Reactor = boost::asio::detail::reactor;

// Where a read stands in the stream it reads (see above).
enum class Read { next_message, rest_of_message };

namespace detail {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

// tcp::socket keeps its descriptor and reactor state in a protected member;
// a pointer to it, taken through a derived class, reads it from any socket.
struct SocketInternals : tcp::socket {
  static constexpr auto kImpl = &SocketInternals::impl_;
};

struct InitiateDrainedRead;

template <typename Handler, typename IoExecutor>
class DrainedReadOp : public net::detail::reactor_op {
 public:
  BOOST_ASIO_DEFINE_HANDLER_PTR(DrainedReadOp);

  DrainedReadOp(net::detail::socket_type socket, net::mutable_buffer buffer, Read where, Handler& handler,
                const IoExecutor& io_ex)
      : reactor_op(error_code(), &DrainedReadOp::do_perform, &DrainedReadOp::do_complete),
        socket_(socket),
        buffer_(buffer),
        may_exhaust_(where == Read::next_message),
        handler_(std::move(handler)),
        work_(handler_, io_ex) {}

  static status do_perform(reactor_op* base) {
    auto* o = static_cast<DrainedReadOp*>(base);
    if (o->tried_) return not_done;  // see InitiateDrainedRead
    iovec iov{o->buffer_.data(), o->buffer_.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    ssize_t n;
    do {
      n = ::recvmsg(o->socket_, &msg, 0);  // the socket is non-blocking (see InitiateDrainedRead)
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return not_done;  // the reactor waits for the next edge
      o->ec_ = error_code(errno, boost::asio::error::get_system_category());
      return done;
    }
    o->bytes_transferred_ = static_cast<std::size_t>(n);
    if (n == 0) {
      o->ec_ = boost::asio::error::eof;
      return done_and_exhausted;
    }
    return o->may_exhaust_ && left_nothing(msg) ? done_and_exhausted : done;
  }

  // Whether TCP_INQ said that nothing, not even a FIN, is left to read.
  static bool left_nothing(msghdr& msg) noexcept {
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_TCP || c->cmsg_type != TCP_CM_INQ) continue;
      int queued = 0;
      std::memcpy(&queued, CMSG_DATA(c), sizeof queued);
      return queued == 0;
    }
    return false;  // no count: more may be there
  }

  static void do_complete(void* owner, net::detail::operation* base, const error_code&, std::size_t) {
    auto* o = static_cast<DrainedReadOp*>(base);
    ptr p = {std::addressof(o->handler_), o, o};
    net::detail::handler_work<Handler, IoExecutor> w(std::move(o->work_));
    // The handler is moved out before the operation's memory is freed: it
    // may own that memory (Asio's rule for every operation).
    net::detail::binder2<Handler, error_code, std::size_t> handler(o->handler_, o->ec_, o->bytes_transferred_);
    p.h = std::addressof(handler.handler_);
    p.reset();
    if (owner) {
      net::detail::fenced_block b(net::detail::fenced_block::half);
      w.complete(handler, handler.handler_);
    }
  }

 private:
  friend struct InitiateDrainedRead;

  net::detail::socket_type socket_;
  net::mutable_buffer buffer_;
  bool may_exhaust_;
  // Set while the reactor takes an operation just tried: its own try would
  // be a second read finding nothing.
  bool tried_ = false;
  Handler handler_;
  net::detail::handler_work<Handler, IoExecutor> work_;
};

struct InitiateDrainedRead {
  template <typename Handler>
  void operator()(Handler&& handler, Reactor* reactor, tcp::socket* socket, net::mutable_buffer buffer,
                  Read where) const {
    using Op = DrainedReadOp<std::decay_t<Handler>, tcp::socket::executor_type>;
    auto& impl = ((*socket).*SocketInternals::kImpl).get_implementation();
    const bool is_continuation = ::boost_asio_handler_cont_helpers::is_continuation(handler);
    typename Op::ptr p = {std::addressof(handler), Op::ptr::allocate(handler), nullptr};
    p.p = new (p.v) Op(impl.socket_, buffer, where, handler, socket->get_executor());
    if ((impl.state_ & net::detail::socket_ops::non_blocking) == 0 &&
        !net::detail::socket_ops::set_internal_non_blocking(impl.socket_, impl.state_, true, p.p->ec_)) {
      reactor->post_immediate_completion(p.p, is_continuation);
    } else if (where == Read::rest_of_message && p.p->perform() != net::detail::reactor_op::not_done) {
      // Tried first, past a flag a boundary read may have cleared.
      reactor->post_immediate_completion(p.p, is_continuation);
    } else {
      // One thread runs the io_context: the operation is only queued here,
      // and performed no sooner than epoll's next report.
      p.p->tried_ = where == Read::rest_of_message;
      Op* op = p.p;
      reactor->start_op(Reactor::read_op, impl.socket_, impl.reactor_data_, op, is_continuation,
                        /*allow_speculative=*/true);
      op->tried_ = false;
    }
    p.v = p.p = nullptr;
  }
};

}  // namespace detail

// report_queued_bytes()
//
// Asks the kernel to tell each read what it left (TCP_INQ), which
// async_read_drained() needs to leave out the failing read. Set on a
// listening socket, it holds for every socket accepted from it. False when
// the kernel cannot: reads then behave as Asio's own.
inline bool report_queued_bytes(int fd) noexcept {
  const int one = 1;
  return ::setsockopt(fd, SOL_TCP, TCP_INQ, &one, sizeof one) == 0;
}

// Reads into `buffer` (which must not be empty) as socket.async_read_some()
// would; `reactor`: the one of the socket's io_context; `where`: whether a
// new message starts here.
template <typename Token>
auto async_read_drained(Reactor& reactor, boost::asio::ip::tcp::socket& socket, boost::asio::mutable_buffer buffer,
                        Read where, Token&& token) {
  return boost::asio::async_initiate<Token, void(boost::system::error_code, std::size_t)>(
      detail::InitiateDrainedRead{}, token, &reactor, &socket, buffer, where);
}

}  // namespace corsd::http
