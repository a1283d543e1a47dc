// SPDX-License-Identifier: MIT
#pragma once
// What scans learned about files, in SQLite (state_dir/taskwire.db, WAL), keyed by root and
// relative path and valid while size, mtime (ns) and inode are unchanged: a rescan of an
// unchanged file reads nothing but its stat. One connection per scan, so concurrent scans are
// safe; any database error turns the cache off for that scan with a warning, never fails it.
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace taskwire {

class scan_cache {
 public:
  struct key {
    std::string root;
    std::string rel;
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::uint64_t inode = 0;
  };
  struct entry {
    std::optional<std::string> sha256;
    std::optional<nlohmann::json> summary;  // {"format":..., header fields...}
  };

  // nullptr, with a warning logged, when the database cannot be opened. A file that is not a
  // database (or is corrupt) is moved aside as taskwire.db.corrupt-<time> and a new one made.
  static std::unique_ptr<scan_cache> open(const std::string& state_dir);
  ~scan_cache();
  scan_cache(const scan_cache&) = delete;
  scan_cache& operator=(const scan_cache&) = delete;

  // The entry for this key when the file is unchanged since it was stored.
  std::optional<entry> lookup(const key& k);
  void store(const key& k, const entry& e);
  void flush();  // commits what store() batched
  // Forgets the files of `root` under `prefix` ("" = all) for which `keep(rel)` says false:
  // after a complete scan, the ones it did not see any more.
  void prune(const std::string& root, const std::string& prefix,
             const std::function<bool(const std::string& rel)>& keep);
  bool usable() const { return !broken_; }

 private:
  explicit scan_cache(sqlite3* db) : db_(db) {}
  static std::unique_ptr<scan_cache> try_open(const std::string& path, bool& not_a_database);
  bool prepare();
  void fail(const char* what);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* select_ = nullptr;
  sqlite3_stmt* upsert_ = nullptr;
  int pending_ = 0;
  bool in_txn_ = false;
  bool broken_ = false;
};

}  // namespace taskwire
