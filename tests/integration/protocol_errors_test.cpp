// SPDX-License-Identifier: MIT
// Bad input gets an error reply and nothing else: the connection and other tasks go on.
#include <gtest/gtest.h>

#include "support/test_server.hpp"

namespace taskwire::test {
namespace {

struct bad_case {
  std::string text;
  std::string code;
};

TEST(BadInput, EveryBadMessageGetsItsErrorAndTheConnectionStays) {
  test_server srv;
  auto c = srv.connect("alice");
  auto tid = submit(*c, {{"count", 5}, {"interval_ms", 40}}, "ticker", "long");
  std::string deep = std::string(65, '[') + std::string(65, ']');
  std::vector<bad_case> cases = {
      {"not json", "bad_message"},
      {"[1,2]", "bad_message"},
      {"\"text\"", "bad_message"},
      {R"({"id":"x"})", "bad_message"},
      {R"({"type":5,"id":"x"})", "bad_message"},
      {R"({"type":"launch","id":"x"})", "bad_message"},
      {R"({"type":"submit","id":7})", "bad_message"},
      // Refused before parsing, so its id cannot be read back.
      {R"({"type":"submit","id":"d","a":)" + deep + "}", "bad_message"},
      {R"({"type":"submit","id":"x","task":"nope"})", "unknown_task"},
      {R"({"type":"submit","id":"x"})", "unknown_task"},
      {R"({"type":"submit","id":"x","task":"ticker","params":[1]})", "invalid_params"},
      {R"({"type":"submit","id":"x","task":"ticker","params":{}})", "invalid_params"},
      {R"({"type":"submit","id":"x","task":"ticker","params":{"count":"5"}})", "invalid_params"},
      {R"({"type":"submit","id":"x","task":"ticker","params":{"count":1.5}})", "invalid_params"},
      {R"({"type":"submit","id":"x","task":"ticker","params":{"count":true}})", "invalid_params"},
      {R"({"type":"submit","id":"x","task":"ticker","params":{"count":-1}})", "invalid_params"},
      {R"({"type":"submit","id":"x","task":"ticker","params":{"count":1000001}})",
       "invalid_params"},
      {R"({"type":"submit","id":"x","task":"ticker","params":{"count":5,"interval_ms":60001}})",
       "invalid_params"},
      {R"({"type":"submit","id":"x","task":"ticker","params":{"count":5,"fail_at":0}})",
       "invalid_params"},
      {R"({"type":"submit","id":"x","task":"ticker","params":{"count":5,"fail_at":6}})",
       "invalid_params"},
      {R"({"type":"submit","id":"x","task":"ticker","params":{"count":5},"timeout_ms":0})",
       "invalid_params"},
      {R"({"type":"submit","id":"x","task":"ticker","params":{"count":5},"timeout_ms":"9"})",
       "invalid_params"},
      {R"({"type":"cancel","id":"x"})", "invalid_params"},
      {R"({"type":"cancel","id":"x","task_id":"t-nope"})", "not_found"},
      {R"({"type":"resume","id":"x","task_id":"t-nope"})", "not_found"},
      {R"({"type":"resume","id":"x","task_id":")" + tid + R"(","after_seq":-1})", "invalid_params"},
      {R"({"type":"resume","id":"x","task_id":")" + tid + R"(","after_seq":1.5})",
       "invalid_params"},
  };
  for (const auto& bc : cases) {
    c->send_text(bc.text);
    auto e = c->next_of("error");
    ASSERT_TRUE(e) << bc.text;
    EXPECT_EQ(e->at("code"), bc.code) << bc.text;
    EXPECT_FALSE(e->at("message").get<std::string>().empty());
    // The id is echoed when the message had a readable one.
    if (bc.text.find(R"("id":"x")") != std::string::npos) {
      EXPECT_EQ(e->value("id", ""), "x") << bc.text;
    }
  }
  c->send_binary("\x01\x02");
  auto e = c->next_of("error");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->at("code"), "bad_message");

  // The task submitted before all that still ends normally, and a new one is accepted.
  auto fin = c->next_of("finished");
  ASSERT_TRUE(fin);
  EXPECT_EQ(fin->at("task_id"), tid);
  EXPECT_EQ(fin->at("status"), "succeeded");
  EXPECT_FALSE(submit(*c, {{"count", 1}}, "ticker", "after").empty());
}

TEST(BadInput, FragmentedMessageWithinTheLimitIsOneMessage) {
  test_server srv([](config& c) { c.max_message_bytes = 4096; });
  auto c = srv.connect("alice");
  c->send_fragments({R"({"type":"ta)", R"(sks","id":"f"})"});
  EXPECT_TRUE(c->next_of("tasks", "f"));
}

TEST(BadInput, UnknownFieldsAreIgnored) {
  test_server srv;
  auto c = srv.connect("alice");
  c->send_json({{"type", "submit"},
                {"id", "r"},
                {"task", "ticker"},
                {"extra", {1, 2}},
                {"params", {{"count", 1}, {"colour", "blue"}}}});
  EXPECT_TRUE(c->next_of("accepted", "r"));
}

TEST(BadInput, NestingOfExactly64LevelsIsAccepted) {
  test_server srv;
  auto c = srv.connect("alice");
  // The message object is level 1, so 63 more levels are allowed.
  std::string nested = std::string(63, '[') + std::string(63, ']');
  c->send_text(R"({"type":"tasks","id":"d","pad":)" + nested + "}");
  auto r = c->next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->at("type"), "tasks");
}

TEST(BadInput, OversizedMessageClosesWith1009AndHarmsNoOneElse) {
  test_server srv([](config& c) { c.max_message_bytes = 4096; });
  auto other = srv.connect("bob");
  auto tid = submit(*other, {{"count", 4}, {"interval_ms", 30}});
  auto c = srv.connect("alice");
  c->send_text(R"({"type":"tasks","pad":")" + std::string(5000, 'x') + "\"}");
  auto code = c->wait_closed();
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 1009);
  auto fin = other->next_of("finished");
  ASSERT_TRUE(fin);
  EXPECT_EQ(fin->at("status"), "succeeded");
  // The server still takes new connections.
  auto again = srv.connect("alice");
  again->send_json({{"type", "tasks"}, {"id", "t"}});
  EXPECT_TRUE(again->next_of("tasks", "t"));
}

TEST(BadInput, FragmentedOversizedMessageIsStillRefused) {
  // The limit is on the whole message; Beast counts fragments together.
  test_server srv([](config& c) { c.max_message_bytes = 4096; });
  auto c = srv.connect("alice");
  c->send_fragments({std::string(2000, ' '), std::string(2000, ' '), std::string(97, ' ')});
  auto code = c->wait_closed();
  ASSERT_TRUE(code);
  EXPECT_EQ(*code, 1009);
}

}  // namespace
}  // namespace taskwire::test
