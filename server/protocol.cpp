// SPDX-License-Identifier: MIT
#include "server/protocol.hpp"

#include <charconv>
#include <limits>
#include <nlohmann/json.hpp>

namespace taskwire::protocol {
namespace {

using nlohmann::json;

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, p);
}

// JSON string literal with escaping; client-chosen text always goes through here.
void append_quoted(std::string& out, std::string_view s) {
  out += json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
}

// Our own task ids are [a-z0-9-] only, so they need no escaping on the hot path.
void append_head(std::string& out, std::string_view type, std::string_view task_id,
                 std::uint64_t seq) {
  out += R"({"type":")";
  out += type;
  out += R"(","task_id":")";
  out += task_id;
  out += R"(","seq":)";
  append_uint(out, seq);
}

void append_id(std::string& out, const std::optional<std::string>& id) {
  if (id) {
    out += R"(,"id":)";
    append_quoted(out, *id);
  }
}

parse_result fail(std::optional<std::string> id, std::string message) {
  parse_result r;
  r.id = std::move(id);
  r.err = {"bad_message", std::move(message)};
  return r;
}

}  // namespace

int json_depth(std::string_view text, int limit) {
  int depth = 0, max = 0;
  bool in_string = false, escaped = false;
  for (char ch : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (ch == '\\')
        escaped = true;
      else if (ch == '"')
        in_string = false;
      continue;
    }
    if (ch == '"') {
      in_string = true;
    } else if (ch == '{' || ch == '[') {
      if (++depth > max) max = depth;
      if (max > limit) return max;
    } else if (ch == '}' || ch == ']') {
      --depth;
    }
  }
  return max;
}

bool valid_identifier(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool is_integer(const json& v) {
  if (v.is_number_integer() && !v.is_number_unsigned()) return true;
  return v.is_number_unsigned() &&
         v.get<std::uint64_t>() <=
             static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
}

parse_result parse_client_message(std::string_view text) {
  // Depth first: it bounds the work the parser and the destructor do on hostile input.
  if (json_depth(text, max_depth) > max_depth)
    return fail(std::nullopt, "JSON nested deeper than 64 levels");
  auto doc = std::make_shared<json>(json::parse(text, nullptr, false));
  if (doc->is_discarded()) return fail(std::nullopt, "message is not valid JSON");
  if (!doc->is_object()) return fail(std::nullopt, "message is not a JSON object");

  std::optional<std::string> id;
  if (auto it = doc->find("id"); it != doc->end()) {
    if (!it->is_string()) return fail(std::nullopt, "id must be a string");
    id = it->get<std::string>();
  }
  auto t = doc->find("type");
  if (t == doc->end() || !t->is_string()) return fail(id, "message has no type");
  const auto& type = t->get_ref<const std::string&>();
  client_message m;
  if (type == "submit")
    m.type = message_type::submit;
  else if (type == "cancel")
    m.type = message_type::cancel;
  else if (type == "tasks")
    m.type = message_type::tasks;
  else if (type == "resume")
    m.type = message_type::resume;
  else
    return fail(id, "unknown message type " +
                        json(type).dump(-1, ' ', false, json::error_handler_t::replace));
  m.id = id;
  m.doc = std::move(doc);
  parse_result r;
  r.id = std::move(id);
  r.message = std::move(m);
  return r;
}

std::string hello(const std::string& client_id, const std::string& server,
                  const std::vector<std::string>& tasks, const std::vector<std::string>& roots) {
  json j = {{"type", "hello"},  {"protocol", version}, {"client_id", client_id},
            {"server", server}, {"tasks", tasks},      {"roots", roots}};
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string error_reply(const std::optional<std::string>& id, std::string_view code,
                        std::string_view message) {
  std::string out = R"({"type":"error")";
  append_id(out, id);
  out += R"(,"code":)";
  append_quoted(out, code);
  out += R"(,"message":)";
  append_quoted(out, message);
  out += '}';
  return out;
}

std::string accepted(const std::optional<std::string>& id, std::string_view task_id) {
  std::string out = R"({"type":"accepted")";
  append_id(out, id);
  out += R"(,"task_id":")";
  out += task_id;
  out += R"("})";
  return out;
}

std::string ok(const std::optional<std::string>& id) {
  std::string out = R"({"type":"ok")";
  append_id(out, id);
  out += '}';
  return out;
}

std::string tasks_reply(const std::optional<std::string>& id, const std::vector<task_summary>& ts) {
  std::string out = R"({"type":"tasks")";
  append_id(out, id);
  out += R"(,"tasks":[)";
  for (std::size_t i = 0; i < ts.size(); ++i) {
    if (i) out += ',';
    out += R"({"task_id":")";
    out += ts[i].task_id;
    out += R"(","task":)";
    append_quoted(out, ts[i].task);
    out += R"(,"state":")";
    out += ts[i].state;
    out += R"(","seq":)";
    append_uint(out, ts[i].seq);
    out += '}';
  }
  out += "]}";
  return out;
}

std::string started(std::string_view task_id, std::uint64_t seq) {
  std::string out;
  out.reserve(64);
  append_head(out, "started", task_id, seq);
  out += '}';
  return out;
}

std::string progress(std::string_view task_id, std::uint64_t seq, std::uint64_t done,
                     std::optional<std::uint64_t> total, const json* extra) {
  std::string out;
  out.reserve(96);
  append_head(out, "progress", task_id, seq);
  out += R"(,"done":)";
  append_uint(out, done);
  out += R"(,"total":)";
  if (total)
    append_uint(out, *total);
  else
    out += "null";
  if (extra && extra->is_object()) {
    for (const auto& [k, v] : extra->items()) {
      if (k == "type" || k == "task_id" || k == "seq" || k == "done" || k == "total") continue;
      out += ',';
      append_quoted(out, k);
      out += ':';
      out += v.dump(-1, ' ', false, json::error_handler_t::replace);
    }
  }
  out += '}';
  return out;
}

std::string item(std::string_view task_id, std::uint64_t seq, const json& item) {
  std::string out;
  append_head(out, "item", task_id, seq);
  out += R"(,"item":)";
  out += item.dump(-1, ' ', false, json::error_handler_t::replace);
  out += '}';
  return out;
}

std::string finished(std::string_view task_id, std::uint64_t seq, std::string_view status,
                     std::string_view result_json, const std::optional<error>& err,
                     std::uint64_t elapsed_ms) {
  std::string out;
  append_head(out, "finished", task_id, seq);
  out += R"(,"status":")";
  out += status;
  out += R"(","result":)";
  out += result_json.empty() ? std::string_view("null") : result_json;
  out += R"(,"error":)";
  if (err) {
    out += R"({"code":)";
    append_quoted(out, err->code);
    out += R"(,"message":)";
    append_quoted(out, err->message);
    out += '}';
  } else {
    out += "null";
  }
  out += R"(,"elapsed_ms":)";
  append_uint(out, elapsed_ms);
  out += '}';
  return out;
}

}  // namespace taskwire::protocol
