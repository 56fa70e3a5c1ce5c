#include "corsd/http/tls.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/ip/address.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "corsd/cors/detail/token.hpp"
#include "corsd/http/detail/tls_context.hpp"

namespace corsd::http {
namespace {

namespace ssl = boost::asio::ssl;

// Mozilla's "intermediate" list for TLS 1.2: forward secrecy and AEAD
// ciphers only. TLS 1.3's suites are OpenSSL's defaults, all of them modern.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
// What ALPN offers, in OpenSSL's length-prefixed form, the preferred first.
constexpr unsigned char kAlpnHttp2[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
constexpr unsigned char kAlpnHttp1[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
constexpr std::size_t kMaxPemBytes = 1024 * 1024;

struct Owned {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
  void operator()(X509* x) const noexcept { X509_free(x); }
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
template <typename T>
using Ptr = std::unique_ptr<T, Owned>;

std::string openssl_reason() {
  const unsigned long e = ERR_peek_last_error();
  const char* reason = e ? ERR_reason_error_string(e) : nullptr;
  ERR_clear_error();
  return reason ? reason : "unknown OpenSSL error";
}

// The file's bytes, or why it cannot be read.
bool read_file(const std::string& path, std::string& out, std::string& error) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    error = path + ": cannot read it: " + std::strerror(errno);
    return false;
  }
  out.resize(kMaxPemBytes + 1);
  out.resize(std::fread(out.data(), 1, out.size(), f));
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) error = path + ": cannot read it: " + std::strerror(errno);
  if (!failed && out.size() > kMaxPemBytes) error = path + ": over 1 MiB, which no certificate chain or key is";
  return error.empty();
}

Ptr<BIO> memory_bio(const std::string& data) {
  return Ptr<BIO>(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

std::string asn1_time_text(const ASN1_TIME* t) {
  Ptr<BIO> bio(BIO_new(BIO_s_mem()));
  ASN1_TIME_print(bio.get(), t);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

int no_passphrase(char*, int, int, void*) { return 0; }

// The leaf certificate and its chain into `ctx`; the leaf's validity dates
// into `warnings`.
bool use_chain(SSL_CTX* ctx, const std::string& path, std::string& error, std::vector<std::string>& warnings) {
  std::string pem;
  if (!read_file(path, pem, error)) return false;
  const Ptr<BIO> bio = memory_bio(pem);
  Ptr<X509> leaf(PEM_read_bio_X509_AUX(bio.get(), nullptr, no_passphrase, nullptr));
  if (!leaf) {
    error = path + ": holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\"): " + openssl_reason();
    return false;
  }
  if (X509_cmp_current_time(X509_get0_notAfter(leaf.get())) <= 0) {
    warnings.push_back(path + ": the certificate expired on " + asn1_time_text(X509_get0_notAfter(leaf.get())) +
                       "; browsers refuse it: renew it");
  } else if (X509_cmp_current_time(X509_get0_notBefore(leaf.get())) >= 0) {
    warnings.push_back(path + ": the certificate is not valid before " +
                       asn1_time_text(X509_get0_notBefore(leaf.get())) + "; browsers refuse it until then");
  }
  if (SSL_CTX_use_certificate(ctx, leaf.get()) != 1) {
    error = path + ": the certificate is not usable: " + openssl_reason();
    return false;
  }
  while (X509* next = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)) {
    if (SSL_CTX_ctrl(ctx, SSL_CTRL_CHAIN_CERT, 0, next) != 1) {  // SSL_CTX_add0_chain_cert: takes `next` on success
      X509_free(next);
      error = path + ": a certificate of the chain is not usable: " + openssl_reason();
      return false;
    }
  }
  ERR_clear_error();  // the end of the file, reported as an error
  return true;
}

bool use_key(SSL_CTX* ctx, const TlsCertificate& c, std::string& error) {
  std::string pem;
  if (!read_file(c.key_file, pem, error)) return false;
  if (pem.find("ENCRYPTED") != std::string::npos) {
    error = c.key_file +
            ": the key is encrypted with a passphrase, and corsd starts unattended: store it decrypted, readable by "
            "corsd alone (openssl pkey -in KEY -out KEY.plain)";
    return false;
  }
  const Ptr<BIO> bio = memory_bio(pem);
  Ptr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) {
    error = c.key_file + ": holds no PEM private key (\"-----BEGIN PRIVATE KEY-----\"): " + openssl_reason();
    return false;
  }
  if (SSL_CTX_use_PrivateKey(ctx, key.get()) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    error = c.key_file + ": the key does not belong to the certificate in " + c.cert_file +
            ": give the key the certificate was issued for";
    return false;
  }
  return true;
}

// Where a context keeps its Impl for the callbacks. Not the "app data"
// slot: Asio's ssl::context keeps its verify callback there, and deletes it.
int impl_index() {
  static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

TlsCredentials::Impl* impl_of(SSL* s) {
  return static_cast<TlsCredentials::Impl*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(s), impl_index()));
}

int on_server_name(SSL* s, int*, void*) {
  const char* name = SSL_get_servername(s, TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_OK;  // no SNI: the default certificate
  if (SSL_CTX* chosen = impl_of(s)->context_for(name)) SSL_set_SSL_CTX(s, chosen);
  return SSL_TLSEXT_ERR_OK;
}

int on_alpn(SSL* s, const unsigned char** out, unsigned char* out_length, const unsigned char* offered,
            unsigned int offered_length, void*) {
  const bool http2 = impl_of(s)->http2;
  const unsigned char* ours = http2 ? kAlpnHttp2 : kAlpnHttp1;
  const unsigned int ours_length = http2 ? sizeof kAlpnHttp2 : sizeof kAlpnHttp1;
  unsigned char* chosen = nullptr;
  // The server's order decides (the first of ours the client offers).
  if (SSL_select_next_proto(&chosen, out_length, ours, ours_length, offered, offered_length) !=
      OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;  // nothing in common: HTTP/1.1 without ALPN
  }
  *out = chosen;
  return SSL_TLSEXT_ERR_OK;
}

// OpenSSL's status hook: staples the certificate's OCSP response for a
// client that asked for one.
int on_status_request(SSL* s, void*) {
  if (SSL_ctrl(s, SSL_CTRL_GET_TLSEXT_STATUS_REQ_TYPE, 0, nullptr) != TLSEXT_STATUSTYPE_ocsp)
    return SSL_TLSEXT_ERR_NOACK;
  const TlsCredentials::Impl::Entry* entry = impl_of(s)->entry_of(SSL_get_SSL_CTX(s));
  if (entry == nullptr || entry->ocsp.empty()) return SSL_TLSEXT_ERR_NOACK;
  // OpenSSL frees what it is given: each handshake gets a copy.
  auto* copy = static_cast<unsigned char*>(OPENSSL_malloc(entry->ocsp.size()));
  if (copy == nullptr) return SSL_TLSEXT_ERR_NOACK;
  std::memcpy(copy, entry->ocsp.data(), entry->ocsp.size());
  SSL_ctrl(s, SSL_CTRL_SET_TLSEXT_STATUS_REQ_OCSP_RESP, static_cast<long>(entry->ocsp.size()), copy);
  return SSL_TLSEXT_ERR_OK;
}

struct OcspFree {
  void operator()(OCSP_RESPONSE* r) const noexcept { OCSP_RESPONSE_free(r); }
  void operator()(OCSP_BASICRESP* r) const noexcept { OCSP_BASICRESP_free(r); }
};

// The OCSP response in `c.ocsp_file`, checked: a successful response that
// says "good" and is still current. A stale or revoking one is not
// stapled (a browser would take it against the certificate): a warning.
bool load_ocsp(const TlsCertificate& c, std::string& out, std::string& error, std::vector<std::string>& warnings) {
  if (c.ocsp_file.empty()) return true;
  std::string der;
  if (!read_file(c.ocsp_file, der, error)) return false;
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  std::unique_ptr<OCSP_RESPONSE, OcspFree> response(d2i_OCSP_RESPONSE(nullptr, &p, static_cast<long>(der.size())));
  if (!response || OCSP_response_status(response.get()) != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
    ERR_clear_error();
    error = c.ocsp_file + ": not a successful DER OCSP response (openssl ocsp ... -respout FILE makes one)";
    return false;
  }
  std::unique_ptr<OCSP_BASICRESP, OcspFree> basic(OCSP_response_get1_basic(response.get()));
  OCSP_SINGLERESP* single = basic ? OCSP_resp_get0(basic.get(), 0) : nullptr;
  int reason = 0;
  ASN1_GENERALIZEDTIME *revoked = nullptr, *this_update = nullptr, *next_update = nullptr;
  const int status = single ? OCSP_single_get0_status(single, &reason, &revoked, &this_update, &next_update)
                            : V_OCSP_CERTSTATUS_UNKNOWN;
  if (status != V_OCSP_CERTSTATUS_GOOD) {
    warnings.push_back(c.ocsp_file + ": the OCSP response does not say the certificate is good; it is not stapled");
    return true;
  }
  if (next_update != nullptr && X509_cmp_current_time(next_update) <= 0) {
    warnings.push_back(c.ocsp_file + ": the OCSP response was due for renewal on " + asn1_time_text(next_update) +
                       "; it is not stapled: fetch a new one, then reload");
    return true;
  }
  out = std::move(der);
  return true;
}

bool set_ticket_mac(EVP_MAC_CTX* mac, TicketKeys::Key& key) {
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, key.mac.data(), key.mac.size()),
                               OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
  return EVP_MAC_CTX_set_params(mac, params) == 1;
}

// OpenSSL's ticket hook: 1 sealed or opened; 2 opened with an older key
// (the client gets a new ticket); 0 unknown key (a full handshake); -1 error.
int on_ticket(SSL* s, unsigned char name[16], unsigned char iv[EVP_MAX_IV_LENGTH], EVP_CIPHER_CTX* cipher,
              EVP_MAC_CTX* mac, int seal) {
  TicketKeys& keys = impl_of(s)->tickets;
  TicketKeys::Key key;
  if (seal == 1) {
    key = keys.current();
    if (RAND_bytes(iv, 16) != 1) return -1;
    std::memcpy(name, key.name.data(), key.name.size());
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.cipher.data(), iv) != 1) return -1;
    return set_ticket_mac(mac, key) ? 1 : -1;
  }
  bool is_current = false;
  if (!keys.find(name, key, is_current)) return 0;
  if (EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.cipher.data(), iv) != 1) return -1;
  if (!set_ticket_mac(mac, key)) return -1;
  return is_current ? 1 : 2;
}

bool name_matches(std::string_view pattern, std::string_view name) {
  if (pattern.starts_with("*.")) {
    const std::size_t dot = name.find('.');  // a wildcard stands for one label
    return dot != std::string_view::npos && dot > 0 && cors::ascii_iequals(name.substr(dot), pattern.substr(1));
  }
  return cors::ascii_iequals(pattern, name);
}

// What every context of corsd's has, server's and client's: TLS 1.2 and
// 1.3, modern ciphers, no renegotiation (a CPU drain a peer can trigger),
// no compression (CRIME), record buffers given back while idle.
void use_modern_tls(SSL_CTX* ctx) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_cipher_list(ctx, kTls12Ciphers);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
}

std::unique_ptr<ssl::context> make_context(TlsCredentials::Impl& impl) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  use_modern_tls(ctx);
  // Resumption by ticket only: no session cache shared (and locked) by
  // every worker.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_timeout(ctx, static_cast<long>(std::chrono::seconds(TicketKeys::kTicketKeyLifetime).count() *
                                             (1 + TicketKeys::kOldTicketKeys)));
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, on_ticket);
  // The macro for this casts C-style; its function, with the cast spelled out.
  SSL_CTX_callback_ctrl(ctx, SSL_CTRL_SET_TLSEXT_SERVERNAME_CB, reinterpret_cast<void (*)()>(on_server_name));
  SSL_CTX_set_alpn_select_cb(ctx, on_alpn, nullptr);
  SSL_CTX_callback_ctrl(ctx, SSL_CTRL_SET_TLSEXT_STATUS_REQ_CB, reinterpret_cast<void (*)()>(on_status_request));
  SSL_CTX_set_ex_data(ctx, impl_index(), &impl);
  return context;
}

}  // namespace

TicketKeys::Key TicketKeys::current() {
  const std::lock_guard lock(mutex_);
  rotate_if_due();
  return keys_.front();
}

bool TicketKeys::find(const unsigned char* name, Key& key, bool& is_current) {
  const std::lock_guard lock(mutex_);
  rotate_if_due();
  for (std::size_t i = 0; i < keys_.size(); ++i) {
    if (std::memcmp(keys_[i].name.data(), name, keys_[i].name.size()) == 0) {
      key = keys_[i];
      is_current = i == 0;
      return true;
    }
  }
  return false;
}

void TicketKeys::rotate_if_due() {
  const auto now = std::chrono::steady_clock::now();
  if (!keys_.empty() && now - keys_.front().made < kTicketKeyLifetime) return;
  Key key;
  key.made = now;
  if (RAND_bytes(key.name.data(), key.name.size()) != 1 || RAND_bytes(key.cipher.data(), key.cipher.size()) != 1 ||
      RAND_bytes(key.mac.data(), key.mac.size()) != 1) {
    if (!keys_.empty()) return;  // keep sealing with the last good key rather than none
  }
  keys_.insert(keys_.begin(), key);
  if (keys_.size() > 1 + kOldTicketKeys) keys_.pop_back();
}

const TlsCredentials::Impl::Entry* TlsCredentials::Impl::entry_of(const SSL_CTX* ctx) const noexcept {
  for (const Entry& e : entries) {
    if (e.context->native_handle() == ctx) return &e;
  }
  return nullptr;
}

SSL_CTX* TlsCredentials::Impl::context_for(std::string_view name) noexcept {
  for (std::size_t i = 1; i < entries.size(); ++i) {
    for (const std::string& pattern : entries[i].server_names) {
      if (name_matches(pattern, name)) return entries[i].context->native_handle();
    }
  }
  return nullptr;
}

TlsLoad TlsCredentials::load(std::span<const TlsCertificate> certificates, bool http2) {
  TlsLoad result;
  if (certificates.empty()) {
    result.error = "no certificate: give --tls-cert and --tls-key";
    return result;
  }
  auto impl = std::make_unique<Impl>();
  impl->http2 = http2;
  for (const TlsCertificate& c : certificates) {
    Impl::Entry entry{make_context(*impl), c.server_names, {}};
    SSL_CTX* ctx = entry.context->native_handle();
    if (!use_chain(ctx, c.cert_file, result.error, result.warnings) || !use_key(ctx, c, result.error) ||
        !load_ocsp(c, entry.ocsp, result.error, result.warnings)) {
      return result;
    }
    impl->entries.push_back(std::move(entry));
  }
  result.credentials = std::shared_ptr<const TlsCredentials>(new TlsCredentials(std::move(impl)));
  return result;
}

TlsCredentials::TlsCredentials(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsCredentials::~TlsCredentials() = default;

TlsClientLoad TlsClientCredentials::load(const TlsClientConfig& config) {
  TlsClientLoad result;
  auto impl = std::make_unique<Impl>();
  impl->context = std::make_unique<ssl::context>(ssl::context::tls_client);
  SSL_CTX* ctx = impl->context->native_handle();
  use_modern_tls(ctx);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (config.ca_file.empty()) {
    SSL_CTX_set_default_verify_paths(ctx);
  } else {
    std::string pem;
    if (!read_file(config.ca_file, pem, result.error)) return result;
    const Ptr<BIO> bio = memory_bio(pem);
    X509_STORE* store = SSL_CTX_get_cert_store(ctx);
    int added = 0;
    while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr)) {
      added += X509_STORE_add_cert(store, ca) == 1 ? 1 : 0;
      X509_free(ca);  // the store keeps its own reference
    }
    ERR_clear_error();
    if (added == 0) {
      result.error = config.ca_file + ": holds no PEM certificate (\"-----BEGIN CERTIFICATE-----\") to trust";
      return result;
    }
  }
  if (config.cert_file.empty() != config.key_file.empty()) {
    result.error = config.cert_file.empty() ? config.key_file + ": a client key without its certificate"
                                            : config.cert_file + ": a client certificate without its key";
    return result;
  }
  if (!config.cert_file.empty() && (!use_chain(ctx, config.cert_file, result.error, result.warnings) ||
                                    !use_key(ctx, {config.cert_file, config.key_file, {}, {}}, result.error))) {
    return result;
  }
  result.credentials = std::shared_ptr<const TlsClientCredentials>(new TlsClientCredentials(std::move(impl)));
  return result;
}

void expect_server_name(SSL* ssl, const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (!ec) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
    return;
  }
  // SNI takes names only (SSL_set_tlsext_host_name, without its C cast).
  SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(host.c_str()));
  SSL_set1_host(ssl, host.c_str());
}

std::string handshake_failure(SSL* ssl, const std::string& fallback) {
  const long verify = SSL_get_verify_result(ssl);
  return verify == X509_V_OK ? fallback : X509_verify_cert_error_string(verify);
}

TlsClientCredentials::TlsClientCredentials(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
TlsClientCredentials::~TlsClientCredentials() = default;

}  // namespace corsd::http
