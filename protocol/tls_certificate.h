// A self-signed TLS certificate for an ingress that has no certificate from a CA
// (`cadre local up --tls`): an ECDSA P-256 key and an X.509 v3 certificate naming
// the hosts it is for (subjectAltName), which the clients of that cluster trust
// as their CA (client config `ingress_ca`). Made with OpenSSL's API, no `openssl`
// command needed.
#pragma once

#include <string>
#include <vector>

#include "protocol/status.h"

namespace cadre::protocol {

struct SelfSignedCertificateOptions {
  // IP addresses and DNS names the certificate is valid for.
  std::vector<std::string> hosts = {"127.0.0.1", "localhost"};
  std::string common_name = "cadre-ingress";
  int valid_days = 365;
};

// Writes `cert_file` (PEM certificate, 0644) and `key_file` (PEM private key,
// 0600), replacing what was there.
Status write_self_signed_certificate(const std::string& cert_file, const std::string& key_file,
                                     const SelfSignedCertificateOptions& options = {});

}  // namespace cadre::protocol
