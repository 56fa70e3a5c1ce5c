#pragma once
// File: corsd/http/handler.hpp
//
// An application, made once per worker thread. Each request is served one of
// two ways, chosen on its head:
// - buffered (the default): the connection reads the whole body, then calls
//   handle(), which answers from memory into a Response. Pipelined answers
//   go out in one write, and a warm connection allocates nothing.
// - streamed: when streams() says so, the connection hands the exchange to
//   the coroutine stream(), which reads the body in slices and sends the
//   answer in slices (see exchange.hpp). No further pipelined request is
//   parsed until it ends.

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>

#include "corsd/http/exchange.hpp"
#include "corsd/http/request.hpp"
#include "corsd/http/response.hpp"
#include "corsd/http/worker_context.hpp"

namespace corsd::http {

class Handler {
 public:
  virtual ~Handler() = default;

  // streams()
  //
  // Called with the request's head (no body yet). True hands the request to
  // stream().
  virtual bool streams(const Request& /*head*/) { return false; }

  // handle()
  //
  // Answers a buffered request by calling `response.send()`.
  virtual void handle(const Request& request, Response& response) = 0;

  // stream()
  //
  // Serves a streamed exchange; returns once it has finished or aborted it.
  virtual boost::asio::awaitable<void> stream(Exchange& exchange);

  // cors_for_error()
  //
  // The CORS an answer the connection gives itself after `head` (413 for a
  // body over the limit, 400 for a malformed one) must carry, in `out`:
  // without it a browser shows a CORS error and hides the status. False
  // when none applies.
  virtual bool cors_for_error(const Request& /*head*/, cors::Decision& /*out*/) { return false; }
};

// Makes a worker's handler: called once per worker thread, on the thread
// that builds the server, with that worker's context.
using HandlerFactory = std::function<std::unique_ptr<Handler>(WorkerContext& worker)>;

// share()
//
// A factory whose handlers all forward to `handler`, which must outlive the
// server and only read shared state (the demo's static files).
HandlerFactory share(Handler& handler);

}  // namespace corsd::http
