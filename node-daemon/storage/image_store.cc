#include "node-daemon/storage/image_store.h"

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>

#include <openssl/evp.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include "node-daemon/domain/naming.h"
#include "node-daemon/storage/process.h"

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

class HttpImageStore final : public ImageStore {
public:
  HttpImageStore(NodePaths paths, HttpImageStoreOptions options)
      : paths_(std::move(paths)), options_(std::move(options)) {}

  core::StatusOr<std::string> resolve(const api::ImageSource& source) override {
    if (source.sha256 && !isSha256Hex(*source.sha256)) {
      return core::invalidArgumentError("image sha256 must be 64 lower-case hex digits");
    }
    const std::string& url = source.url;
    if (url.rfind("image:", 0) == 0) {
      return resolveNamed(url.substr(6), source.sha256);
    }
    if (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) {
      return download(url, source.sha256);
    }
    return core::invalidArgumentError("image '" + url + "' is neither http(s):// nor image:<name>");
  }

private:
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

  std::shared_ptr<std::mutex> keyLock(const std::string& key) {
    std::lock_guard lock(mu_);
    auto& m = key_locks_[key];
    if (!m) {
      m = std::make_shared<std::mutex>();
    }
    return m;
  }

  core::StatusOr<std::string> download(const std::string& url,
                                       const std::optional<std::string>& sha) {
    std::string final_path;
    if (sha) {
      NOVACRON_ASSIGN_OR_RETURN(final_path, paths_.imageByDigest(*sha));
    } else {
      NOVACRON_ASSIGN_OR_RETURN(final_path, paths_.imageByUrlDigest(domain::sha256Hex(url)));
    }
    auto lock_ptr = keyLock(final_path);
    std::lock_guard key_lock(*lock_ptr);  // one download per image; others wait for it
    std::error_code ec;
    if (fs::is_regular_file(final_path, ec)) {
      return final_path;  // verified before it was renamed into place
    }
    fs::create_directories(fs::path(final_path).parent_path(), ec);
    if (ec) {
      return core::unavailableError("cannot create image cache directory: " + ec.message());
    }
    static std::atomic<int> counter{0};
    std::string tmp =
        final_path + ".download-" + std::to_string(getpid()) + "-" + std::to_string(counter++);
    auto result =
        runProcess({options_.curl, "-fsSL", "--proto", "=http,https", "--proto-redir",
                    "=http,https", "--max-time",
                    std::to_string(options_.download_timeout.count() / 1000 + 1), "-o", tmp, url},
                   options_.download_timeout + std::chrono::seconds(5));
    auto cleanup = [&] { fs::remove(tmp, ec); };
    if (!result.isOk()) {
      cleanup();
      return result.status();
    }
    if (result->exit_code != 0) {
      cleanup();
      return core::unavailableError("downloading " + url + " failed (curl exit " +
                                    std::to_string(result->exit_code) + "): " + result->output);
    }
    if (sha) {
      auto actual = fileSha256(tmp);
      if (!actual.isOk()) {
        cleanup();
        return actual.status();
      }
      if (*actual != *sha) {
        cleanup();
        return core::invalidArgumentError("image " + url + " has sha256 " + *actual + ", want " +
                                          *sha);
      }
    }
    fs::rename(tmp, final_path, ec);
    if (ec) {
      cleanup();
      return core::unavailableError("cannot move image into the cache: " + ec.message());
    }
    spdlog::info("image store: cached {} as {}", url, final_path);
    return final_path;
  }

  NodePaths paths_;
  HttpImageStoreOptions options_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<std::mutex>> key_locks_;  // guarded by mu_
  std::set<std::string> verified_;                                // guarded by mu_
};

}  // namespace

ImageStorePtr makeHttpImageStore(NodePaths paths, HttpImageStoreOptions options) {
  return std::make_shared<HttpImageStore>(std::move(paths), std::move(options));
}

}  // namespace novacron::node::storage
