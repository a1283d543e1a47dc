// SPDX-License-Identifier: MIT
#include "server/protocol.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace taskwire::protocol {
namespace {

using nlohmann::json;

TEST(Parse, ValidMessagesKeepTheirTypeAndId) {
  auto r = parse_client_message(R"({"type":"submit","id":"r1","task":"ticker"})");
  ASSERT_TRUE(r.message);
  EXPECT_EQ(r.message->type, message_type::submit);
  EXPECT_EQ(r.message->id, "r1");
  r = parse_client_message(R"({"type":"tasks"})");
  ASSERT_TRUE(r.message);
  EXPECT_FALSE(r.message->id);
  for (auto [text, type] :
       {std::pair{"cancel", message_type::cancel}, {"resume", message_type::resume}}) {
    auto p = parse_client_message(std::string(R"({"type":")") + text + "\"}");
    ASSERT_TRUE(p.message);
    EXPECT_EQ(p.message->type, type);
  }
}

TEST(Parse, EveryBadShapeIsBadMessage) {
  for (std::string text : {"", "nope", "{", "[]", "1", "null", "\"s\"", R"({"id":"a"})",
                           R"({"type":1})", R"({"type":null})", R"({"type":"fly"})",
                           R"({"type":"tasks","id":5})", R"({"type":"tasks","id":null})"}) {
    auto r = parse_client_message(text);
    EXPECT_FALSE(r.message) << text;
    EXPECT_EQ(r.err.code, "bad_message") << text;
    EXPECT_FALSE(r.err.message.empty());
  }
}

TEST(Parse, IdIsEchoedInErrorsWhenReadable) {
  auto r = parse_client_message(R"({"type":"fly","id":"r9"})");
  EXPECT_EQ(r.id, "r9");
  r = parse_client_message(R"({"id":"r9"})");
  EXPECT_EQ(r.id, "r9");
}

TEST(Parse, DepthLimitIs64WithTheMessageAsLevelOne) {
  auto nest = [](int levels) {
    return R"({"type":"tasks","x":)" + std::string(levels - 1, '[') + std::string(levels - 1, ']') +
           "}";
  };
  EXPECT_TRUE(parse_client_message(nest(64)).message);
  auto r = parse_client_message(nest(65));
  EXPECT_FALSE(r.message);
  EXPECT_EQ(r.err.code, "bad_message");
  EXPECT_NE(r.err.message.find("64"), std::string::npos);
  // Huge nesting is refused before parsing, cheaply.
  EXPECT_FALSE(parse_client_message(std::string(100000, '[')).message);
}

TEST(Parse, BracketsInsideStringsDoNotCount) {
  std::string s = R"({"type":"tasks","x":")" + std::string(100, '[') + R"(\"]"})";
  EXPECT_EQ(json_depth(s, 64), 1);
  EXPECT_TRUE(parse_client_message(s).message);
}

TEST(Integers, OnlyJsonIntegersCount) {
  EXPECT_TRUE(is_integer(json(5)));
  EXPECT_TRUE(is_integer(json(-5)));
  EXPECT_TRUE(is_integer(json::parse("9223372036854775807")));
  EXPECT_FALSE(is_integer(json::parse("18446744073709551615")));
  EXPECT_FALSE(is_integer(json(1.5)));
  EXPECT_FALSE(is_integer(json::parse("1.0")));
  EXPECT_FALSE(is_integer(json(true)));
  EXPECT_FALSE(is_integer(json("5")));
  EXPECT_FALSE(is_integer(json(nullptr)));
}

TEST(Frames, EventsAreValidJsonWithTheirFields) {
  auto p = json::parse(progress("t-1", 3, 7, 10, nullptr));
  EXPECT_EQ(
      p, (json{{"type", "progress"}, {"task_id", "t-1"}, {"seq", 3}, {"done", 7}, {"total", 10}}));
  json extra = {{"bytes", 5}, {"seq", 99}, {"file", "a\"b"}};
  p = json::parse(progress("t-1", 4, 1, std::nullopt, &extra));
  EXPECT_TRUE(p.at("total").is_null());
  EXPECT_EQ(p.at("seq"), 4) << "extra fields cannot override the envelope";
  EXPECT_EQ(p.at("file"), "a\"b");
  auto i = json::parse(item("t-1", 5, json{{"path", "x/y"}}));
  EXPECT_EQ(i.at("item").at("path"), "x/y");
  auto f = json::parse(
      finished("t-1", 6, "failed", "null", error{"task_failed", "bad \"thing\"\n"}, 12));
  EXPECT_EQ(f.at("status"), "failed");
  EXPECT_TRUE(f.at("result").is_null());
  EXPECT_EQ(f.at("error").at("message"), "bad \"thing\"\n");
  EXPECT_EQ(f.at("elapsed_ms"), 12);
  f = json::parse(finished("t-1", 2, "succeeded", R"({"ticks":1})", std::nullopt, 0));
  EXPECT_TRUE(f.at("error").is_null());
  EXPECT_EQ(f.at("result").at("ticks"), 1);
  EXPECT_EQ(json::parse(started("t-1", 1)),
            (json{{"type", "started"}, {"task_id", "t-1"}, {"seq", 1}}));
}

TEST(Frames, RepliesEscapeClientTextAndOmitAnAbsentId) {
  auto e = json::parse(error_reply(std::string("a\"\\\x01"), "bad_message", "msg \"q\""));
  EXPECT_EQ(e.at("id"), "a\"\\\x01");
  EXPECT_EQ(e.at("message"), "msg \"q\"");
  EXPECT_FALSE(json::parse(ok(std::nullopt)).contains("id"));
  EXPECT_EQ(json::parse(accepted("r", "t-1")).at("task_id"), "t-1");
  auto t = json::parse(tasks_reply("q", {{"t-1", "ticker", "running", 4}}));
  EXPECT_EQ(t.at("tasks")[0],
            (json{{"task_id", "t-1"}, {"task", "ticker"}, {"state", "running"}, {"seq", 4}}));
  auto h = json::parse(hello("c", "taskwire/x", {"ticker"}, {"models"}));
  EXPECT_EQ(h.at("protocol"), 1);
  // Invalid UTF-8 from a client never makes an unparseable frame.
  EXPECT_NO_THROW(json::parse(error_reply(std::string("\xff\xfe"), "bad_message", "x")));
}

}  // namespace
}  // namespace taskwire::protocol
