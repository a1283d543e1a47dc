// SPDX-License-Identifier: MIT
#include "handlers/scan_cache.hpp"

#include <sqlite3.h>

#include <ctime>
#include <filesystem>
#include <system_error>
#include <vector>

#include "server/log.hpp"

namespace taskwire {
namespace {

constexpr int batch_size = 256;  // writes per transaction: one WAL commit, not one per file

const char* schema = R"sql(
  CREATE TABLE IF NOT EXISTS files (
    root TEXT NOT NULL,
    rel TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    sha256 TEXT,
    summary TEXT,
    PRIMARY KEY (root, rel)
  ) WITHOUT ROWID;
)sql";

}  // namespace

std::unique_ptr<scan_cache> scan_cache::open(const std::string& state_dir) {
  std::error_code ec;
  std::filesystem::create_directories(state_dir, ec);
  auto path = (std::filesystem::path(state_dir) / "taskwire.db").string();
  bool not_a_database = false;
  if (auto c = try_open(path, not_a_database)) return c;
  if (!not_a_database) return nullptr;
  // A damaged cache is only lost work: keep it for a post-mortem and start a new one.
  auto aside = path + ".corrupt-" + std::to_string(std::time(nullptr));
  std::filesystem::rename(path, aside, ec);
  for (const char* suffix : {"-wal", "-shm"})
    std::filesystem::remove(path + suffix, ec);
  log::warn("scan cache was not a usable database: moved aside, starting a new one",
            {{"path", path}, {"moved_to", aside}});
  return try_open(path, not_a_database);
}

std::unique_ptr<scan_cache> scan_cache::try_open(const std::string& path, bool& not_a_database) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    log::warn("scan cache unavailable, scanning without it",
              {{"path", path}, {"error", db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)}});
    sqlite3_close(db);
    return nullptr;
  }
  std::unique_ptr<scan_cache> c(new scan_cache(db));
  sqlite3_busy_timeout(db, 5000);
  const char* setup = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
  char* err = nullptr;
  if (sqlite3_exec(db, setup, nullptr, nullptr, &err) != SQLITE_OK ||
      sqlite3_exec(db, schema, nullptr, nullptr, &err) != SQLITE_OK || !c->prepare()) {
    int code = sqlite3_errcode(db) & 0xff;
    not_a_database = code == SQLITE_NOTADB || code == SQLITE_CORRUPT;
    if (!not_a_database)
      log::warn("scan cache unusable, scanning without it",
                {{"path", path}, {"error", err ? err : sqlite3_errmsg(db)}});
    sqlite3_free(err);
    return nullptr;
  }
  return c;
}

bool scan_cache::prepare() {
  return sqlite3_prepare_v3(
             db_, "SELECT size, mtime_ns, inode, sha256, summary FROM files WHERE root=? AND rel=?",
             -1, SQLITE_PREPARE_PERSISTENT, &select_, nullptr) == SQLITE_OK &&
         sqlite3_prepare_v3(db_,
                            "INSERT INTO files (root, rel, size, mtime_ns, inode, sha256, summary) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (root, rel) DO UPDATE SET "
                            "size=excluded.size, mtime_ns=excluded.mtime_ns, inode=excluded.inode, "
                            "sha256=excluded.sha256, summary=excluded.summary",
                            -1, SQLITE_PREPARE_PERSISTENT, &upsert_, nullptr) == SQLITE_OK;
}

scan_cache::~scan_cache() {
  flush();
  sqlite3_finalize(select_);
  sqlite3_finalize(upsert_);
  sqlite3_close(db_);
}

void scan_cache::fail(const char* what) {
  if (!broken_)
    log::warn("scan cache error, continuing without it",
              {{"during", what}, {"error", sqlite3_errmsg(db_)}});
  broken_ = true;
}

std::optional<scan_cache::entry> scan_cache::lookup(const key& k) {
  if (broken_) return std::nullopt;
  sqlite3_reset(select_);
  sqlite3_bind_text(select_, 1, k.root.data(), static_cast<int>(k.root.size()), SQLITE_STATIC);
  sqlite3_bind_text(select_, 2, k.rel.data(), static_cast<int>(k.rel.size()), SQLITE_STATIC);
  int rc = sqlite3_step(select_);
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) {
    fail("lookup");
    return std::nullopt;
  }
  if (static_cast<std::uint64_t>(sqlite3_column_int64(select_, 0)) != k.size ||
      sqlite3_column_int64(select_, 1) != k.mtime_ns ||
      static_cast<std::uint64_t>(sqlite3_column_int64(select_, 2)) != k.inode)
    return std::nullopt;
  entry e;
  if (auto* h = sqlite3_column_text(select_, 3)) e.sha256 = reinterpret_cast<const char*>(h);
  if (auto* s = sqlite3_column_text(select_, 4)) {
    auto j = nlohmann::json::parse(reinterpret_cast<const char*>(s), nullptr, false);
    if (!j.is_discarded() && j.is_object()) e.summary = std::move(j);
  }
  sqlite3_reset(select_);
  return e;
}

void scan_cache::store(const key& k, const entry& e) {
  if (broken_) return;
  if (!in_txn_) {
    if (sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
      return fail("begin");
    in_txn_ = true;
  }
  // A model's metadata can hold any bytes; the frames replace bad UTF-8, and so must the cache.
  std::string summary =
      e.summary ? e.summary->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                : std::string();
  sqlite3_reset(upsert_);
  sqlite3_bind_text(upsert_, 1, k.root.data(), static_cast<int>(k.root.size()), SQLITE_STATIC);
  sqlite3_bind_text(upsert_, 2, k.rel.data(), static_cast<int>(k.rel.size()), SQLITE_STATIC);
  sqlite3_bind_int64(upsert_, 3, static_cast<sqlite3_int64>(k.size));
  sqlite3_bind_int64(upsert_, 4, k.mtime_ns);
  sqlite3_bind_int64(upsert_, 5, static_cast<sqlite3_int64>(k.inode));
  if (e.sha256)
    sqlite3_bind_text(upsert_, 6, e.sha256->data(), static_cast<int>(e.sha256->size()),
                      SQLITE_STATIC);
  else
    sqlite3_bind_null(upsert_, 6);
  if (e.summary)
    sqlite3_bind_text(upsert_, 7, summary.data(), static_cast<int>(summary.size()), SQLITE_STATIC);
  else
    sqlite3_bind_null(upsert_, 7);
  if (sqlite3_step(upsert_) != SQLITE_DONE) return fail("store");
  sqlite3_reset(upsert_);
  if (++pending_ >= batch_size) flush();
}

void scan_cache::prune(const std::string& root, const std::string& prefix,
                       const std::function<bool(const std::string&)>& keep) {
  if (broken_) return;
  flush();
  sqlite3_stmt* q = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT rel FROM files WHERE root=?", -1, &q, nullptr) != SQLITE_OK)
    return fail("prune");
  sqlite3_bind_text(q, 1, root.data(), static_cast<int>(root.size()), SQLITE_STATIC);
  std::vector<std::string> gone;
  while (sqlite3_step(q) == SQLITE_ROW) {
    std::string rel(reinterpret_cast<const char*>(sqlite3_column_text(q, 0)));
    bool under = prefix.empty() || rel.rfind(prefix + "/", 0) == 0;
    if (under && !keep(rel)) gone.push_back(std::move(rel));
  }
  sqlite3_finalize(q);
  if (gone.empty()) return;
  sqlite3_stmt* del = nullptr;
  if (sqlite3_prepare_v2(db_, "DELETE FROM files WHERE root=? AND rel=?", -1, &del, nullptr) !=
      SQLITE_OK)
    return fail("prune");
  sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
  for (const auto& rel : gone) {
    sqlite3_reset(del);
    sqlite3_bind_text(del, 1, root.data(), static_cast<int>(root.size()), SQLITE_STATIC);
    sqlite3_bind_text(del, 2, rel.data(), static_cast<int>(rel.size()), SQLITE_STATIC);
    sqlite3_step(del);
  }
  sqlite3_finalize(del);
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) fail("prune");
}

void scan_cache::flush() {
  if (!in_txn_) return;
  in_txn_ = false;
  pending_ = 0;
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    fail("commit");
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
}

}  // namespace taskwire
