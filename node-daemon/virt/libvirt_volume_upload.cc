#include <filesystem>
#include <random>
#include <vector>

#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <sys/stat.h>
#include <unistd.h>

#include "node-daemon/virt/volume_upload.h"

namespace novacron::node::virt {
namespace {

core::Status libvirtError(const std::string& what) {
  const virError* e = virGetLastError();
  std::string msg = what + ": " + (e != nullptr && e->message != nullptr ? e->message : "failed");
  return core::unavailableError(msg);
}

std::string xmlEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
    case '&':
      out += "&amp;";
      break;
    case '<':
      out += "&lt;";
      break;
    case '>':
      out += "&gt;";
      break;
    case '\'':
      out += "&apos;";
      break;
    case '"':
      out += "&quot;";
      break;
    default:
      out += c;
    }
  }
  return out;
}

// RAII holders for the libvirt objects used here.
struct Conn {
  virConnectPtr p = nullptr;
  ~Conn() {
    if (p != nullptr) {
      virConnectClose(p);
    }
  }
};
struct Pool {
  virStoragePoolPtr p = nullptr;
  bool transient = false;  // we created it: destroy (which removes a transient pool)
  ~Pool() {
    if (p != nullptr) {
      if (transient) {
        virStoragePoolDestroy(p);
      }
      virStoragePoolFree(p);
    }
  }
};
struct Vol {
  virStorageVolPtr p = nullptr;
  ~Vol() {
    if (p != nullptr) {
      virStorageVolFree(p);
    }
  }
};
struct Stream {
  virStreamPtr p = nullptr;
  bool finished = false;
  ~Stream() {
    if (p != nullptr) {
      if (!finished) {
        virStreamAbort(p);
      }
      virStreamFree(p);
    }
  }
};
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) {
      close(fd);
    }
  }
};

class LibvirtVolumeUploader : public VolumeUploader {
public:
  core::Status upload(const std::string& uri, const std::string& local_path,
                      const std::string& remote_path, const std::function<void(uint64_t)>& progress,
                      const std::atomic<bool>* cancel) override {
    Fd in;
    in.fd = open(local_path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st {};
    if (in.fd < 0 || fstat(in.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      return core::unavailableError("cannot read " + local_path);
    }
    const auto size = static_cast<uint64_t>(st.st_size);
    const std::filesystem::path remote(remote_path);
    const std::string dir = remote.parent_path().string();
    const std::string name = remote.filename().string();

    Conn conn;
    conn.p = virConnectOpen(uri.c_str());
    if (conn.p == nullptr) {
      return libvirtError("connecting to " + uri);
    }
    Pool pool;
    pool.p = virStoragePoolLookupByTargetPath(conn.p, dir.c_str());
    if (pool.p == nullptr) {
      std::random_device rd;
      const std::string pool_xml = "<pool type='dir'><name>novacron-upload-" +
                                   std::to_string(rd()) + "</name><target><path>" + xmlEscape(dir) +
                                   "</path></target></pool>";
      pool.p = virStoragePoolCreateXML(conn.p, pool_xml.c_str(), 0);
      if (pool.p == nullptr) {
        return libvirtError("pool over " + dir + " on " + uri);
      }
      pool.transient = true;
    } else if (virStoragePoolRefresh(pool.p, 0) < 0) {
      return libvirtError("refreshing the pool over " + dir);
    }
    // A fresh raw volume of exactly the file's size, so nothing of an older file remains.
    {
      Vol old;
      old.p = virStorageVolLookupByName(pool.p, name.c_str());
      if (old.p != nullptr && virStorageVolDelete(old.p, 0) < 0) {
        return libvirtError("removing the old " + remote_path);
      }
    }
    const std::string vol_xml = "<volume><name>" + xmlEscape(name) +
                                "</name><capacity unit='bytes'>" + std::to_string(size) +
                                "</capacity><allocation>0</allocation><target><format "
                                "type='raw'/></target></volume>";
    Vol vol;
    vol.p = virStorageVolCreateXML(pool.p, vol_xml.c_str(), 0);
    if (vol.p == nullptr) {
      return libvirtError("creating " + remote_path);
    }
    Stream stream;
    stream.p = virStreamNew(conn.p, 0);
    if (stream.p == nullptr || virStorageVolUpload(vol.p, stream.p, 0, size, 0) < 0) {
      return libvirtError("uploading to " + remote_path);
    }
    std::vector<char> buf(1 << 20);
    uint64_t sent = 0;
    while (sent < size) {
      if (cancel != nullptr && cancel->load()) {
        return core::cancelledError("copy of " + local_path + " cancelled");
      }
      const ssize_t n = read(in.fd, buf.data(), buf.size());
      if (n < 0) {
        return core::unavailableError("reading " + local_path);
      }
      if (n == 0) {
        break;
      }
      size_t off = 0;
      while (off < static_cast<size_t>(n)) {
        const int w = virStreamSend(stream.p, buf.data() + off, static_cast<size_t>(n) - off);
        if (w < 0) {
          return libvirtError("sending " + local_path);
        }
        off += static_cast<size_t>(w);
      }
      sent += static_cast<uint64_t>(n);
      if (progress) {
        progress(sent);
      }
    }
    if (virStreamFinish(stream.p) < 0) {
      return libvirtError("finishing the upload to " + remote_path);
    }
    stream.finished = true;
    return core::okStatus();
  }
};

}  // namespace

VolumeUploaderPtr makeLibvirtVolumeUploader() {
  return std::make_shared<LibvirtVolumeUploader>();
}

}  // namespace novacron::node::virt
