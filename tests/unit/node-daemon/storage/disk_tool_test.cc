// The disk tool's qcow2 images checked by the real qemu tools (qemu-utils, installed by
// hack/install-deps.sh): byte for byte what `qemu-img create` writes, clean for `qemu-img check`,
// the right size, format and backing file for `qemu-img info`, and an overlay that reads its
// base's data and takes writes without touching the base (qemu-io). Skipped without qemu-img.
#include "node-daemon/storage/disk_tool.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "node-daemon/storage/process.h"

namespace novacron::node::storage {
namespace {
namespace fs = std::filesystem;

class DiskToolTest : public ::testing::Test {
protected:
  void SetUp() override {
    auto probe = runProcess({"qemu-img", "--version"}, std::chrono::seconds(30));
    if (!probe.isOk() || probe->exit_code != 0) {
      GTEST_SKIP() << "qemu-img is not on PATH";
    }
    char tmpl[] = "/tmp/novacron-disktool-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    if (!dir_.empty()) {
      fs::remove_all(dir_);
    }
  }

  ProcessResult run(const std::vector<std::string>& argv) {
    auto r = runProcess(argv, std::chrono::seconds(60));
    EXPECT_TRUE(r.isOk()) << r.status();
    return r.isOk() ? *r : ProcessResult{};
  }
  std::string ok(const std::vector<std::string>& argv) {
    ProcessResult r = run(argv);
    EXPECT_EQ(r.exit_code, 0) << argv[0] << " " << argv[1] << ": " << r.output;
    return r.output;
  }
  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  // Same bytes as qemu-img's file, naming the first difference.
  static void expectSameBytes(const std::string& ours, const std::string& qemus) {
    const std::string a = slurp(ours);
    const std::string b = slurp(qemus);
    EXPECT_EQ(a.size(), b.size()) << ours;
    const auto diff = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
    EXPECT_TRUE(diff.first == a.end() && diff.second == b.end())
        << ours << " differs from qemu-img's at byte " << (diff.first - a.begin());
  }
  // `qemu-img check` finds nothing, and `qemu-img info` shows these facts.
  void expectValid(const std::string& path, uint64_t virtual_size, const std::string& backing = "",
                   const std::string& backing_format = "") {
    EXPECT_NE(ok({"qemu-img", "check", "-f", "qcow2", path}).find("No errors were found"),
              std::string::npos);
    const std::string info = ok({"qemu-img", "info", "-f", "qcow2", "--output=json", path});
    EXPECT_NE(info.find("\"virtual-size\": " + std::to_string(virtual_size) + ","),
              std::string::npos)
        << info;
    EXPECT_NE(info.find("\"format\": \"qcow2\""), std::string::npos) << info;
    EXPECT_NE(info.find("\"compat\": \"1.1\""), std::string::npos) << info;
    if (backing.empty()) {
      EXPECT_EQ(info.find("backing-filename"), std::string::npos) << info;
    } else {
      EXPECT_NE(info.find("\"backing-filename\": \"" + backing + "\""), std::string::npos) << info;
      EXPECT_NE(info.find("\"backing-filename-format\": \"" + backing_format + "\""),
                std::string::npos)
          << info;
    }
  }
  // Nothing but `keep` in the folder: no temporary file left behind.
  void expectOnly(const std::set<std::string>& keep) {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) {
      names.insert(e.path().filename().string());
    }
    EXPECT_EQ(names, keep);
  }

  DiskToolPtr tool_ = makeDiskTool();
  std::string dir_;
};

TEST_F(DiskToolTest, EmptyDisksAreWhatQemuImgCreates) {
  // Sector and cluster remainders, one L1 entry past 512 GiB, one L1 cluster past 4 TiB, the max.
  const std::vector<std::pair<int64_t, uint64_t>> sizes = {
      {1LL << 20, 1ULL << 20},
      {1000001, 1000448},
      {(64LL << 20) + 1, (64ULL << 20) + 512},
      {(512LL << 30) + 65536, (512ULL << 30) + 65536},
      {(4LL << 40) + (1LL << 30), (4ULL << 40) + (1ULL << 30)},
      {64LL << 40, 64ULL << 40},
  };
  for (const auto& [bytes, virtual_size] : sizes) {
    SCOPED_TRACE(bytes);
    const std::string ours = dir_ + "/ours.qcow2";
    const std::string qemus = dir_ + "/qemu.qcow2";
    ASSERT_TRUE(tool_->createEmpty(ours, bytes).isOk());
    ok({"qemu-img", "create", "-q", "-f", "qcow2", qemus, std::to_string(bytes)});
    expectSameBytes(ours, qemus);
    expectValid(ours, virtual_size);
    expectOnly({"ours.qcow2", "qemu.qcow2"});
    fs::remove(ours);
    fs::remove(qemus);
  }
}

TEST_F(DiskToolTest, OverlayOfARawBaseReadsTheBaseAndKeepsItsWrites) {
  // A raw base of 1000001 bytes (not a whole sector), 0xab in its first 64 KiB.
  const std::string base = dir_ + "/base.raw";
  std::string content(1000001, '\0');
  std::fill_n(content.begin(), 65536, '\xab');
  std::ofstream(base, std::ios::binary) << content;
  const std::string ours = dir_ + "/ours.qcow2";
  ASSERT_TRUE(tool_->createOverlay(base, ImageFormat::kRaw, ours).isOk());
  ok({"qemu-img", "create", "-q", "-f", "qcow2", "-F", "raw", "-b", base, dir_ + "/qemu.qcow2"});
  expectSameBytes(ours, dir_ + "/qemu.qcow2");
  expectValid(ours, 1000448, base, "raw");

  if (run({"qemu-io", "--version"}).exit_code != 0) {
    GTEST_SKIP() << "qemu-io is not on PATH";
  }
  auto io = [&](const std::string& fmt, const std::string& path, const std::string& cmd) {
    const std::string out = ok({"qemu-io", "-f", fmt, "-c", cmd, path});
    EXPECT_EQ(out.find("Pattern verification failed"), std::string::npos) << cmd << ": " << out;
  };
  io("qcow2", ours, "read -P 0xab 0 64k");
  io("qcow2", ours, "read -P 0 64k 64k");
  io("qcow2", ours, "write -P 0xcd 4k 8k");
  io("qcow2", ours, "read -P 0xcd 4k 8k");
  io("qcow2", ours, "read -P 0xab 0 4k");
  io("raw", base, "read -P 0xab 0 64k");  // the base is untouched
  expectValid(ours, 1000448, base, "raw");
}

TEST_F(DiskToolTest, OverlayOfAQcow2BaseHasTheBasesVirtualSize) {
  const std::string base = dir_ + "/base.qcow2";
  ok({"qemu-img", "create", "-q", "-f", "qcow2", base, "3G"});
  const std::string ours = dir_ + "/ours.qcow2";
  ASSERT_TRUE(tool_->createOverlay(base, ImageFormat::kQcow2, ours).isOk());
  ok({"qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base, dir_ + "/qemu.qcow2"});
  expectSameBytes(ours, dir_ + "/qemu.qcow2");
  expectValid(ours, 3ULL << 30, base, "qcow2");
  if (run({"qemu-io", "--version"}).exit_code == 0) {
    ok({"qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 1G 64k", base});
    const std::string out = ok({"qemu-io", "-f", "qcow2", "-c", "read -P 0x5a 1G 64k", ours});
    EXPECT_EQ(out.find("Pattern verification failed"), std::string::npos) << out;
  }
}

TEST_F(DiskToolTest, RefusesOddBasesAndLeavesNothingBehind) {
  const std::string out = dir_ + "/disk.qcow2";
  // A qcow2 base whose size field is not a whole number of sectors (qemu would round it down).
  const std::string odd = dir_ + "/odd.qcow2";
  ok({"qemu-img", "create", "-q", "-f", "qcow2", odd, "1M"});
  {
    std::fstream f(odd, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(31);
    f.put('\x01');  // virtual size 1 MiB + 1
  }
  EXPECT_EQ(tool_->createOverlay(odd, ImageFormat::kQcow2, out).code(),
            core::StatusCode::kInvalidArgument);
  // A raw file recorded as qcow2.
  std::ofstream(dir_ + "/plain.raw", std::ios::binary) << std::string(4096, 'x');
  EXPECT_EQ(tool_->createOverlay(dir_ + "/plain.raw", ImageFormat::kQcow2, out).code(),
            core::StatusCode::kInvalidArgument);
  // An empty raw base (virtual size 0), a missing one, a relative name.
  std::ofstream(dir_ + "/empty.raw", std::ios::binary).flush();
  EXPECT_EQ(tool_->createOverlay(dir_ + "/empty.raw", ImageFormat::kRaw, out).code(),
            core::StatusCode::kInvalidArgument);
  EXPECT_EQ(tool_->createOverlay(dir_ + "/missing.raw", ImageFormat::kRaw, out).code(),
            core::StatusCode::kNotFound);
  EXPECT_EQ(tool_->createOverlay("plain.raw", ImageFormat::kRaw, out).code(),
            core::StatusCode::kInvalidArgument);
  // Sizes out of range.
  EXPECT_EQ(tool_->createEmpty(out, 0).code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(tool_->createEmpty(out, -512).code(), core::StatusCode::kInvalidArgument);
  EXPECT_EQ(tool_->createEmpty(out, (64LL << 40) + 1).code(), core::StatusCode::kInvalidArgument);
  // A folder that does not exist: Unavailable, nothing created.
  EXPECT_EQ(tool_->createEmpty(dir_ + "/no/such/disk.qcow2", 1 << 20).code(),
            core::StatusCode::kUnavailable);
  expectOnly({"odd.qcow2", "plain.raw", "empty.raw"});
}

// A VM's disk is never writable by other users, whatever the node-daemon's umask (a container
// runtime may start it with umask 0): mode 0644, as qemu-img created it.
TEST_F(DiskToolTest, DisksAreNotWritableByOthersUnderUmaskZero) {
  const mode_t old = ::umask(0);
  const std::string empty = dir_ + "/empty.qcow2";
  const core::Status made = tool_->createEmpty(empty, 1 << 20);
  ::umask(old);
  ASSERT_TRUE(made.isOk()) << made;
  EXPECT_EQ(fs::status(empty).permissions(), fs::perms::owner_read | fs::perms::owner_write |
                                                 fs::perms::group_read | fs::perms::others_read);
}

}  // namespace
}  // namespace novacron::node::storage
