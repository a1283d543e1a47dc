// SPDX-License-Identifier: MIT
// scan_models and hash_files over a real connection, on a tree the test builds: valid, corrupt
// and non-model files, symlinks inside and out of the root, a loop, a FIFO; hashes checked
// against OpenSSL's one-shot digest; the cache on a second scan.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>

#include "handlers/model_writer.hpp"
#include "support/test_server.hpp"

namespace taskwire::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void write(const fs::path& p, const std::string& bytes) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string openssl_sha256(const std::string& bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  std::string hex;
  char buf[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", md[i]);
    hex += buf;
  }
  return hex;
}

struct run_result {
  std::vector<json> items;
  std::vector<json> progress;
  json finished;
};

run_result run_task(ws_client& c, const std::string& task, const json& params,
                    const std::string& id = "s") {
  auto tid = submit(c, params, task, id);
  run_result r;
  EXPECT_FALSE(tid.empty()) << "not accepted: " << params.dump();
  while (auto e = c.next(30s)) {
    if (e->value("task_id", "") != tid) continue;
    if (e->at("type") == "item") r.items.push_back(e->at("item"));
    if (e->at("type") == "progress") r.progress.push_back(*e);
    if (e->at("type") == "finished") {
      r.finished = *e;
      break;
    }
  }
  return r;
}

std::map<std::string, json> by_path(const std::vector<json>& items) {
  std::map<std::string, json> out;
  for (const auto& i : items)
    out[i.at("path").get<std::string>()] = i;
  return out;
}

class scan_test : public ::testing::Test {
 protected:
  void SetUp() override {
    srv_ = std::make_unique<test_server>();
    const auto& root = srv_->root();
    outside_ = root.parent_path() / "outside";
    fs::create_directories(outside_);
    write(outside_ / "secret.safetensors", formats::make_safetensors({{"s", "F32", {1}}}));
    good_ =
        formats::make_safetensors({{"w", "F32", {4, 4}}, {"b", "F16", {4}}}, {{"title", "good"}});
    write(root / "checkpoints/good.safetensors", good_);
    write(root / "checkpoints/good.preview.png", "png");
    write(root / "loras/style.SAFETENSORS", formats::make_safetensors({{"x", "BF16", {2, 2}}}));
    write(root / "llm/tiny.gguf",
          formats::make_gguf({{"general.architecture", "llama"}, {"general.name", "tiny"}},
                             {{"t", "F16", {8, 8}}}, {"tokenizer.ggml.tokens", {"a", "b"}}));
    auto truncated = good_.substr(0, 20);
    write(root / "bad/truncated.safetensors", truncated);
    write(root / "bad/corrupt.gguf",
          "GGUF\x03\0\0\0" + std::string(8, '\xff') + std::string(8, '\xff'));
    write(root / "bad/torch.pt", std::string("PK\x03\x04", 4) + std::string(60, '\0'));
    write(root / "nested/a/b/deep.ckpt", std::string("\x80\x02", 2) + "pickle");
    write(root / "notes.txt", "not a model");
    fs::create_symlink(root / "checkpoints/good.safetensors", root / "link.safetensors");
    fs::create_symlink(outside_ / "secret.safetensors", root / "escape.safetensors");
    fs::create_symlink(outside_, root / "outside-dir");
    fs::create_symlink(root, root / "nested/loop");
    ASSERT_EQ(::mkfifo((root / "pipe.safetensors").c_str(), 0600), 0);
    client_ = srv_->connect("scanner");
  }

  std::unique_ptr<test_server> srv_;
  std::unique_ptr<ws_client> client_;
  fs::path outside_;
  std::string good_;
};

TEST_F(scan_test, ReportsEveryModelFileAndSurvivesEveryBadOne) {
  auto r = run_task(*client_, "scan_models", json::object());
  ASSERT_EQ(r.finished.at("status"), "succeeded") << r.finished.dump();
  auto items = by_path(r.items);
  std::set<std::string> paths;
  for (const auto& [p, i] : items)
    paths.insert(p);
  EXPECT_EQ(paths,
            (std::set<std::string>{"bad/corrupt.gguf", "bad/torch.pt", "bad/truncated.safetensors",
                                   "checkpoints/good.safetensors", "escape.safetensors",
                                   "link.safetensors", "llm/tiny.gguf", "loras/style.SAFETENSORS",
                                   "nested/a/b/deep.ckpt", "pipe.safetensors"}));
  const auto& good = items["checkpoints/good.safetensors"];
  EXPECT_EQ(good.at("root"), "models");
  EXPECT_EQ(good.at("format"), "safetensors");
  EXPECT_EQ(good.at("category"), "checkpoints");
  EXPECT_EQ(good.at("preview"), "checkpoints/good.preview.png");
  EXPECT_EQ(good.at("size"), good_.size());
  EXPECT_TRUE(good.at("mtime").is_number());
  EXPECT_EQ(good.at("tensors"), 2);
  EXPECT_EQ(good.at("parameters"), 20);
  EXPECT_EQ(good.at("dtypes"), (json{{"F16", 1}, {"F32", 1}}));
  EXPECT_EQ(good.at("metadata"), (json{{"title", "good"}}));
  EXPECT_FALSE(good.contains("error"));
  const auto& gguf = items["llm/tiny.gguf"];
  EXPECT_EQ(gguf.at("format"), "gguf");
  EXPECT_EQ(gguf.at("architecture"), "llama");
  EXPECT_EQ(gguf.at("parameters"), 64);
  EXPECT_TRUE(items["link.safetensors"].at("category").is_null());
  EXPECT_EQ(items["link.safetensors"].at("tensors"), 2) << "a link inside the root is followed";
  EXPECT_EQ(items["bad/torch.pt"].at("format"), "pytorch");
  EXPECT_EQ(items["nested/a/b/deep.ckpt"].at("format"), "pytorch");
  EXPECT_EQ(items["nested/a/b/deep.ckpt"].at("category"), "nested");
  for (auto bad :
       {"bad/truncated.safetensors", "bad/corrupt.gguf", "escape.safetensors", "pipe.safetensors"})
    EXPECT_TRUE(items[bad].contains("error")) << bad << ": " << items[bad].dump();
  EXPECT_EQ(items["escape.safetensors"].dump().find("secret"), std::string::npos)
      << "nothing about the outside is told";
  const auto& result = r.finished.at("result");
  EXPECT_EQ(result.at("files"), 10);
  EXPECT_EQ(result.at("errors"), 4);
  ASSERT_FALSE(r.progress.empty());
  EXPECT_EQ(r.progress.back().at("done"), r.progress.back().at("total"))
      << "the last progress is complete";
}

TEST_F(scan_test, PathsOutsideTheRootsAreRefused) {
  for (json params : {json{{"path", "../outside"}}, json{{"path", outside_.string()}},
                      json{{"path", "outside-dir"}}, json{{"path", "/etc"}}}) {
    client_->send_json(
        {{"type", "submit"}, {"id", "x"}, {"task", "scan_models"}, {"params", params}});
    auto e = client_->next_of("error", "x");
    ASSERT_TRUE(e) << params.dump();
    EXPECT_EQ(e->at("code"), "forbidden_path") << params.dump();
    EXPECT_EQ(e->at("message").get<std::string>().find(outside_.string()), std::string::npos);
  }
  struct bad {
    json params;
    std::string code;
  };
  for (const auto& b : std::vector<bad>{{{{"path", "missing"}}, "not_found"},
                                        {{{"root", "nope"}}, "invalid_params"},
                                        {{{"path", 5}}, "invalid_params"},
                                        {{{"hash", "md5"}}, "invalid_params"},
                                        {{{"hash", true}}, "invalid_params"},
                                        {{{"metadata", "yes"}}, "invalid_params"},
                                        {{{"recursive", 1}}, "invalid_params"},
                                        {{{"extensions", json::array()}}, "invalid_params"},
                                        {{{"extensions", {1}}}, "invalid_params"}}) {
    EXPECT_EQ(submit_error(*client_, "scan_models", b.params), b.code) << b.params.dump();
  }
}

TEST_F(scan_test, OptionsNarrowTheScan) {
  auto r = run_task(*client_, "scan_models", {{"path", "checkpoints"}, {"metadata", false}});
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items[0].at("path"), "checkpoints/good.safetensors");
  EXPECT_EQ(r.items[0].at("format"), "safetensors");
  EXPECT_FALSE(r.items[0].contains("tensors"));
  r = run_task(*client_, "scan_models", {{"recursive", false}, {"extensions", {"SAFETENSORS"}}},
               "b");
  std::set<std::string> paths;
  for (const auto& i : r.items)
    paths.insert(i.at("path"));
  EXPECT_EQ(paths,
            (std::set<std::string>{"escape.safetensors", "link.safetensors", "pipe.safetensors"}));
  r = run_task(*client_, "scan_models", {{"path", "llm/tiny.gguf"}}, "c");
  ASSERT_EQ(r.items.size(), 1u);
  EXPECT_EQ(r.items[0].at("path"), "llm/tiny.gguf");
}

TEST_F(scan_test, HashesMatchOpenSslAndTheCacheServesTheRescanWithoutReading) {
  auto first = run_task(*client_, "scan_models", {{"path", "checkpoints"}, {"hash", "sha256"}});
  ASSERT_EQ(first.items.size(), 1u);
  EXPECT_EQ(first.items[0].at("sha256"), openssl_sha256(good_));
  EXPECT_EQ(first.items[0].at("cached"), false);

  // Change the bytes but keep size, mtime and inode: only a read could notice.
  auto p = srv_->root() / "checkpoints/good.safetensors";
  struct stat before {};
  ASSERT_EQ(::stat(p.c_str(), &before), 0);
  {
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(good_.size() - 1));
    f.put('\x7f');
  }
  timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, p.c_str(), times, 0), 0);

  auto second =
      run_task(*client_, "scan_models", {{"path", "checkpoints"}, {"hash", "sha256"}}, "b");
  ASSERT_EQ(second.items.size(), 1u);
  EXPECT_EQ(second.items[0].at("cached"), true);
  EXPECT_EQ(second.items[0].at("sha256"), first.items[0].at("sha256")) << "the file was read again";
  auto a = first.items[0], b = second.items[0];
  a.erase("cached");
  b.erase("cached");
  EXPECT_EQ(a, b) << "a cached item says the same as the first";
  EXPECT_EQ(second.finished.at("result").at("cached"), 1);

  // A real change (the mtime moves) is noticed.
  ::utimensat(AT_FDCWD, p.c_str(), nullptr, 0);
  auto third =
      run_task(*client_, "scan_models", {{"path", "checkpoints"}, {"hash", "sha256"}}, "c");
  ASSERT_EQ(third.items.size(), 1u);
  EXPECT_EQ(third.items[0].at("cached"), false);
  EXPECT_EQ(third.items[0].at("sha256"), openssl_sha256(read_all(p)));
}

TEST_F(scan_test, HashFilesMatchesOpenSslInParallel) {
  std::vector<std::string> rels;
  std::map<std::string, std::string> expected;
  for (int i = 0; i < 6; ++i) {
    std::string bytes(100000 + i * 4099, static_cast<char>('a' + i));
    auto rel = "blobs/f" + std::to_string(i) + ".bin";
    write(srv_->root() / rel, bytes);
    rels.push_back(rel);
    expected[rel] = openssl_sha256(bytes);
  }
  auto r = run_task(*client_, "hash_files", {{"paths", rels}});
  ASSERT_EQ(r.finished.at("status"), "succeeded") << r.finished.dump();
  ASSERT_EQ(r.items.size(), 6u);
  for (const auto& i : r.items) {
    EXPECT_EQ(i.at("sha256"), expected[i.at("path").get<std::string>()]);
    EXPECT_EQ(i.at("root"), "models");
  }
  EXPECT_EQ(r.finished.at("result").at("files"), 6);
  ASSERT_FALSE(r.progress.empty());
  EXPECT_EQ(r.progress.back().at("done"), r.progress.back().at("total"));
  for (const auto& pr : r.progress)
    EXPECT_LE(pr.at("done").get<std::uint64_t>(), pr.at("total").get<std::uint64_t>());
}

TEST_F(scan_test, HashFilesValidatesEveryPath) {
  struct bad {
    json params;
    std::string code;
  };
  for (const auto& b : std::vector<bad>{
           {{{"paths", json::array()}}, "invalid_params"},
           {json::object(), "invalid_params"},
           {{{"paths", {"checkpoints"}}}, "invalid_params"},
           {{{"paths", {"checkpoints/good.safetensors"}}, {"algorithm", "md5"}}, "invalid_params"},
           {{{"paths", {"nope.bin"}}}, "not_found"},
           {{{"paths", {"../outside/secret.safetensors"}}}, "forbidden_path"},
           {{{"paths", {"escape.safetensors"}}}, "forbidden_path"}}) {
    EXPECT_EQ(submit_error(*client_, "hash_files", b.params), b.code) << b.params.dump();
  }
}

TEST_F(scan_test, CancelStopsInTheMiddleOfALargeFile) {
  // A sparse 8 GiB file: reading it costs no disk, hashing it takes seconds.
  auto big = srv_->root() / "big/huge.safetensors";
  fs::create_directories(big.parent_path());
  { std::ofstream(big, std::ios::binary); }
  fs::resize_file(big, 8ull << 30);
  for (std::string task : {"hash_files", "scan_models"}) {
    json params = task == "hash_files"
                      ? json{{"paths", {"big/huge.safetensors"}}}
                      : json{{"path", "big"}, {"hash", "sha256"}, {"metadata", false}};
    auto tid = submit(*client_, params, task, task);
    ASSERT_FALSE(tid.empty());
    // Wait until bytes of the file have been hashed, then cancel.
    for (;;) {
      auto e = client_->next_of("progress");
      ASSERT_TRUE(e) << task;
      auto done = task == "hash_files" ? e->value("done", 0ull) : e->value("file_bytes_done", 0ull);
      if (done > 0) break;
    }
    client_->send_json({{"type", "cancel"}, {"id", "c"}, {"task_id", tid}});
    auto fin = client_->next_of("finished");
    ASSERT_TRUE(fin) << task;
    EXPECT_EQ(fin->at("status"), "cancelled") << task;
  }
}

TEST_F(scan_test, ConcurrentScansShareTheCacheSafely) {
  for (int i = 0; i < 4; ++i)
    client_->send_json({{"type", "submit"},
                        {"id", "c" + std::to_string(i)},
                        {"task", "scan_models"},
                        {"params", {{"hash", "sha256"}}}});
  std::map<std::string, int> items;
  int finished = 0;
  while (finished < 4) {
    auto e = client_->next(30s);
    ASSERT_TRUE(e);
    if (e->at("type") == "item") ++items[e->at("task_id").get<std::string>()];
    if (e->at("type") == "finished") {
      EXPECT_EQ(e->at("status"), "succeeded") << e->dump();
      ++finished;
    }
  }
  for (const auto& [tid, n] : items)
    EXPECT_EQ(n, 10) << tid;
  auto again = run_task(*client_, "scan_models", {{"hash", "sha256"}}, "after");
  // Every readable model file is now cached; the ones with errors are never cached.
  EXPECT_EQ(again.finished.at("result").at("cached"), 6);
}

TEST(ScanCache, ACorruptCacheIsMovedAsideAndTheScanGoesOn) {
  test_server srv;
  write(srv.root() / "m.safetensors", formats::make_safetensors({{"w", "F32", {2}}}));
  write(srv.state_dir() / "taskwire.db", std::string(4096, 'x'));
  auto c = srv.connect("alice");
  auto first = run_task(*c, "scan_models", json::object(), "r0");
  EXPECT_EQ(first.finished.at("status"), "succeeded");
  ASSERT_EQ(first.items.size(), 1u);
  EXPECT_EQ(first.items[0].at("cached"), false);
  auto second = run_task(*c, "scan_models", json::object(), "r1");
  ASSERT_EQ(second.items.size(), 1u);
  EXPECT_EQ(second.items[0].at("cached"), true) << "a new cache was started";
  int kept = 0;
  for (const auto& e : fs::directory_iterator(srv.state_dir()))
    kept += e.path().filename().string().rfind("taskwire.db.corrupt-", 0) == 0;
  EXPECT_EQ(kept, 1) << "the damaged file is kept for a post-mortem";
}

TEST(ScanCache, AnUnopenableCacheMeansAnUncachedScanNotAFailure) {
  test_server srv;
  write(srv.root() / "m.safetensors", formats::make_safetensors({{"w", "F32", {2}}}));
  fs::create_directories(srv.state_dir() / "taskwire.db");  // a folder where the file should be
  auto c = srv.connect("alice");
  for (int round = 0; round < 2; ++round) {
    auto r = run_task(*c, "scan_models", json::object(), "r" + std::to_string(round));
    EXPECT_EQ(r.finished.at("status"), "succeeded");
    ASSERT_EQ(r.items.size(), 1u);
    EXPECT_EQ(r.items[0].at("cached"), false);
  }
}

// The rows of the scan cache, read straight from the database.
std::set<std::string> cached_rels(const fs::path& state_dir) {
  std::set<std::string> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2((state_dir / "taskwire.db").c_str(), &db, SQLITE_OPEN_READONLY, nullptr) ==
      SQLITE_OK) {
    sqlite3_stmt* q = nullptr;
    sqlite3_prepare_v2(db, "SELECT rel FROM files", -1, &q, nullptr);
    while (q && sqlite3_step(q) == SQLITE_ROW)
      out.insert(reinterpret_cast<const char*>(sqlite3_column_text(q, 0)));
    sqlite3_finalize(q);
  }
  sqlite3_close(db);
  return out;
}

TEST(ScanCache, ACompleteScanForgetsDeletedFilesAndKeepsWhatItDidNotLookAt) {
  test_server srv;
  write(srv.root() / "a/one.safetensors", formats::make_safetensors({{"w", "F32", {2}}}));
  write(srv.root() / "a/two.gguf", formats::make_gguf({}, {{"t", "F32", {2}}}));
  write(srv.root() / "b/three.safetensors", formats::make_safetensors({{"w", "F32", {2}}}));
  auto c = srv.connect("alice");
  run_task(*c, "scan_models", json::object(), "r0");
  EXPECT_EQ(cached_rels(srv.state_dir()),
            (std::set<std::string>{"a/one.safetensors", "a/two.gguf", "b/three.safetensors"}));
  fs::remove(srv.root() / "a/one.safetensors");
  fs::remove(srv.root() / "b/three.safetensors");
  // Neither a scan for .gguf only nor one of folder `a` may forget b/three: they did not look.
  run_task(*c, "scan_models", {{"extensions", {".gguf"}}}, "r1");
  EXPECT_EQ(cached_rels(srv.state_dir()).size(), 3u);
  run_task(*c, "scan_models", {{"path", "a"}}, "r2");
  EXPECT_EQ(cached_rels(srv.state_dir()),
            (std::set<std::string>{"a/two.gguf", "b/three.safetensors"}));
  run_task(*c, "scan_models", json::object(), "r3");
  EXPECT_EQ(cached_rels(srv.state_dir()), (std::set<std::string>{"a/two.gguf"}));
}

TEST(ScanCache, MetadataThatIsNotUtf8IsServedAndCachedWithReplacements) {
  // Found while writing the fuzz targets: a GGUF string may hold any bytes, and storing
  // the summary once threw, which failed the whole scan.
  test_server srv;
  write(srv.root() / "odd.gguf",
        formats::make_gguf({{"general.architecture", "llama"}, {"general.name", "bad\xff\xfe"}},
                           {{"t", "F32", {2}}}));
  auto c = srv.connect("alice");
  for (int round = 0; round < 2; ++round) {
    auto r = run_task(*c, "scan_models", {{"metadata", true}}, "r" + std::to_string(round));
    ASSERT_EQ(r.finished.at("status"), "succeeded") << r.finished.dump();
    ASSERT_EQ(r.items.size(), 1u);
    EXPECT_EQ(r.items[0].at("cached"), round == 1);
    EXPECT_EQ(r.items[0].at("name"), "bad\xEF\xBF\xBD\xEF\xBF\xBD") << r.items[0].dump();
  }
}

std::size_t open_descriptors() {
  return static_cast<std::size_t>(std::distance(fs::directory_iterator("/proc/self/fd"), {}));
}

TEST(ScanCache, AFinishedScanHoldsNoDatabaseConnection) {
  // A finished task stays retained for finished_ttl_s; a scan's database connection (three
  // descriptors) once stayed with it, and a busy daemon ran out of descriptors.
  test_server srv;
  write(srv.root() / "m.safetensors", formats::make_safetensors({{"w", "F32", {2}}}));
  auto c = srv.connect("alice");
  run_task(*c, "scan_models", json::object(), "warm");
  auto before = open_descriptors();
  for (int round = 0; round < 10; ++round) {
    auto r = run_task(*c, "scan_models", json::object(), "r" + std::to_string(round));
    ASSERT_EQ(r.finished.at("status"), "succeeded");
  }
  EXPECT_LE(open_descriptors(), before + 2) << "ten retained scans keep descriptors open";
}

TEST(ScanCache, NoCacheTurnsItOff) {
  test_server srv([](config& c) { c.cache = false; });
  write(srv.root() / "m.safetensors", formats::make_safetensors({{"w", "F32", {2}}}));
  auto c = srv.connect("alice");
  for (int round = 0; round < 2; ++round) {
    auto r = run_task(*c, "scan_models", json::object(), "r" + std::to_string(round));
    ASSERT_EQ(r.items.size(), 1u);
    EXPECT_EQ(r.items[0].at("cached"), false);
  }
  EXPECT_FALSE(fs::exists(srv.state_dir() / "taskwire.db"));
}

}  // namespace
}  // namespace taskwire::test
