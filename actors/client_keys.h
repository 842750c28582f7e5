// Client keys the coordinator issues itself, for programs it runs (a notebook's
// kernels): each is scoped to one namespace and allowed on the client port only
// while its owner exists. The coordinator's ZAP handler implements it; tests may
// leave it out (ActorContext::client_keys is then null).
//
// Thread-safety: called from actors; implementations lock.
#pragma once

#include <string>

namespace cadre::actors {

class ClientKeys {
 public:
  virtual ~ClientKeys() = default;
  // Allows the CURVE public key (Z85) on the client port, for namespace `ns` only.
  virtual void allow(const std::string& public_key, const std::string& ns) = 0;
  // It is refused from the next message on, open connections included.
  virtual void revoke(const std::string& public_key) = 0;
};

}  // namespace cadre::actors
