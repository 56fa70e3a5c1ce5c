#include "corsd/http/handler.hpp"

namespace corsd::http {
namespace {

class SharedHandler final : public Handler {
 public:
  explicit SharedHandler(Handler& target) noexcept : target_(target) {}
  bool streams(const Request& head) override { return target_.streams(head); }
  void handle(const Request& request, Response& response) override { target_.handle(request, response); }
  boost::asio::awaitable<void> stream(Exchange& exchange) override { return target_.stream(exchange); }

 private:
  Handler& target_;
};

}  // namespace

// Only reached by a handler whose streams() said true without overriding
// stream(): no answer, so the connection answers 500.
boost::asio::awaitable<void> Handler::stream(Exchange&) { co_return; }

HandlerFactory share(Handler& handler) {
  return [&handler](WorkerContext&) { return std::make_unique<SharedHandler>(handler); };
}

}  // namespace corsd::http
