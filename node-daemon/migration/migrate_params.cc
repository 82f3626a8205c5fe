#include "node-daemon/migration/migrate_params.h"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace novacron::node::migration {
namespace {

namespace fs = std::filesystem;

// libvirt name -> QEMU name (migrate_tls_x509_cert_dir / default_tls_x509_cert_dir layout).
const std::vector<std::pair<std::string, std::string>>& names() {
  static const std::vector<std::pair<std::string, std::string>> kNames = {
      {"cacert.pem", "ca-cert.pem"},       {"servercert.pem", "server-cert.pem"},
      {"serverkey.pem", "server-key.pem"}, {"clientcert.pem", "client-cert.pem"},
      {"clientkey.pem", "client-key.pem"},
  };
  return kNames;
}

bool plainPath(const std::string& dir) {
  if (dir.empty() || dir.front() != '/' || dir.find("/../") != std::string::npos) {
    return false;
  }
  for (char c : dir) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '/' || c == '.' || c == '_' || c == '-';
    if (!ok) {
      return false;  // it goes into a URI unescaped
    }
  }
  return true;
}

// A key is 0640 with the group of the directory it goes to (QEMU runs as its own user, e.g.
// libvirt-qemu: the operator gives the directory that user's group), a certificate 0644.
core::Status copyFile(const fs::path& from, const fs::path& to, bool secret, gid_t group) {
  std::ifstream in(from, std::ios::binary);
  std::ostringstream content;
  if (!in || !(content << in.rdbuf())) {
    return core::failedPreconditionError("cannot read " + from.string());
  }
  const std::string data = std::move(content).str();
  const fs::path tmp = to.string() + ".tmp";
  // Created with its final mode before a byte is written, so a key is never readable by others.
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                        secret ? 0600 : 0644);  // never wider than the final mode
  if (fd < 0) {
    return core::internalError("cannot create " + tmp.string());
  }
  bool ok =
      ::fchown(fd, static_cast<uid_t>(-1), group) == 0 && ::fchmod(fd, secret ? 0640 : 0644) == 0;
  size_t done = 0;
  while (ok && done < data.size()) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    ok = n > 0;
    done += ok ? static_cast<size_t>(n) : 0;
  }
  ok = (::close(fd) == 0) && ok;
  std::error_code ec;
  if (ok) {
    fs::rename(tmp, to, ec);
  }
  if (!ok || ec) {
    fs::remove(tmp, ec);
    return core::internalError("cannot install " + to.string());
  }
  return core::Status::ok();
}

}  // namespace

core::Status checkWireOptions(const api::MigrationOptions& options) {
  if (options.postCopy && options.postCopy->enabled &&
      options.compression == api::MigrationCompression::kZstd) {
    return core::invalidArgumentError(
        "spec.options.postCopy.enabled cannot be combined with compression Zstd: Zstd runs over "
        "multifd channels, which QEMU does not support together with post-copy (use XBZRLE or "
        "None)");
  }
  return core::Status::ok();
}

const std::vector<std::string>& tlsClientFiles() {
  static const std::vector<std::string> kFiles = {"cacert.pem", "clientcert.pem", "clientkey.pem"};
  return kFiles;
}

const std::vector<std::string>& tlsHostFiles() {
  static const std::vector<std::string> kFiles = [] {
    std::vector<std::string> f;
    for (const auto& [libvirt, qemu] : names()) {
      f.push_back(libvirt);
      f.push_back(qemu);
    }
    return f;
  }();
  return kFiles;
}

core::Status checkTlsDir(const std::string& dir) {
  if (!plainPath(dir)) {
    return core::failedPreconditionError(
        "migration TLS directory '" + dir +
        "' must be an absolute path of letters, digits, '/', '.', '_' and '-'");
  }
  std::string missing;
  for (const std::string& f : tlsClientFiles()) {
    if (::access((fs::path(dir) / f).c_str(), R_OK) != 0) {
      missing += (missing.empty() ? "" : ", ") + f;
    }
  }
  if (!missing.empty()) {
    return core::failedPreconditionError("migration TLS directory " + dir + " lacks " + missing);
  }
  return core::Status::ok();
}

core::Status installTlsFiles(const std::string& from, const std::string& to) {
  if (!plainPath(to)) {
    return core::failedPreconditionError("migration TLS install directory '" + to +
                                         "' is not a plain absolute path");
  }
  std::error_code ec;
  fs::create_directories(to, ec);
  struct stat dir {};
  if (ec || ::stat(to.c_str(), &dir) != 0) {
    return core::internalError("creating " + to + ": " + ec.message());
  }
  for (const auto& [libvirt, qemu] : names()) {
    const bool secret = libvirt.find("key") != std::string::npos;
    const fs::path src = fs::path(from) / libvirt;
    for (const std::string& name : {libvirt, qemu}) {
      if (core::Status s = copyFile(src, fs::path(to) / name, secret, dir.st_gid); !s.isOk()) {
        return s;
      }
    }
  }
  return core::Status::ok();
}

std::string withPkiPath(const std::string& uri, const std::string& pki_dir) {
  if (pki_dir.empty()) {
    return uri;
  }
  return uri + (uri.find('?') == std::string::npos ? "?" : "&") + "pkipath=" + pki_dir;
}

}  // namespace novacron::node::migration
