#include "protocol/tls_certificate.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <string>

#include "tests/support/status_matchers.h"
#include "tests/support/temp_dir.h"

namespace cadre::protocol::tls_certificate_test {
namespace {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

X509Ptr read_certificate(const std::string& path) {
  FILE* in = std::fopen(path.c_str(), "r");
  if (in == nullptr) return {nullptr, X509_free};
  X509Ptr cert(PEM_read_X509(in, nullptr, nullptr, nullptr), X509_free);
  std::fclose(in);
  return cert;
}

KeyPtr read_key(const std::string& path) {
  FILE* in = std::fopen(path.c_str(), "r");
  if (in == nullptr) return {nullptr, EVP_PKEY_free};
  KeyPtr key(PEM_read_PrivateKey(in, nullptr, nullptr, nullptr), EVP_PKEY_free);
  std::fclose(in);
  return key;
}

TEST(SelfSignedCertificate, IsForTheHostsItNamesAndSignedByItsOwnPrivateKey) {
  testing::TempDir dir;
  const std::string cert_file = dir.file("tls.crt"), key_file = dir.file("tls.key");
  SelfSignedCertificateOptions options;
  options.hosts = {"127.0.0.1", "head.example", "::1"};
  ASSERT_OK(write_self_signed_certificate(cert_file, key_file, options));
  auto cert = read_certificate(cert_file);
  auto key = read_key(key_file);
  ASSERT_TRUE(cert && key);
  EXPECT_EQ(X509_check_private_key(cert.get(), key.get()), 1);
  EXPECT_EQ(X509_verify(cert.get(), key.get()), 1) << "self-signed";
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_host(cert.get(), "head.example", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_host(cert.get(), "other.example", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_ip_asc(cert.get(), "10.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_purpose(cert.get(), X509_PURPOSE_SSL_SERVER, 0), 1);
}

TEST(SelfSignedCertificate, KeepsItsKeyFromOtherUsersAndDiffersEachTime) {
  testing::TempDir dir;
  ASSERT_OK(write_self_signed_certificate(dir.file("a.crt"), dir.file("a.key")));
  ASSERT_OK(write_self_signed_certificate(dir.file("b.crt"), dir.file("b.key")));
  struct stat st {};
  ASSERT_EQ(::stat(dir.file("a.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto a = read_certificate(dir.file("a.crt"));
  auto b = read_certificate(dir.file("b.crt"));
  ASSERT_TRUE(a && b);
  EXPECT_NE(ASN1_INTEGER_cmp(X509_get0_serialNumber(a.get()), X509_get0_serialNumber(b.get())), 0);
  auto key_b = read_key(dir.file("b.key"));
  EXPECT_NE(X509_check_private_key(a.get(), key_b.get()), 1) << "a new key each time";
}

TEST(SelfSignedCertificate, RefusesNoHostsAndNamesAFolderItCannotWrite) {
  testing::TempDir dir;
  SelfSignedCertificateOptions none;
  none.hosts.clear();
  EXPECT_FALSE(write_self_signed_certificate(dir.file("c"), dir.file("k"), none).ok());
  const Status status =
      write_self_signed_certificate(dir.file("missing/c.crt"), dir.file("missing/c.key"));
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.message().find("missing/c.key"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace cadre::protocol::tls_certificate_test
