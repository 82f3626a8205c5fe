// Wire option checks and the TLS certificate files of a migration source.
#include "node-daemon/migration/migrate_params.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

namespace novacron::node::migration {
namespace {

namespace fs = std::filesystem;

TEST(WireOptionsTest, PostCopyWithZstdIsRefused) {
  api::MigrationOptions o;
  EXPECT_TRUE(checkWireOptions(o).isOk());
  o.compression = api::MigrationCompression::kZstd;
  EXPECT_TRUE(checkWireOptions(o).isOk());
  o.postCopy = api::PostCopyOptions{.enabled = true};
  auto s = checkWireOptions(o);
  EXPECT_EQ(s.code(), core::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("multifd"), std::string::npos);
  o.compression = api::MigrationCompression::kXbzrle;
  EXPECT_TRUE(checkWireOptions(o).isOk());
  o.compression = api::MigrationCompression::kZstd;
  o.postCopy->enabled = false;
  EXPECT_TRUE(checkWireOptions(o).isOk());
}

TEST(WireOptionsTest, PkiPath) {
  EXPECT_EQ(withPkiPath("qemu+tls://10.0.0.2/system", ""), "qemu+tls://10.0.0.2/system");
  EXPECT_EQ(withPkiPath("qemu+tls://10.0.0.2/system", "/var/lib/novacron/pki"),
            "qemu+tls://10.0.0.2/system?pkipath=/var/lib/novacron/pki");
  EXPECT_EQ(withPkiPath("qemu+tls://h/system?no_tty=1", "/p"),
            "qemu+tls://h/system?no_tty=1&pkipath=/p");
}

class TlsFilesTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("novacron-tls-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "secret");
  }
  void TearDown() override { fs::remove_all(dir_); }
  void write(const std::string& name, const std::string& content) {
    std::ofstream(dir_ / "secret" / name) << content;
  }
  static std::string read(const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  fs::path dir_;
};

TEST_F(TlsFilesTest, CheckNamesWhatIsMissing) {
  const std::string secret = (dir_ / "secret").string();
  auto s = checkTlsDir(secret);
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("cacert.pem, clientcert.pem, clientkey.pem"), std::string::npos);
  write("cacert.pem", "CA");
  write("clientcert.pem", "CERT");
  EXPECT_NE(checkTlsDir(secret).message().find("lacks clientkey.pem"), std::string::npos);
  write("clientkey.pem", "KEY");
  EXPECT_TRUE(checkTlsDir(secret).isOk());
  EXPECT_FALSE(checkTlsDir("relative/dir").isOk());
  EXPECT_FALSE(checkTlsDir("/tmp/a dir?x=1").isOk()) << "goes into a URI unescaped";
}

TEST_F(TlsFilesTest, InstallUnderLibvirtAndQemuNamesWithPrivateKeys) {
  for (const char* f : {"cacert.pem", "servercert.pem", "serverkey.pem", "clientcert.pem"}) {
    write(f, std::string("content of ") + f);
  }
  const fs::path to = dir_ / "host" / "pki";
  auto s = installTlsFiles((dir_ / "secret").string(), to.string());
  EXPECT_EQ(s.code(), core::StatusCode::kFailedPrecondition) << "clientkey.pem is missing";
  write("clientkey.pem", "content of clientkey.pem");
  if (::geteuid() == 0) {
    // As the operator would: the directory belongs to QEMU's group (any gid but ours here).
    fs::create_directories(to);
    ASSERT_EQ(::chown(to.c_str(), static_cast<uid_t>(-1), 4242), 0);
  }
  ASSERT_TRUE(installTlsFiles((dir_ / "secret").string(), to.string()).isOk());
  for (const std::string& f : tlsHostFiles()) {
    EXPECT_TRUE(fs::exists(to / f)) << f;
  }
  EXPECT_EQ(read(to / "ca-cert.pem"), "content of cacert.pem");
  EXPECT_EQ(read(to / "server-key.pem"), "content of serverkey.pem");
  EXPECT_EQ(read(to / "clientkey.pem"), "content of clientkey.pem");
  struct stat dir {};
  ASSERT_EQ(::stat(to.c_str(), &dir), 0);
  struct stat st {};
  ASSERT_EQ(::stat((to / "client-key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  EXPECT_EQ(st.st_gid, dir.st_gid) << "the directory's group (QEMU's) may read keys";
  if (::geteuid() == 0) {
    EXPECT_EQ(st.st_gid, 4242u);
  }
  ASSERT_EQ(::stat((to / "servercert.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  EXPECT_TRUE(checkTlsDir(to.string()).isOk());
  // Installing again (a rotated Secret) replaces the files.
  write("cacert.pem", "rotated");
  ASSERT_TRUE(installTlsFiles((dir_ / "secret").string(), to.string()).isOk());
  EXPECT_EQ(read(to / "ca-cert.pem"), "rotated");
}

}  // namespace
}  // namespace novacron::node::migration
