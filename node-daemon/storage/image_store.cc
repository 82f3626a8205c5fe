#include "node-daemon/storage/image_store.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "node-daemon/domain/naming.h"
#include "node-daemon/storage/image_url.h"

namespace novacron::node::storage {
namespace fs = std::filesystem;

core::StatusOr<std::string> fileSha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return core::notFoundError("cannot open " + path);
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 20);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) {
      EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
    }
  }
  if (in.bad()) {
    return core::unavailableError("error reading " + path);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kDigits[md[i] >> 4]);
    out.push_back(kDigits[md[i] & 0xf]);
  }
  return out;
}

namespace {

std::string tempName(const std::string& path, const char* what) {
  static std::atomic<int> counter{0};
  return path + "." + what + "-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
}

// One download (and, for disks, check and conversion) in progress.
struct Job {
  std::string url;
  std::optional<std::string> sha;
  bool disk = false;
  std::string raw_path;    // the downloaded file
  std::string final_path;  // raw_path, or its standalone conversion for disks
  std::string tmp_path;    // the file being written now (for progress); guarded by the store's mu_
};

class HttpImageStore final : public ImageStore {
public:
  HttpImageStore(NodePaths paths, HttpImageStoreOptions options)
      : paths_(std::move(paths)), options_(std::move(options)) {
    if (!options_.clock) {
      options_.clock = core::systemClock();
    }
    if (!options_.fetch.resolver) {
      options_.fetch.resolver = makeSystemResolver();
    }
    for (int i = 0; i < std::max(1, options_.download_workers); ++i) {
      workers_.emplace_back([this] { work(); });
    }
  }

  ~HttpImageStore() override {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cancel_ = true;  // kills running curl/qemu-img children
    cv_.notify_all();
    for (auto& t : workers_) {
      t.join();
    }
  }

  core::StatusOr<std::string> resolve(const api::ImageSource& source) override {
    NOVACRON_RETURN_IF_ERROR(checkSource(source));
    if (isNamed(source.url)) {
      return resolveNamed(source.url.substr(6), source.sha256);
    }
    return resolveUrl(source, /*disk=*/false);
  }

  core::StatusOr<BaseImage> resolveDisk(const api::ImageSource& source) override {
    NOVACRON_RETURN_IF_ERROR(checkSource(source));
    if (isNamed(source.url)) {
      NOVACRON_ASSIGN_OR_RETURN(std::string path,
                                resolveNamed(source.url.substr(6), source.sha256));
      // The operator's file, but still: a disk base that names another file is refused.
      NOVACRON_ASSIGN_OR_RETURN(ImageHeader header, readImageHeader(path));
      NOVACRON_RETURN_IF_ERROR(checkStandalone(header, source.url));
      return BaseImage{path, header.format};
    }
    NOVACRON_ASSIGN_OR_RETURN(std::string path, resolveUrl(source, /*disk=*/true));
    return BaseImage{path, ImageFormat::kQcow2};
  }

  core::StatusOr<std::string> cachedPath(const api::ImageSource& source, bool disk) const override {
    NOVACRON_RETURN_IF_ERROR(checkSource(source));
    if (isNamed(source.url)) {
      return paths_.namedImage(source.url.substr(6));
    }
    NOVACRON_ASSIGN_OR_RETURN(std::string raw, rawPath(source));
    return disk ? NodePaths::standaloneImage(raw) : raw;
  }

  void setDownloadCallback(std::function<void(const std::string& url)> callback) override {
    std::lock_guard lock(mu_);
    callback_ = std::move(callback);
  }

  int collectGarbage(const InUse& in_use) override {
    const auto now = options_.clock->now();
    std::set<std::string> busy;  // files of downloads in progress
    {
      std::lock_guard lock(mu_);
      for (const auto& [key, job] : jobs_) {
        busy.insert({job->raw_path, job->final_path});
        if (!job->tmp_path.empty()) {
          busy.insert(job->tmp_path);
        }
      }
    }
    int removed = 0;
    std::set<std::string> seen;
    for (const char* sub : {"/sha256", "/url"}) {
      std::error_code ec;
      for (fs::directory_iterator it(paths_.imageRoot() + sub, ec), end; !ec && it != end;
           it.increment(ec)) {
        const std::string path = it->path().string();
        if (!it->is_regular_file(ec) || !paths_.isUnderImageRoot(path)) {
          continue;
        }
        seen.insert(path);
        if (isBusy(busy, path) || in_use(path)) {
          std::lock_guard lock(mu_);
          unused_since_.erase(path);
          continue;
        }
        std::unique_lock lock(mu_);
        auto [entry, inserted] = unused_since_.emplace(path, now);
        if (inserted || now - entry->second < options_.gc_grace) {
          continue;
        }
        unused_since_.erase(entry);
        lock.unlock();
        std::error_code rm;
        if (fs::remove(path, rm)) {
          ++removed;
          spdlog::info("image store: removed {} (unused for {} s)", path,
                       std::chrono::duration_cast<std::chrono::seconds>(options_.gc_grace).count());
        }
      }
    }
    std::lock_guard lock(mu_);
    std::erase_if(unused_since_, [&](const auto& e) { return seen.count(e.first) == 0; });
    return removed;
  }

private:
  static bool isNamed(const std::string& url) { return url.rfind("image:", 0) == 0; }

  // A temporary file belongs to a busy download when it starts with a busy path.
  static bool isBusy(const std::set<std::string>& busy, const std::string& path) {
    for (const auto& b : busy) {
      if (path == b || path.rfind(b + ".", 0) == 0) {
        return true;
      }
    }
    return false;
  }

  core::Status checkSource(const api::ImageSource& source) const {
    if (source.sha256 && !isSha256Hex(*source.sha256)) {
      return core::invalidArgumentError("image sha256 must be 64 lower-case hex digits");
    }
    if (isNamed(source.url)) {
      return core::okStatus();
    }
    if (source.url.rfind("http://", 0) == 0 || source.url.rfind("https://", 0) == 0) {
      return ImageUrl::parse(source.url).status();
    }
    return core::invalidArgumentError("image '" + source.url +
                                      "' is neither http(s):// nor image:<name>");
  }

  core::StatusOr<std::string> rawPath(const api::ImageSource& source) const {
    if (source.sha256) {
      return paths_.imageByDigest(*source.sha256);
    }
    return paths_.imageByUrlDigest(domain::sha256Hex(source.url));
  }

  core::StatusOr<std::string> resolveNamed(const std::string& name,
                                           const std::optional<std::string>& sha) {
    NOVACRON_ASSIGN_OR_RETURN(std::string path, paths_.namedImage(name));
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      return core::notFoundError("image:" + name + " is not in the node image store (" + path +
                                 ")");
    }
    if (sha) {
      NOVACRON_RETURN_IF_ERROR(verifyOnce(path, *sha));
    }
    return path;
  }

  core::Status verifyOnce(const std::string& path, const std::string& sha) {
    std::error_code ec;
    auto key = path + "|" + sha + "|" + std::to_string(fs::file_size(path, ec)) + "|" +
               std::to_string(fs::last_write_time(path, ec).time_since_epoch().count());
    {
      std::lock_guard lock(mu_);
      if (verified_.count(key) != 0) {
        return core::okStatus();
      }
    }
    NOVACRON_ASSIGN_OR_RETURN(std::string actual, fileSha256(path));
    if (actual != sha) {
      return core::invalidArgumentError("image " + path + " has sha256 " + actual + ", want " +
                                        sha);
    }
    std::lock_guard lock(mu_);
    verified_.insert(key);
    return core::okStatus();
  }

  core::StatusOr<std::string> resolveUrl(const api::ImageSource& source, bool disk) {
    NOVACRON_ASSIGN_OR_RETURN(std::string raw, rawPath(source));
    const std::string final_path = disk ? NodePaths::standaloneImage(raw) : raw;
    std::error_code ec;
    std::lock_guard lock(mu_);
    if (fs::is_regular_file(final_path, ec)) {
      unused_since_.erase(final_path);
      return final_path;  // verified and checked before it was renamed into place
    }
    if (auto it = failures_.find(final_path); it != failures_.end()) {
      if (options_.clock->now() < it->second.until) {
        return it->second.error;
      }
      failures_.erase(it);
    }
    if (auto it = jobs_.find(final_path); it != jobs_.end()) {
      uint64_t bytes = 0;
      if (!it->second->tmp_path.empty()) {
        bytes = fs::file_size(it->second->tmp_path, ec);
        bytes = ec ? 0 : bytes;
      }
      return core::unavailableError("downloading " + source.url + ": " + std::to_string(bytes) +
                                    " bytes so far")
          .withRetryAfter(options_.retry_after);
    }
    auto job = std::make_shared<Job>();
    job->url = source.url;
    job->sha = source.sha256;
    job->disk = disk;
    job->raw_path = raw;
    job->final_path = final_path;
    jobs_[final_path] = job;
    queue_.push_back(job);
    cv_.notify_one();
    return core::unavailableError("downloading " + source.url + ": queued")
        .withRetryAfter(options_.retry_after);
  }

  void work() {
    while (true) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_) {
          return;
        }
        job = queue_.front();
        queue_.pop_front();
      }
      const auto started = std::chrono::steady_clock::now();
      core::Status s = run(*job);
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      std::function<void(const std::string&)> callback;
      {
        std::lock_guard lock(mu_);
        jobs_.erase(job->final_path);
        if (!s.isOk()) {
          failures_[job->final_path] = {s, options_.clock->now() + options_.failure_ttl};
        }
        callback = callback_;
      }
      if (s.isOk()) {
        std::error_code size_ec;
        const auto bytes = fs::file_size(job->final_path, size_ec);
        spdlog::info(
            "image store: cached {} as {} ({} bytes in {:.1f} s, {:.1f} MiB/s)", job->url,
            job->final_path, size_ec ? 0 : bytes, seconds,
            seconds > 0 && !size_ec ? static_cast<double>(bytes) / seconds / (1 << 20) : 0.0);
      } else {
        spdlog::warn("image store: {}", s.toString());
      }
      if (callback && !cancel_) {
        callback(job->url);
      }
    }
  }

  std::shared_ptr<std::mutex> keyLock(const std::string& key) {
    std::lock_guard lock(mu_);
    auto& m = key_locks_[key];
    if (!m) {
      m = std::make_shared<std::mutex>();
    }
    return m;
  }

  void setTmp(Job& job, std::string tmp) {
    std::lock_guard lock(mu_);
    job.tmp_path = std::move(tmp);
  }

  // Download (unless the raw file is cached), verify, and for disks check and convert.
  core::Status run(Job& job) {
    auto lock_ptr = keyLock(job.raw_path);
    std::lock_guard key_lock(*lock_ptr);  // one download per file, even for disk and kernel
    std::error_code ec;
    if (fs::is_regular_file(job.final_path, ec)) {
      return core::okStatus();
    }
    fs::create_directories(fs::path(job.raw_path).parent_path(), ec);
    if (ec) {
      return core::unavailableError("cannot create image cache directory: " + ec.message());
    }
    if (!fs::is_regular_file(job.raw_path, ec)) {
      NOVACRON_RETURN_IF_ERROR(download(job));
    }
    if (!job.disk) {
      return core::okStatus();
    }
    auto format = checkUntrustedImage(job.raw_path, job.url, options_.check, &cancel_);
    if (!format.isOk()) {
      if (format.status().code() == core::StatusCode::kInvalidArgument) {
        fs::remove(job.raw_path, ec);  // refused bytes are not kept
      }
      return format.status();
    }
    std::string tmp = tempName(job.final_path, "convert");
    setTmp(job, tmp);
    core::Status s = convertToStandalone(job.raw_path, *format, tmp, options_.check, &cancel_);
    if (s.isOk()) {
      fs::rename(tmp, job.final_path, ec);
      if (ec) {
        s = core::unavailableError("cannot move image into the cache: " + ec.message());
      }
    }
    fs::remove(tmp, ec);
    if (s.isOk()) {
      fs::remove(job.raw_path, ec);  // the standalone copy is what VMs use
    }
    return s;
  }

  core::Status download(Job& job) {
    std::string tmp = tempName(job.raw_path, "download");
    setTmp(job, tmp);
    std::error_code ec;
    auto cleanup = [&] { fs::remove(tmp, ec); };
    core::Status s = fetchToFile(job.url, tmp, options_.fetch, &cancel_);
    if (!s.isOk()) {
      cleanup();
      return s;
    }
    if (job.sha) {
      auto actual = fileSha256(tmp);
      if (!actual.isOk()) {
        cleanup();
        return actual.status();
      }
      if (*actual != *job.sha) {
        cleanup();
        return core::invalidArgumentError("image " + job.url + " has sha256 " + *actual +
                                          ", want " + *job.sha);
      }
    }
    fs::rename(tmp, job.raw_path, ec);
    if (ec) {
      cleanup();
      return core::unavailableError("cannot move image into the cache: " + ec.message());
    }
    return core::okStatus();
  }

  struct Failure {
    core::Status error;
    core::Clock::TimePoint until;
  };

  NodePaths paths_;
  HttpImageStoreOptions options_;
  std::atomic<bool> cancel_{false};
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                                         // guarded by mu_
  std::deque<std::shared_ptr<Job>> queue_;                        // guarded by mu_
  std::map<std::string, std::shared_ptr<Job>> jobs_;              // by final path; guarded by mu_
  std::map<std::string, Failure> failures_;                       // by final path; guarded by mu_
  std::map<std::string, core::Clock::TimePoint> unused_since_;    // guarded by mu_
  std::function<void(const std::string&)> callback_;              // guarded by mu_
  std::map<std::string, std::shared_ptr<std::mutex>> key_locks_;  // guarded by mu_
  std::set<std::string> verified_;                                // guarded by mu_
  std::vector<std::thread> workers_;
};

}  // namespace

ImageStorePtr makeHttpImageStore(NodePaths paths, HttpImageStoreOptions options) {
  return std::make_shared<HttpImageStore>(std::move(paths), std::move(options));
}

}  // namespace novacron::node::storage
