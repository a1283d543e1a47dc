// SPDX-License-Identifier: MIT
#include "server/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config/config.hpp"

namespace taskwire {
namespace {

std::string openssl_reason(const boost::system::error_code& ec) {
  // The error_code's message is OpenSSL's; it names the library and the reason.
  return ec.message().empty() ? std::string("unknown OpenSSL error") : ec.message();
}

}  // namespace

std::shared_ptr<ssl::context> make_tls_context(const std::string& cert_file,
                                               const std::string& key_file) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) throw config_error("tls_cert '" + cert_file + "': " + openssl_reason(ec));
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) throw config_error("tls_key '" + key_file + "': " + openssl_reason(ec));
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1)
    throw config_error("tls_key '" + key_file + "' does not belong to tls_cert '" + cert_file +
                       "'");
  return ctx;
}

}  // namespace taskwire
