// The dev API server's files: keys, token and kubeconfig are owner-only (0600) from creation,
// whatever the umask, and a rewrite replaces the content at once.
#include "dev-apiserver/file_write.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "dev-apiserver/certs.h"

namespace novacron::devapi {
namespace {

namespace fs = std::filesystem;

mode_t modeOf(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Runs with umask 0 so that any file created wider than asked would show it.
class FileModeTest : public ::testing::Test {
protected:
  void SetUp() override {
    old_umask_ = ::umask(0);
    dir_ = fs::temp_directory_path() /
           ("devapi-files-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override {
    ::umask(old_umask_);
    fs::remove_all(dir_);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  mode_t old_umask_ = 0;
  fs::path dir_;
};

TEST_F(FileModeTest, SecretFileIsOwnerOnlyUnderAPermissiveUmask) {
  ASSERT_TRUE(writeFileAtomically(path("token"), "t0ken\n", kSecretFileMode).isOk());
  EXPECT_EQ(modeOf(path("token")), 0600u);
  EXPECT_EQ(slurp(path("token")), "t0ken\n");
  EXPECT_FALSE(fs::exists(path("token.tmp")));
}

TEST_F(FileModeTest, RewriteReplacesContentAndKeepsTheMode) {
  ASSERT_TRUE(writeFileAtomically(path("token"), "first-and-longer\n", kSecretFileMode).isOk());
  ASSERT_TRUE(writeFileAtomically(path("token"), "second\n", kSecretFileMode).isOk());
  EXPECT_EQ(slurp(path("token")), "second\n");
  EXPECT_EQ(modeOf(path("token")), 0600u);
}

// A world-readable leftover of an interrupted write is not reused: the new file is a new inode.
TEST_F(FileModeTest, AWideLeftoverTemporaryIsNotReused) {
  { std::ofstream(path("key.tmp")) << "old"; }
  ASSERT_EQ(::chmod(path("key.tmp").c_str(), 0666), 0);
  ASSERT_TRUE(writeFileAtomically(path("key"), "secret", kSecretFileMode).isOk());
  EXPECT_EQ(modeOf(path("key")), 0600u);
  EXPECT_EQ(slurp(path("key")), "secret");
}

TEST_F(FileModeTest, PublicFileIsReadableByAll) {
  ASSERT_TRUE(writeFileAtomically(path("ca.crt"), "cert", kPublicFileMode).isOk());
  EXPECT_EQ(modeOf(path("ca.crt")), 0644u);
}

TEST_F(FileModeTest, FailsWhenTheDirectoryIsMissing) {
  EXPECT_FALSE(writeFileAtomically(path("missing/token"), "x", kSecretFileMode).isOk());
}

TEST_F(FileModeTest, TlsMaterialAndKubeconfig) {
  const std::string certs = path("certs");
  auto tls = loadOrCreateTls(certs);
  ASSERT_TRUE(tls.isOk()) << tls.status();
  EXPECT_EQ(modeOf(certs), 0700u) << "a cert dir the server creates is owner-only";
  for (const char* key : {"ca.key", "server.key", "client.key"}) {
    EXPECT_EQ(modeOf(certs + "/" + key), 0600u) << key;
  }
  for (const char* cert : {"ca.crt", "server.crt", "client.crt"}) {
    EXPECT_EQ(modeOf(certs + "/" + cert), 0644u) << cert;
  }
  ASSERT_TRUE(writeKubeconfig(path("kubeconfig"), "https://127.0.0.1:6443", *tls, "tok").isOk());
  EXPECT_EQ(modeOf(path("kubeconfig")), 0600u);
  // Loading again reuses the files.
  auto again = loadOrCreateTls(certs);
  ASSERT_TRUE(again.isOk()) << again.status();
  EXPECT_EQ(again->ca_cert_pem, tls->ca_cert_pem);
}

}  // namespace
}  // namespace novacron::devapi
