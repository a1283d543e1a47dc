// SPDX-License-Identifier: MIT
#pragma once
// TLS for the one listening port: Asio's ssl::stream over OpenSSL, under Beast's timeouts.
// (Beast 1.81's ssl_stream cannot take the bytes the TLS detection already read: its buffered
// async_handshake is constrained to the wrong signature.) Included by network .cpp files only.
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>
#include <string>

#include "server/net.hpp"

namespace taskwire {

namespace ssl = boost::asio::ssl;
using tls_stream = ssl::stream<beast::tcp_stream>;

// TLS 1.2 and later, the certificate chain and key from PEM files, the key checked against the
// certificate. Throws config_error naming the file that could not be used.
std::shared_ptr<ssl::context> make_tls_context(const std::string& cert_file,
                                               const std::string& key_file);

}  // namespace taskwire
