#include "protocol/tls_certificate.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>

namespace cadre::protocol {
namespace {

template <class T, void (*Free)(T*)>
using Owned = std::unique_ptr<T, std::integral_constant<decltype(Free), Free>>;

// The last OpenSSL error, for a message that says why.
std::string openssl_error(const std::string& what) {
  char text[256] = "unknown error";
  if (const unsigned long e = ERR_get_error()) ERR_error_string_n(e, text, sizeof(text));
  return "TLS certificate: " + what + ": " + text;
}

bool is_ip_address(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

Status add_extension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  Owned<X509_EXTENSION, X509_EXTENSION_free> ext(
      X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) {
    return Internal(openssl_error("extension '" + value + "'"));
  }
  return Status::Ok();
}

Status write_pem(const std::string& path, mode_t mode, bool (*write)(FILE*, void*), void* what) {
  FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr) return Unavailable("TLS certificate: cannot write " + path);
  // Narrow the mode before anything secret is in the file.
  const bool ok = ::fchmod(fileno(out), mode) == 0 && write(out, what);
  if (std::fclose(out) != 0 || !ok) return Unavailable("TLS certificate: cannot write " + path);
  return Status::Ok();
}

}  // namespace

Status write_self_signed_certificate(const std::string& cert_file, const std::string& key_file,
                                     const SelfSignedCertificateOptions& options) {
  if (options.hosts.empty()) return InvalidArgument("TLS certificate: no host to name");
  if (options.valid_days < 1) return InvalidArgument("TLS certificate: valid_days must be >= 1");
  Owned<EVP_PKEY, EVP_PKEY_free> key(EVP_EC_gen("P-256"));
  if (!key) return Internal(openssl_error("EC key generation"));
  Owned<X509, X509_free> cert(X509_new());
  if (!cert) return Internal(openssl_error("X509_new"));
  // A random 64-bit serial: certificates made again for the same hosts differ.
  unsigned char serial[8];
  if (RAND_bytes(serial, sizeof(serial)) != 1) return Internal(openssl_error("serial"));
  serial[0] &= 0x7f;  // positive
  Owned<BIGNUM, BN_free> bn(BN_bin2bn(serial, sizeof(serial), nullptr));
  if (!bn || !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) ||
      X509_set_version(cert.get(), 2) != 1 ||
      !X509_gmtime_adj(X509_getm_notBefore(cert.get()), -300) ||
      !X509_gmtime_adj(X509_getm_notAfter(cert.get()), int64_t{options.valid_days} * 86400) ||
      X509_set_pubkey(cert.get(), key.get()) != 1) {
    return Internal(openssl_error("certificate fields"));
  }
  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(
          name, "CN", MBSTRING_UTF8,
          reinterpret_cast<const unsigned char*>(options.common_name.c_str()), -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), name) != 1) {
    return Internal(openssl_error("subject"));
  }
  std::string alt_names;
  for (const auto& host : options.hosts) {
    if (!alt_names.empty()) alt_names += ",";
    alt_names += (is_ip_address(host) ? "IP:" : "DNS:") + host;
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert.get(), cert.get(), nullptr, nullptr, 0);
  // Its own CA (clients trust it as one), and a server certificate.
  RETURN_IF_ERROR(add_extension(cert.get(), &ctx, NID_subject_alt_name, alt_names));
  RETURN_IF_ERROR(add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:TRUE"));
  RETURN_IF_ERROR(
      add_extension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature,keyCertSign"));
  RETURN_IF_ERROR(add_extension(cert.get(), &ctx, NID_ext_key_usage, "serverAuth"));
  if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) return Internal(openssl_error("sign"));

  RETURN_IF_ERROR(write_pem(
      key_file, 0600,
      [](FILE* out, void* k) {
        return PEM_write_PrivateKey(out, static_cast<EVP_PKEY*>(k), nullptr, nullptr, 0, nullptr,
                                    nullptr) == 1;
      },
      key.get()));
  return write_pem(
      cert_file, 0644,
      [](FILE* out, void* c) { return PEM_write_X509(out, static_cast<X509*>(c)) == 1; },
      cert.get());
}

}  // namespace cadre::protocol
