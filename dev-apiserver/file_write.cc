#include "dev-apiserver/file_write.h"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace novacron::devapi {
namespace {

core::Status errnoError(const std::string& what, const std::string& path) {
  return core::internalError(what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

core::Status writeFileAtomically(const std::string& path, std::string_view data, mode_t mode) {
  const std::string tmp = path + ".tmp";
  // A leftover from a crash may have other permissions: start from a new inode.
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) {
    return errnoError("remove", tmp);
  }
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
  if (fd < 0) {
    return errnoError("create", tmp);
  }
  // open() applied the umask, which only removes bits; make the mode exactly `mode`.
  if (::fchmod(fd, mode) != 0) {
    core::Status s = errnoError("chmod", tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      core::Status s = errnoError("write", tmp);
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    done += static_cast<size_t>(n);
  }
  const bool synced = ::fsync(fd) == 0;
  const bool closed = ::close(fd) == 0;
  if (!synced || !closed) {
    core::Status s = errnoError("flush", tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    core::Status s = errnoError("rename to " + path + ":", tmp);
    ::unlink(tmp.c_str());
    return s;
  }
  return core::okStatus();
}

}  // namespace novacron::devapi
