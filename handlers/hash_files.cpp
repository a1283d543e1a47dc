// SPDX-License-Identifier: MIT
#include "handlers/hash_files.hpp"

#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>

#include "handlers/model_file.hpp"
#include "handlers/paths.hpp"
#include "handlers/throttle.hpp"

namespace taskwire {
namespace {

using nlohmann::json;

struct target {
  std::string root;
  std::string rel;
  std::filesystem::path real;
};

class hash_job final : public job {
 public:
  hash_job(std::vector<target> files, int workers) : files_(std::move(files)), workers_(workers) {}

  step run(task_context& ctx) override {
    std::uint64_t total = 0;
    for (const auto& f : files_) {
      std::error_code ec;
      auto size = std::filesystem::file_size(f.real, ec);
      if (ec) throw task_failure("io_error", "cannot read " + f.rel + ": " + ec.message());
      total += size;
    }
    total_ = total;
    ctx.progress(0, total_);
    // Workers take files from a shared index; this thread is one of them.
    auto extra = std::min<std::size_t>(files_.size(), static_cast<std::size_t>(workers_)) - 1;
    ctx.parallel(extra, [&] { work(ctx); });
    if (failure_) throw task_failure("io_error", *failure_);
    if (hashed_.load() < files_.size()) return step::stopped();
    ctx.progress(done_.load(), total_);
    return step::finished({{"files", hashed_.load()}, {"bytes", done_.load()}});
  }

 private:
  void work(task_context& ctx) {
    for (;;) {
      auto i = next_.fetch_add(1);
      if (i >= files_.size() || ctx.stop_requested() || failed_.load()) return;
      const auto& t = files_[i];
      try {
        readable_file f(t.real);
        auto sha = sha256_file(f, ctx.stop_token(), [&](std::uint64_t n) {
          auto done = done_.fetch_add(n) + n;
          if (due_.due()) ctx.progress(done, total_);
        });
        if (!sha) return;
        ctx.item({{"path", t.rel}, {"root", t.root}, {"size", f.size()}, {"sha256", *sha}});
        ++hashed_;
      } catch (const io_failure& e) {
        std::lock_guard lock(mu_);
        if (!failure_) failure_ = t.rel + ": " + e.what();
        failed_ = true;
        return;
      }
    }
  }

  const std::vector<target> files_;
  const int workers_;
  std::uint64_t total_ = 0;
  std::atomic<std::size_t> next_{0};
  std::atomic<std::size_t> hashed_{0};
  std::atomic<std::uint64_t> done_{0};
  std::atomic<bool> failed_{false};
  std::mutex mu_;
  std::optional<std::string> failure_;
  throttle due_{std::chrono::milliseconds(100)};
};

class hash_files_handler final : public handler {
 public:
  std::string_view name() const override { return "hash_files"; }
  pool_kind pool() const override { return pool_kind::cpu; }

  prepared_job prepare(const json& params, const config& cfg) const override {
    auto a = params.find("algorithm");
    if (a != params.end() && !a->is_null() && *a != "sha256")
      return reject("invalid_params", "algorithm must be \"sha256\"");
    auto p = params.find("paths");
    if (p == params.end() || !p->is_array() || p->empty() || p->size() > 10000)
      return reject("invalid_params", "paths must be a list of 1 to 10000 paths");
    std::vector<target> files;
    for (const auto& given : *p) {
      if (!given.is_string()) return reject("invalid_params", "each path must be a string");
      auto r = paths::resolve(cfg, given.get<std::string>(), std::nullopt);
      if (!r.ok) return {nullptr, r.err};
      std::error_code ec;
      if (!std::filesystem::is_regular_file(r.ok->real, ec))
        return reject("invalid_params", "each path must be a regular file");
      files.push_back({r.ok->root->name, r.ok->rel, r.ok->real});
    }
    return {std::make_unique<hash_job>(std::move(files), cfg.cpu_workers), std::nullopt};
  }
};

}  // namespace

std::unique_ptr<handler> make_hash_files_handler() {
  return std::make_unique<hash_files_handler>();
}

}  // namespace taskwire
