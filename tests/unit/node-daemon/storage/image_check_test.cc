// Untrusted image checks with the real qemu-img: images that refer to host files are refused
// before qemu-img opens them; plain qcow2 and raw images are converted into standalone qcow2.
#include "node-daemon/storage/image_check.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <stdlib.h>

#include "node-daemon/storage/process.h"

namespace novacron::node::storage {
namespace {
namespace fs = std::filesystem;

class ImageCheckTest : public ::testing::Test {
protected:
  void SetUp() override {
    char tmpl[] = "/tmp/novacron-imgcheck-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string qemuImg(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"qemu-img"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = runProcess(argv, std::chrono::seconds(60));
    EXPECT_TRUE(r.isOk() && r->exit_code == 0) << (r.isOk() ? r->output : r.status().message());
    return r.isOk() ? r->output : "";
  }

  std::string dir_;
  ImageCheckOptions options_;
};

TEST_F(ImageCheckTest, RefusesAQcow2WhoseBackingFileIsAHostFile) {
  const std::string img = dir_ + "/evil.qcow2";
  qemuImg({"create", "-q", "-f", "qcow2", "-b", "/etc/hostname", "-F", "raw", img});
  auto header = readImageHeader(img);
  ASSERT_TRUE(header.isOk()) << header.status();
  EXPECT_EQ(header->backing_file, "/etc/hostname");
  auto r = checkUntrustedImage(img, "http://x/evil.qcow2", options_, nullptr);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("refers to a backing file /etc/hostname"), std::string::npos)
      << r.status();
  EXPECT_NE(r.status().message().find("are refused"), std::string::npos);
}

TEST_F(ImageCheckTest, RefusesAQcow2WithAnExternalDataFile) {
  const std::string img = dir_ + "/data.qcow2";
  qemuImg({"create", "-q", "-f", "qcow2", "-o", "data_file=" + dir_ + "/data.raw", img, "1M"});
  auto r = checkUntrustedImage(img, "http://x/data.qcow2", options_, nullptr);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("external data file " + dir_ + "/data.raw"),
            std::string::npos)
      << r.status();
}

TEST_F(ImageCheckTest, RefusesOtherFormatsByTheirMagic) {
  const std::string img = dir_ + "/disk.vmdk";
  qemuImg({"create", "-q", "-f", "vmdk", img, "1M"});
  auto r = checkUntrustedImage(img, "http://x/disk.vmdk", options_, nullptr);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("vmdk"), std::string::npos) << r.status();
  std::ofstream(dir_ + "/desc.vmdk") << "# Disk DescriptorFile\nRW 8 FLAT \"/etc/shadow\" 0\n";
  EXPECT_EQ(checkUntrustedImage(dir_ + "/desc.vmdk", "d", options_, nullptr).status().code(),
            core::StatusCode::kInvalidArgument);
}

TEST_F(ImageCheckTest, RefusesTruncatedQcow2AndOversizedImages) {
  std::ofstream(dir_ + "/short.qcow2", std::ios::binary) << std::string("QFI\xfb\0\0\0\x03", 8);
  EXPECT_EQ(checkUntrustedImage(dir_ + "/short.qcow2", "s", options_, nullptr).status().code(),
            core::StatusCode::kInvalidArgument);
  const std::string big = dir_ + "/big.qcow2";
  qemuImg({"create", "-q", "-f", "qcow2", big, "2G"});
  ImageCheckOptions small = options_;
  small.max_virtual_bytes = 1ULL << 30;
  auto r = checkUntrustedImage(big, "big", small, nullptr);
  EXPECT_EQ(r.status().code(), core::StatusCode::kInvalidArgument) << r.status();
}

TEST_F(ImageCheckTest, QemuImgInfoAnswersAreCheckedToo) {
  // Defence in depth: what qemu-img reports is refused even if the header reading missed it.
  const std::vector<std::string> refused = {
      R"({"format":"qcow2","virtual-size":1,"backing-filename":"/etc/shadow"})",
      R"({"format":"qcow2","virtual-size":1,"full-backing-filename":"/etc/shadow"})",
      R"({"format":"qcow2","virtual-size":1,"format-specific":{"type":"qcow2",)"
      R"("data":{"data-file":"/dev/sda"}}})",
      R"({"format":"qcow2","virtual-size":1,"filename":"json:{\"file.filename\":\"/etc/shadow\"}"})",
      R"({"format":"qcow2","virtual-size":1,"encrypted":true})",
      R"({"format":"raw","virtual-size":1})",
  };
  for (const auto& json : refused) {
    EXPECT_EQ(checkQemuImgInfo(json, ImageFormat::kQcow2, "x", options_).code(),
              core::StatusCode::kInvalidArgument)
        << json;
  }
  EXPECT_TRUE(checkQemuImgInfo(R"({"format":"qcow2","virtual-size":1048576,"filename":"/x"})",
                               ImageFormat::kQcow2, "x", options_)
                  .isOk());
}

TEST_F(ImageCheckTest, ConvertsPlainQcow2AndRawIntoStandaloneQcow2) {
  const std::string qcow = dir_ + "/plain.qcow2";
  qemuImg({"create", "-q", "-f", "qcow2", qcow, "4M"});
  const std::string raw = dir_ + "/plain.raw";
  std::ofstream(raw, std::ios::binary) << std::string(1 << 20, 'x');
  for (const auto& [src, want] : std::vector<std::pair<std::string, ImageFormat>>{
           {qcow, ImageFormat::kQcow2}, {raw, ImageFormat::kRaw}}) {
    auto format = checkUntrustedImage(src, src, options_, nullptr);
    ASSERT_TRUE(format.isOk()) << format.status();
    EXPECT_EQ(*format, want);
    const std::string out = src + ".out";
    ASSERT_TRUE(convertToStandalone(src, *format, out, options_, nullptr).isOk());
    auto header = readImageHeader(out);
    ASSERT_TRUE(header.isOk());
    EXPECT_EQ(header->format, ImageFormat::kQcow2);
    EXPECT_FALSE(header->backing_file);
    EXPECT_FALSE(header->data_file);
    EXPECT_TRUE(checkUntrustedImage(out, out, options_, nullptr).isOk());
  }
}

TEST(ProcessLimits, RunsUnderPrlimitAndReportsSignals) {
  ProcessOptions o;
  o.limits.file_size_bytes = 1024;
  char tmpl[] = "/tmp/novacron-fsize-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  auto r = runProcess({"dd", "if=/dev/zero", "of=" + dir + "/f", "bs=4096", "count=4"}, o);
  ASSERT_TRUE(r.isOk()) << r.status();
  EXPECT_NE(r->exit_code, 0) << "RLIMIT_FSIZE must stop the writer";
  EXPECT_LE(fs::file_size(dir + "/f"), 1024u);
  fs::remove_all(dir);

  std::atomic<bool> cancel{true};
  o = ProcessOptions{};
  o.cancel = &cancel;
  EXPECT_EQ(runProcess({"sleep", "30"}, o).status().code(), core::StatusCode::kCancelled);
}

}  // namespace
}  // namespace novacron::node::storage
