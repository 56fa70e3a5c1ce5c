#pragma once
// File: corsd/http/detail/tls_context.hpp
//
// What TlsCredentials hold: one OpenSSL context per certificate (the first
// is every listener's, and hands a handshake to another by its SNI name),
// and the session-ticket keys they share; and the context behind
// TlsClientCredentials. Not a public header: it brings in Asio, and only
// the sources of the http and proxy layers include it.

#include <array>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "corsd/http/tls.hpp"

namespace corsd::http {

// Session tickets are sealed with keys that corsd makes at random and
// replaces every kTicketKeyLifetime; the previous kOldTicketKeys still open
// the tickets they sealed (and those clients get a new ticket). A ticket
// thus resumes for at most (1 + kOldTicketKeys) lifetimes, and no key lives
// on after that: a key stolen later opens none of today's sessions.
class TicketKeys {
 public:
  static constexpr std::chrono::hours kTicketKeyLifetime{1};
  static constexpr std::size_t kOldTicketKeys = 2;

  struct Key {
    std::array<unsigned char, 16> name{};
    std::array<unsigned char, 32> cipher{};  // AES-256-CBC
    std::array<unsigned char, 32> mac{};     // HMAC-SHA256
    std::chrono::steady_clock::time_point made{};
  };

  // The key that seals new tickets now (rotated when it is due).
  Key current();
  // The key named `name`, if it is still kept; `is_current` says whether
  // it is the sealing one.
  bool find(const unsigned char* name, Key& key, bool& is_current);

 private:
  void rotate_if_due();

  std::mutex mutex_;       // handshakes on every worker share the keys
  std::vector<Key> keys_;  // newest first
};

struct TlsCredentials::Impl {
  struct Entry {
    std::unique_ptr<boost::asio::ssl::context> context;
    std::vector<std::string> server_names;
    std::string ocsp;  // the DER OCSP response stapled, or empty
  };
  std::vector<Entry> entries;  // entries[0]: the default certificate
  TicketKeys tickets;
  bool http2 = true;  // ALPN offers h2 before http/1.1

  // What every TLS connection starts its handshake with.
  boost::asio::ssl::context& listener_context() noexcept { return *entries.front().context; }
  // The certificate for the SNI name `name`; null: keep the default.
  SSL_CTX* context_for(std::string_view name) noexcept;
  // The entry whose context `ctx` is.
  const Entry* entry_of(const SSL_CTX* ctx) const noexcept;
};

struct TlsClientCredentials::Impl {
  std::unique_ptr<boost::asio::ssl::context> context;
};

// expect_server_name()
//
// Makes a client connection's handshake ask for `host` (SNI, for a name)
// and accept only a certificate issued for it: OpenSSL's own name or IP
// address check, whose failure names itself ("hostname mismatch").
void expect_server_name(SSL* ssl, const std::string& host);

// handshake_failure()
//
// Why a client handshake failed: the certificate check's reason when that
// failed ("unable to get local issuer certificate"), else `fallback`.
std::string handshake_failure(SSL* ssl, const std::string& fallback);

}  // namespace corsd::http
