// SPDX-License-Identifier: MIT
#pragma once
// One line per notable event on stderr: UTC time, level, message, then key=value fields
// (client_id, task_id, ...), so that journald, Docker and grep all read it.
#include <initializer_list>
#include <string>
#include <string_view>

namespace taskwire::log {

enum class level { debug, info, warn, error };

void set_level(level l);
bool enabled(level l);
level parse_level(std::string_view name);  // debug, info, warn, error (info otherwise)

struct field {
  std::string_view key;
  std::string value;
};

void write(level l, std::string_view message, std::initializer_list<field> fields = {});

inline void debug(std::string_view m, std::initializer_list<field> f = {}) {
  write(level::debug, m, f);
}
inline void info(std::string_view m, std::initializer_list<field> f = {}) {
  write(level::info, m, f);
}
inline void warn(std::string_view m, std::initializer_list<field> f = {}) {
  write(level::warn, m, f);
}
inline void error(std::string_view m, std::initializer_list<field> f = {}) {
  write(level::error, m, f);
}

}  // namespace taskwire::log
