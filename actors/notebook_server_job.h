// What a notebook runs as. Its Jupyter server, and the purge of its workspace, are
// one-replica Jobs of the notebook's namespace: manifests the manager applies as a
// user's, so they are placed, isolated, logged and stopped like any job. The
// server's command is Cadre's launcher, which derives the notebook's client
// credentials from the job's token (so no secret travels in a manifest) and
// starts Jupyter, or the user's own server, on the port the scheduler reserved.
#pragma once

#include <chrono>
#include <string>

#include "protocol/spec/notebook_spec.h"
#include "protocol/status.h"

namespace cadre::actors {

// A notebook's own credentials, derived from its token by the coordinator and, the
// same way, by its launcher (so no secret travels in a manifest): a CURVE client key
// pair scoped to its namespace, and a Cadre token for the ingress (its predictions).
inline constexpr const char* kNotebookClientKeyPurpose = "cadre notebook client key";
inline constexpr const char* kNotebookIngressTokenPurpose = "cadre notebook ingress token";
struct NotebookCredentials {
  std::string client_public_key;
  std::string ingress_token;
};
Result<NotebookCredentials> notebook_credentials(const std::string& token);

// The URL path its server is served under, and what its agent probes.
std::string notebook_base_url(const std::string& ns, const std::string& name);
// The checkpoint folder name (under <root>/<namespace>) of a notebook's own workspace.
std::string notebook_folder(const std::string& name);

// Whose job it is and where its files are.
struct NotebookJobContext {
  std::string notebook;   // the notebook's name
  std::string ns;         // its namespace
  std::string workspace;  // its folder on its node
  // Where its kernels reach the coordinator's client port, and its public key: the
  // server gets a client config scoped to the namespace (empty: none).
  std::string client_endpoint;
  std::string server_public_key;
};

// The server job's manifest: the spec's template, run through the launcher.
std::string render_server_job(const std::string& job, const spec::NotebookSpec& spec,
                              const NotebookJobContext& context);
// The job that removes the workspace on its node; it fails past `timeout`.
std::string render_purge_job(const std::string& job, const NotebookJobContext& context,
                             std::chrono::milliseconds timeout);

}  // namespace cadre::actors
