// SPDX-License-Identifier: MIT
// TLS on the one port: https and wss with a certificate made for the test, plain HTTP limited
// to the probes, and certificates OpenSSL cannot use refused at start-up.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cstdio>
#include <fstream>

#include "server/net.hpp"
#include "support/test_server.hpp"

namespace taskwire::test {
namespace {

namespace ssl = boost::asio::ssl;
using tls_stream = ssl::stream<beast::tcp_stream>;

struct cert_files {
  std::string cert, key;
};

// A P-256 key and a self-signed certificate for 127.0.0.1, written as PEM into `dir`.
cert_files make_self_signed(const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, pkey);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* san = X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, "IP:127.0.0.1");
  X509_add_ext(x, san, -1);
  X509_EXTENSION_free(san);
  X509_sign(x, pkey, EVP_sha256());
  cert_files f{(dir / "cert.pem").string(), (dir / "key.pem").string()};
  FILE* c = std::fopen(f.cert.c_str(), "w");
  PEM_write_X509(c, x);
  std::fclose(c);
  FILE* k = std::fopen(f.key.c_str(), "w");
  PEM_write_PrivateKey(k, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(k);
  X509_free(x);
  EVP_PKEY_free(pkey);
  return f;
}

// A client context that trusts exactly the test's certificate and checks the address in it.
ssl::context client_context(const cert_files& f) {
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(f.cert);
  ctx.set_verify_mode(ssl::verify_peer);
  return ctx;
}

void connect_tls(tls_stream& s, std::uint16_t port) {
  beast::get_lowest_layer(s).expires_after(std::chrono::seconds(10));
  beast::get_lowest_layer(s).connect({net::ip::make_address("127.0.0.1"), port});
  s.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
  s.handshake(ssl::stream_base::client);
}

http::response<http::string_body> https_get(ssl::context& ctx, std::uint16_t port,
                                            const std::string& target) {
  net::io_context ioc;
  tls_stream s(ioc, ctx);
  connect_tls(s, port);
  http::request<http::empty_body> req(http::verb::get, target, 11);
  req.set(http::field::host, "127.0.0.1");
  req.keep_alive(false);
  http::write(s, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(s, buf, res);
  return res;
}

class tls_test : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = make_self_signed(std::filesystem::temp_directory_path() /
                              ("taskwire-tls-" + std::to_string(::getpid())));
    srv_ = std::make_unique<test_server>([&](config& c) {
      c.tls_cert = files_.cert;
      c.tls_key = files_.key;
    });
  }
  cert_files files_;
  std::unique_ptr<test_server> srv_;
};

TEST_F(tls_test, HttpsServesEveryRoute) {
  auto ctx = client_context(files_);
  EXPECT_EQ(https_get(ctx, srv_->port(), "/healthz").result_int(), 200u);
  auto m = https_get(ctx, srv_->port(), "/metrics");
  EXPECT_EQ(m.result_int(), 200u);
  EXPECT_NE(m.body().find("taskwire_connections_open"), std::string::npos);
}

TEST_F(tls_test, WssRunsATaskToItsEnd) {
  auto ctx = client_context(files_);
  net::io_context ioc;
  websocket::stream<tls_stream> ws(ioc, ctx);
  connect_tls(ws.next_layer(), srv_->port());
  ws.handshake("127.0.0.1", "/ws?client_id=secure");
  beast::flat_buffer buf;
  auto next = [&] {
    buf.clear();
    ws.read(buf);
    return nlohmann::json::parse(beast::buffers_to_string(buf.data()));
  };
  EXPECT_EQ(next().at("type"), "hello");
  ws.write(net::buffer(std::string(
      R"({"type":"submit","id":"s","task":"ticker","params":{"count":3,"interval_ms":1}})")));
  std::vector<std::string> types;
  for (;;) {
    auto e = next();
    types.push_back(e.at("type"));
    if (e.at("type") == "finished") {
      EXPECT_EQ(e.at("status"), "succeeded");
      break;
    }
  }
  EXPECT_EQ(types.front(), "accepted");
  EXPECT_EQ(types[1], "started");
  ws.close(websocket::close_code::normal);
}

TEST_F(tls_test, PlainHttpOnTheTlsPortGetsTheProbesOnly) {
  EXPECT_EQ(http_get(srv_->port(), "/healthz").status, 200);
  EXPECT_EQ(http_get(srv_->port(), "/readyz").status, 200);
  EXPECT_EQ(http_get(srv_->port(), "/metrics").status, 403);
  EXPECT_EQ(upgrade_status(srv_->port(), "/ws?client_id=plain"), 403);
}

TEST(TlsConfig, ACertificateOpenSslCannotUseStopsStartUp) {
  auto dir =
      std::filesystem::temp_directory_path() / ("taskwire-badtls-" + std::to_string(::getpid()));
  auto good = make_self_signed(dir / "good");
  auto other = make_self_signed(dir / "other");
  std::ofstream(dir / "junk.pem") << "not a certificate\n";
  auto start = [](std::string cert, std::string key) {
    try {
      test_server srv([&](config& c) {
        c.tls_cert = cert;
        c.tls_key = key;
      });
    } catch (const config_error& e) {
      return std::string(e.what());
    }
    return std::string("started");
  };
  EXPECT_NE(start((dir / "junk.pem").string(), good.key).find("tls_cert"), std::string::npos);
  EXPECT_NE(start(good.cert, (dir / "junk.pem").string()).find("tls_key"), std::string::npos);
  auto mismatch = start(good.cert, other.key);
  EXPECT_NE(mismatch.find("tls_key"), std::string::npos) << mismatch;
  EXPECT_NE(mismatch.find("mismatch"), std::string::npos) << mismatch;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace taskwire::test
