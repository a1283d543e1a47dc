// SPDX-License-Identifier: MIT
#include "config/config.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

namespace taskwire {
namespace {

namespace fs = std::filesystem;

class config_test : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("twcfg-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_ / "a");
    fs::create_directories(dir_ / "b");
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string write_file(const std::string& text) {
    auto p = dir_ / "cfg.json";
    std::ofstream(p) << text;
    return p.string();
  }

  loaded_config load(const std::vector<std::string>& args) {
    return load_config(
        args,
        [this](const std::string& n) -> std::optional<std::string> {
          auto it = env_.find(n);
          if (it == env_.end()) return std::nullopt;
          return it->second;
        },
        [this] {
          std::vector<std::string> names;
          for (const auto& [k, v] : env_)
            names.push_back(k);
          return names;
        });
  }

  std::string error_of(const std::vector<std::string>& args) {
    try {
      load(args);
    } catch (const config_error& e) {
      return e.what();
    }
    return "";
  }

  fs::path dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(config_test, DefaultsMatchTheDocs) {
  auto c = load({}).cfg;
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.port, 8765);
  EXPECT_EQ(c.io_threads, 1);
  EXPECT_EQ(c.io_workers, 16);
  EXPECT_GE(c.cpu_workers, 1);
  EXPECT_EQ(c.max_queued, 10000u);
  EXPECT_EQ(c.max_tasks_per_client, 256);
  EXPECT_EQ(c.max_message_bytes, 1u << 20);
  EXPECT_EQ(c.finished_ttl_s, 600);
  EXPECT_FALSE(c.cancel_on_disconnect);
  EXPECT_EQ(c.shutdown_grace_s, 10);
  EXPECT_TRUE(c.auth_token.empty());
  EXPECT_TRUE(c.roots.empty());
}

TEST_F(config_test, FlagsWinOverEnvironmentWhichWinsOverTheFile) {
  auto file =
      write_file(R"({"port": 1111, "host": "0.0.0.0", "io_workers": 3, "log_level": "debug"})");
  env_["TASKWIRE_PORT"] = "2222";
  env_["TASKWIRE_IO_WORKERS"] = "5";
  auto c = load({"--config", file, "--port", "3333"}).cfg;
  EXPECT_EQ(c.port, 3333);
  EXPECT_EQ(c.io_workers, 5);
  EXPECT_EQ(c.host, "0.0.0.0");
  EXPECT_EQ(c.log_level, "debug");
  env_["TASKWIRE_CONFIG"] = file;
  EXPECT_EQ(load({}).cfg.port, 2222) << "TASKWIRE_CONFIG names the file";
}

TEST_F(config_test, FlagForms) {
  auto c =
      load({"--port=4444", "--cancel-on-disconnect", "--token", "t0k", "--shutdown-grace-s", "2.5"})
          .cfg;
  EXPECT_EQ(c.port, 4444);
  EXPECT_TRUE(c.cancel_on_disconnect);
  EXPECT_EQ(c.auth_token, "t0k");
  EXPECT_EQ(c.shutdown_grace_s, 2.5);
  EXPECT_FALSE(load({"--cancel-on-disconnect=false"}).cfg.cancel_on_disconnect);
}

TEST_F(config_test, RootsKeepTheirOrderAndFlagsReplaceTheFilesList) {
  auto a = (dir_ / "a").string(), b = (dir_ / "b").string();
  auto file = write_file(R"({"roots": {"zeta": ")" + b + R"(", "alpha": ")" + a + R"("}})");
  auto c = load({"--config", file}).cfg;
  ASSERT_EQ(c.roots.size(), 2u);
  EXPECT_EQ(c.roots[0].name, "zeta") << "the file's order, not sorted: the first is the default";
  c = load({"--config", file, "--root", "models=" + a + "/../a", "--root", "loras=" + b}).cfg;
  ASSERT_EQ(c.roots.size(), 2u);
  EXPECT_EQ(c.roots[0].name, "models");
  EXPECT_EQ(c.roots[0].path, fs::canonical(a).string());
  env_["TASKWIRE_ROOTS"] = "x=" + a + ",y=" + b;
  c = load({}).cfg;
  ASSERT_EQ(c.roots.size(), 2u);
  EXPECT_EQ(c.roots[1].name, "y");
}

TEST_F(config_test, BadValuesNameTheirSource) {
  EXPECT_NE(error_of({"--port", "abc"}).find("--port"), std::string::npos);
  EXPECT_NE(error_of({"--port", "65536"}).find("--port"), std::string::npos);
  EXPECT_NE(error_of({"--io-threads", "0"}).find("--io-threads"), std::string::npos);
  EXPECT_NE(error_of({"--log-level", "loud"}).find("--log-level"), std::string::npos);
  EXPECT_NE(error_of({"--cancel-on-disconnect=maybe"}).find("--cancel-on-disconnect"),
            std::string::npos);
  EXPECT_NE(error_of({"--nope"}).find("--nope"), std::string::npos);
  EXPECT_NE(error_of({"stray"}).find("stray"), std::string::npos);
  EXPECT_NE(error_of({"--port"}).find("--port"), std::string::npos);
  EXPECT_NE(error_of({"--root", "noequals"}).find("NAME=DIR"), std::string::npos);
  EXPECT_NE(error_of({"--root", "bad name=/tmp"}).find("bad name"), std::string::npos);
  EXPECT_NE(error_of({"--root", "m=" + (dir_ / "missing").string()}).find("'m'"),
            std::string::npos);
  EXPECT_NE(
      error_of({"--root", "m=" + (dir_ / "a").string(), "--root", "m=" + (dir_ / "b").string()})
          .find("twice"),
      std::string::npos);
  env_["TASKWIRE_PORT"] = "x";
  EXPECT_NE(error_of({}).find("TASKWIRE_PORT"), std::string::npos);
  env_.clear();
  env_["TASKWIRE_PROT"] = "1";
  EXPECT_NE(error_of({}).find("TASKWIRE_PROT"), std::string::npos);
}

TEST_F(config_test, TlsNeedsBothReadableFiles) {
  auto cert = write_file("cert");
  EXPECT_NE(error_of({"--tls-cert", cert}).find("tls_key is not"), std::string::npos);
  EXPECT_NE(error_of({"--tls-key", cert}).find("tls_cert is not"), std::string::npos);
  EXPECT_NE(error_of({"--tls-cert", (dir_ / "missing.pem").string(), "--tls-key", cert})
                .find("--tls-cert"),
            std::string::npos);
  auto both = load({"--tls-cert", cert, "--tls-key", cert});
  EXPECT_EQ(both.cfg.tls_cert, cert);
}

TEST_F(config_test, DescriptionSurvivesValuesThatAreNotUtf8) {
  // Found by fuzz_config: a state_dir (any path) with bytes that are not UTF-8 made
  // --print-config throw instead of printing.
  auto lc = load({"--print-config", "--state-dir", "/var/lib/t\xce\xff"});
  std::string text;
  ASSERT_NO_THROW(text = describe_config(lc.cfg));
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j.at("state_dir"), "/var/lib/t\xEF\xBF\xBD\xEF\xBF\xBD");
}

TEST_F(config_test, FileErrorsNameTheKey) {
  EXPECT_NE(error_of({"--config", write_file(R"({"colour": 1})")}).find("colour"),
            std::string::npos);
  EXPECT_NE(error_of({"--config", write_file(R"({"port": "8765"})")}).find("port"),
            std::string::npos);
  EXPECT_NE(error_of({"--config", write_file(R"({"port": 1.5})")}).find("port"), std::string::npos);
  EXPECT_NE(error_of({"--config", write_file("{nope")}).find("not valid JSON"), std::string::npos);
  EXPECT_NE(error_of({"--config", write_file("[]")}).find("object"), std::string::npos);
  EXPECT_NE(error_of({"--config", (dir_ / "absent.json").string()}).find("absent.json"),
            std::string::npos);
}

TEST_F(config_test, TokenFileAndLists) {
  auto tok = dir_ / "token";
  std::ofstream(tok) << "  s3cret\n";
  EXPECT_EQ(load({"--auth-token-file", tok.string()}).cfg.auth_token, "s3cret");
  std::ofstream(dir_ / "empty") << "\n";
  EXPECT_NE(error_of({"--auth-token-file", (dir_ / "empty").string()}).find("no token"),
            std::string::npos);
  EXPECT_NE(error_of({"--auth-token-file", (dir_ / "absent").string()}).find("--auth-token-file"),
            std::string::npos);
  auto c = load({"--allowed-origins", "https://a.example,https://b.example"}).cfg;
  EXPECT_EQ(c.allowed_origins,
            (std::vector<std::string>{"https://a.example", "https://b.example"}));
  EXPECT_NE(
      error_of({"--config", write_file(R"({"allowed_origins": "x"})")}).find("allowed_origins"),
      std::string::npos);
  EXPECT_EQ(load({"--default-task-timeout-ms", "1500"}).cfg.default_task_timeout_ms, 1500);
}

TEST_F(config_test, ActionsAndDescription) {
  EXPECT_EQ(load({"--help"}).action, startup_action::help);
  EXPECT_EQ(load({"--version"}).action, startup_action::version);
  EXPECT_EQ(load({"--help", "--port", "bad"}).action, startup_action::help) << "help never fails";
  auto lc = load({"--print-config", "--token", "secret", "--root", "m=" + (dir_ / "a").string()});
  EXPECT_EQ(lc.action, startup_action::print_config);
  auto text = describe_config(lc.cfg);
  EXPECT_EQ(text.find("secret"), std::string::npos);
  auto j = nlohmann::json::parse(text);
  EXPECT_EQ(j.at("roots").at("m"), fs::canonical(dir_ / "a").string());
  auto usage = usage_text();
  for (auto key : {"--port", "--io-workers", "--max-queued", "--finished-ttl-s", "--root"})
    EXPECT_NE(usage.find(key), std::string::npos) << key;
}

}  // namespace
}  // namespace taskwire
