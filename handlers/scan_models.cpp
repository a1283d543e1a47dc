// SPDX-License-Identifier: MIT
#include "handlers/scan_models.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_set>

#include "handlers/format_error.hpp"
#include "handlers/model_file.hpp"
#include "handlers/params.hpp"
#include "handlers/paths.hpp"
#include "handlers/scan_cache.hpp"
#include "handlers/throttle.hpp"

namespace taskwire {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::vector<std::string> default_extensions = {".safetensors", ".gguf", ".ckpt", ".pt",
                                                     ".pth",         ".bin",  ".onnx", ".sft"};
const char* const preview_suffixes[] = {".preview.png", ".png", ".jpg", ".jpeg", ".webp"};

std::string lower(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return s;
}

// Names and types of a folder's entries (DT_UNKNOWN resolved with lstat); empty when unreadable.
std::vector<std::pair<std::string, fs::file_type>> list_dir(const std::string& dir) {
  std::vector<std::pair<std::string, fs::file_type>> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (auto* e = ::readdir(d)) {
    std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    unsigned char t = e->d_type;
    if (t == DT_UNKNOWN) {
      struct stat st {};
      if (::lstat((dir + "/" + e->d_name).c_str(), &st) != 0) continue;
      t = S_ISLNK(st.st_mode) ? DT_LNK : S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
    }
    out.emplace_back(std::string(name), t == DT_LNK   ? fs::file_type::symlink
                                        : t == DT_DIR ? fs::file_type::directory
                                                      : fs::file_type::regular);
  }
  ::closedir(d);
  return out;
}

std::string join(const std::string& dir_rel, const std::string& name) {
  return dir_rel.empty() ? name : dir_rel + "/" + name;
}

struct scan_options {
  config cfg;  // roots and symlink policy, copied: the job outlives nothing it borrows
  const root_dir* root = nullptr;  // points into cfg.roots
  fs::path start;
  std::string start_rel;
  std::vector<std::string> extensions;
  bool hash = false;
  bool metadata = true;
  bool recursive = true;
};

class scan_job final : public job {
 public:
  scan_job(scan_options o, std::size_t root_index) : o_(std::move(o)) {
    o_.root = &o_.cfg.roots.at(root_index);
  }

  step run(task_context& ctx) override {
    ctx_ = &ctx;
    // The job lives as long as its finished task is retained (finished_ttl_s): the database
    // connection (three descriptors and a page cache) and the set of seen paths must not.
    // Found by the soak test, where retained scans ran the daemon out of descriptors.
    struct release_at_end {
      scan_job& j;
      ~release_at_end() {
        j.cache_.reset();
        j.seen_ = {};
      }
    } release{*this};
    if (o_.cfg.cache) cache_ = scan_cache::open(o_.cfg.state_dir);
    std::error_code ec;
    auto st = fs::status(o_.start, ec);
    if (ec) throw task_failure("not_found", "the path no longer exists");
    bool is_dir = fs::is_directory(st);
    bool ok = is_dir ? walk() : single_file();
    if (cache_ && ok && is_dir && o_.recursive) {
      // A complete walk saw every model file under the start: entries for the others are gone.
      cache_->prune(o_.root->name, o_.start_rel, [this](const std::string& rel) {
        auto slash = rel.rfind('/');
        return seen_.count(rel) > 0 ||
               !wanted(slash == std::string::npos ? rel : rel.substr(slash + 1));
      });
    }
    if (cache_) cache_->flush();
    if (!ok) return step::stopped();
    ctx.progress(examined_, examined_);
    return step::finished(
        {{"files", files_}, {"bytes", bytes_}, {"errors", errors_}, {"cached", cached_}});
  }

 private:
  bool wanted(const std::string& name) const {
    auto l = lower(name);
    for (const auto& e : o_.extensions)
      if (l.size() > e.size() && l.compare(l.size() - e.size(), e.size(), e) == 0) return true;
    return false;
  }

  void tick() {
    if (progress_due_.due()) ctx_->progress(examined_, std::nullopt);
  }

  bool single_file() {
    examined_ = 1;
    auto name = o_.start.filename().string();
    if (!wanted(name)) return true;
    std::vector<std::string> siblings;
    std::error_code ec;
    for (fs::directory_iterator it(o_.start.parent_path(), ec), end; !ec && it != end;
         it.increment(ec))
      siblings.push_back(it->path().filename().string());
    std::sort(siblings.begin(), siblings.end());
    auto slash = o_.start_rel.rfind('/');
    std::string dir_rel = slash == std::string::npos ? "" : o_.start_rel.substr(0, slash);
    return inspect(o_.start.native(), dir_rel, name, siblings);
  }

  bool walk() {
    struct dir {
      std::string real;
      std::string rel;
    };
    std::vector<dir> stack{{o_.start.native(), o_.start_rel}};
    std::set<std::pair<dev_t, ino_t>> visited;  // loop detection through symlinks
    while (!stack.empty()) {
      if (ctx_->stop_requested()) return false;
      auto d = std::move(stack.back());
      stack.pop_back();
      struct stat ds {};
      if (::stat(d.real.c_str(), &ds) != 0 || !visited.insert({ds.st_dev, ds.st_ino}).second)
        continue;

      // readdir gives each name with its type: a file that is neither a model, a folder nor a
      // symlink costs no system call and no path object at all.
      auto entries = list_dir(d.real);
      std::sort(entries.begin(), entries.end());
      std::vector<std::string> siblings;
      siblings.reserve(entries.size());
      for (const auto& e : entries)
        siblings.push_back(e.first);
      std::vector<dir> subdirs;
      std::error_code ec;
      for (const auto& [name, type] : entries) {
        if (ctx_->stop_requested()) return false;
        ++examined_;
        if (type == fs::file_type::regular) {  // or a FIFO, socket, device: inspect() tells
          if (!wanted(name)) {
            tick();
            continue;
          }
          if (!inspect(d.real + "/" + name, d.rel, name, siblings)) return false;
          continue;
        }
        auto rel = join(d.rel, name);
        if (type == fs::file_type::directory) {
          if (o_.recursive) subdirs.push_back({d.real + "/" + name, rel});
          continue;
        }
        if (!o_.cfg.follow_symlinks) continue;
        auto target = fs::canonical(d.real + "/" + name, ec);
        if (ec || !paths::owner(o_.cfg, target)) {
          // A link that is broken or leads out of the roots is never followed; a model-named
          // one is reported without saying where it points.
          if (wanted(name))
            report_error(rel, name, d.rel, siblings,
                         ec ? "broken symlink" : "symlink leads outside the configured roots");
          continue;
        }
        if (fs::is_directory(target, ec)) {
          if (o_.recursive) subdirs.push_back({target.native(), rel});
        } else if (wanted(name)) {
          if (!inspect(target.native(), d.rel, name, siblings)) return false;
        } else {
          tick();
        }
      }
      std::reverse(subdirs.begin(), subdirs.end());  // visited in name order
      for (auto& s : subdirs)
        stack.push_back(std::move(s));
    }
    return true;
  }

  json base_item(const std::string& rel, const std::string& name, const std::string& dir_rel,
                 const std::vector<std::string>& siblings) const {
    json item = {{"path", rel}, {"root", o_.root->name}};
    auto slash = rel.find('/');
    item["category"] = slash == std::string::npos ? json(nullptr) : json(rel.substr(0, slash));
    auto dot = name.rfind('.');
    auto stem = dot == std::string::npos ? name : name.substr(0, dot);
    item["preview"] = nullptr;
    for (const char* suffix : preview_suffixes)
      if (std::binary_search(siblings.begin(), siblings.end(), stem + suffix)) {
        item["preview"] = join(dir_rel, stem + suffix);
        break;
      }
    return item;
  }

  void report_error(const std::string& rel, const std::string& name, const std::string& dir_rel,
                    const std::vector<std::string>& siblings, const std::string& why) {
    auto item = base_item(rel, name, dir_rel, siblings);
    item["format"] = "unknown";
    item["error"] = why;
    ++files_;
    ++errors_;
    ctx_->item(item);
    tick();
  }

  // False when the task was stopped part-way through a hash.
  bool inspect(const std::string& real, const std::string& dir_rel, const std::string& name,
               const std::vector<std::string>& siblings) {
    auto rel = join(dir_rel, name);
    auto item = base_item(rel, name, dir_rel, siblings);
    auto dot = name.rfind('.');
    auto ext = dot == std::string::npos ? std::string() : lower(name.substr(dot));
    struct stat st {};
    if (::stat(real.c_str(), &st) != 0) {
      report_error(rel, name, dir_rel, siblings, "cannot stat the file");
      return true;
    }
    item["size"] = static_cast<std::uint64_t>(st.st_size);
    item["mtime"] = static_cast<double>(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec / 1e9;
    scan_cache::key key{
        o_.root->name, rel, static_cast<std::uint64_t>(st.st_size),
        static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
        static_cast<std::uint64_t>(st.st_ino)};
    std::optional<scan_cache::entry> known;
    if (cache_ && S_ISREG(st.st_mode)) known = cache_->lookup(key);
    bool have_header = known && known->summary && known->summary->value("header", false);
    if (known && known->summary && (!o_.metadata || have_header) && (!o_.hash || known->sha256)) {
      merge_summary(item, *known->summary);
      if (o_.hash) item["sha256"] = *known->sha256;
      item["cached"] = true;
      ++cached_;
      return emit(item, st.st_size);
    }
    try {
      readable_file f(real);
      auto format = detect_format(f.read_prefix(64), f.size(), ext);
      json summary = {{"format", format}, {"header", o_.metadata}};
      if (o_.metadata) {
        try {
          summary.update(read_header_summary(f, format));
        } catch (const formats::format_error& e) {
          item["format"] = format;
          item["error"] = format + " header: " + e.what();
          return emit(item, st.st_size);
        }
      }
      merge_summary(item, summary);
      std::optional<std::string> sha;
      if (o_.hash) {
        sha = hash(f, rel);
        if (!sha) return false;
        item["sha256"] = *sha;
      } else if (known && known->sha256) {
        sha = known->sha256;  // keep a hash a previous scan paid for
      }
      item["cached"] = false;
      if (cache_) cache_->store(key, {sha, summary});
    } catch (const io_failure& e) {
      item["format"] = "unknown";
      item["error"] = e.what();
    }
    return emit(item, st.st_size);
  }

  static void merge_summary(json& item, const json& summary) {
    for (const auto& [k, v] : summary.items())
      if (k != "header") item[k] = v;
  }

  std::optional<std::string> hash(const readable_file& f, const std::string& rel) {
    std::uint64_t done = 0;
    auto total = f.size();
    return sha256_file(f, ctx_->stop_token(), [&](std::uint64_t n) {
      done += n;
      if (progress_due_.due()) {
        json extra = {{"file", rel}, {"file_bytes_done", done}, {"file_bytes", total}};
        ctx_->progress(examined_, std::nullopt, &extra);
      }
    });
  }

  bool emit(const json& item, off_t size) {
    if (cache_) seen_.insert(item.at("path").get<std::string>());
    ++files_;
    if (item.contains("error"))
      ++errors_;
    else
      bytes_ += static_cast<std::uint64_t>(size);
    ctx_->item(item);
    tick();
    return true;
  }

  scan_options o_;
  task_context* ctx_ = nullptr;
  std::unique_ptr<scan_cache> cache_;
  std::unordered_set<std::string> seen_;  // items reported, for pruning the cache afterwards
  throttle progress_due_{std::chrono::milliseconds(100)};
  std::uint64_t examined_ = 0, files_ = 0, bytes_ = 0, errors_ = 0, cached_ = 0;
};

class scan_models_handler final : public handler {
 public:
  std::string_view name() const override { return "scan_models"; }
  pool_kind pool() const override { return pool_kind::io; }

  prepared_job prepare(const json& params, const config& cfg) const override {
    std::optional<std::string> path, root;
    if (auto p = params.find("path"); p != params.end() && !p->is_null()) {
      if (!p->is_string()) return reject("invalid_params", "path must be a string");
      path = p->get<std::string>();
    }
    if (auto r = params.find("root"); r != params.end() && !r->is_null()) {
      if (!r->is_string()) return reject("invalid_params", "root must be a string");
      root = r->get<std::string>();
    }
    scan_options o;
    o.extensions = default_extensions;
    if (auto e = params.find("extensions"); e != params.end() && !e->is_null()) {
      if (!e->is_array() || e->empty() || e->size() > 64)
        return reject("invalid_params", "extensions must be a list of 1 to 64 strings");
      o.extensions.clear();
      for (const auto& x : *e) {
        if (!x.is_string() || x.get<std::string>().empty() || x.get<std::string>() == "." ||
            x.get<std::string>().size() > 32)
          return reject("invalid_params",
                        "each extension must be a short non-empty string such as \".gguf\"");
        auto s = lower(x.get<std::string>());
        o.extensions.push_back(s.front() == '.' ? s : "." + s);
      }
    }
    if (auto h = params.find("hash"); h != params.end() && !h->is_null()) {
      if (*h == "sha256")
        o.hash = true;
      else if (!(h->is_boolean() && !h->get<bool>()))
        return reject("invalid_params", "hash must be false or \"sha256\"");
    }
    param_reader p(params);
    o.metadata = p.boolean("metadata", true);
    o.recursive = p.boolean("recursive", true);
    if (!p.ok()) return reject("invalid_params", p.error());

    auto r = paths::resolve(cfg, path, root);
    if (!r.ok) return {nullptr, r.err};
    o.cfg = cfg;
    std::size_t index = static_cast<std::size_t>(r.ok->root - cfg.roots.data());
    o.start = r.ok->real;
    o.start_rel = r.ok->rel;
    return {std::make_unique<scan_job>(std::move(o), index), std::nullopt};
  }
};

}  // namespace

std::unique_ptr<handler> make_scan_models_handler() {
  return std::make_unique<scan_models_handler>();
}

}  // namespace taskwire
