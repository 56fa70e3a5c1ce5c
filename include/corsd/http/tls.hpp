#pragma once
// File: corsd/http/tls.hpp
//
// The certificates a TLS listener presents, loaded and checked once (at
// start, and again on each reload): TLS 1.2 and 1.3 only, a modern cipher
// list, session tickets whose keys rotate, the certificate chosen by the
// name the client asks for (SNI). A listener holds the credentials of the
// moment it accepts: a reload gives new handshakes the new certificates,
// and the connections already open keep theirs.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace corsd::http {

// One certificate (PEM, its chain after it) and its private key (PEM,
// unencrypted). `server_names` are the SNI names it answers ("api.example",
// "*.example"); the first certificate also answers every other name.
struct TlsCertificate {
  std::string cert_file;
  std::string key_file;
  std::vector<std::string> server_names;
  // A DER OCSP response for the certificate, stapled to the handshakes of
  // clients that ask (RFC 6066 §8); empty: none. Refreshed by a reload.
  std::string ocsp_file;

  bool operator==(const TlsCertificate&) const = default;
};

// What a TLS client (the proxy, towards https:// upstreams) trusts, and
// the certificate it shows an upstream that asks for one.
struct TlsClientConfig {
  std::string ca_file;    // PEM certificates of the authorities to trust; empty: the system's store
  std::string cert_file;  // PEM client certificate; empty: none
  std::string key_file;   // its key

  bool operator==(const TlsClientConfig&) const = default;
};

// What load() gives: the credentials, or the error that refuses them; and
// what deserves a warning but does not refuse (an expired certificate).
template <typename Credentials>
struct TlsLoaded {
  std::shared_ptr<const Credentials> credentials;
  std::string error;  // "/etc/corsd/key.pem: the key does not belong to the certificate in ..."
  std::vector<std::string> warnings;

  bool ok() const noexcept { return credentials != nullptr; }
};

class TlsCredentials;
class TlsClientCredentials;
using TlsLoad = TlsLoaded<TlsCredentials>;
using TlsClientLoad = TlsLoaded<TlsClientCredentials>;

class TlsCredentials {
 public:
  // load()
  //
  // Reads and checks every certificate and key: an unreadable file, a file
  // with no PEM certificate or key, an encrypted key or a key that does not
  // match its certificate is an error naming the file; a certificate that
  // has expired or is not yet valid is a warning. `http2`: ALPN offers
  // "h2" (preferred) besides "http/1.1".
  static TlsLoad load(std::span<const TlsCertificate> certificates, bool http2 = true);

  ~TlsCredentials();
  TlsCredentials(const TlsCredentials&) = delete;
  TlsCredentials& operator=(const TlsCredentials&) = delete;

  // The OpenSSL state behind them (detail/tls_context.hpp).
  struct Impl;
  Impl& impl() const noexcept { return *impl_; }

 private:
  explicit TlsCredentials(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A client's side of TLS: connections verify the server's certificate
// against the authorities (and its name, given by the connection), with
// TLS 1.2 or 1.3.
class TlsClientCredentials {
 public:
  // load()
  //
  // Reads the authorities (the system's store when `ca_file` is empty)
  // and the client certificate, checked as TlsCredentials::load() checks.
  static TlsClientLoad load(const TlsClientConfig& config);

  ~TlsClientCredentials();
  TlsClientCredentials(const TlsClientCredentials&) = delete;
  TlsClientCredentials& operator=(const TlsClientCredentials&) = delete;

  struct Impl;
  Impl& impl() const noexcept { return *impl_; }

 private:
  explicit TlsClientCredentials(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace corsd::http
