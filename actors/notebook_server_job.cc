#include "actors/notebook_server_job.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>

#include "protocol/curve_keys.h"
#include "protocol/spec/manifest.h"
#include "protocol/spec/quantity.h"
#include "protocol/user_tokens.h"

namespace cadre::actors {
namespace {

// How a server starts ($0: its working folder; $1: "jupyter" to add Cadre's
// Jupyter flags, "command" to run the user's command as it is; then the command).
// Jupyter's token goes to a 0600 file in the replica's own folder, never on a
// command line or in the environment of what the server starts; the server
// listens on the node's address and the port the scheduler reserved for it.
constexpr const char* kLauncher = R"sh(umask 077
printf '%s' "$CADRE_JOB_TOKEN" > "$PWD/jupyter-token" || exit 66
export JUPYTER_TOKEN_FILE="$PWD/jupyter-token" JUPYTER_RUNTIME_DIR="$PWD/jupyter-runtime"
# The kernels' client config: a key pair and an ingress token derived from the job
# token as the coordinator derives them (notebook_credentials), scoped to this
# notebook's namespace, in 0600 files of this folder.
# Jupyter's own Python has pyzmq; the first python3 that has it is used.
py=
for candidate in /usr/bin/python3 python3; do
  "$candidate" -c 'import zmq' 2>/dev/null && { py="$candidate"; break; }
done
if [ -n "$CADRE_COORDINATOR" ] && [ -n "$CADRE_COORDINATOR_KEY" ] && [ -n "$py" ]; then
  mkdir -p "$PWD/cadre-client" && "$py" - "$PWD/cadre-client" <<'PY' && export CADRE_CONFIG="$PWD/cadre-client/config"
import hashlib, os, sys
import zmq
from zmq.utils import z85
folder, token = sys.argv[1], os.environ["CADRE_JOB_TOKEN"].encode()
secret = z85.encode(hashlib.sha256(b"cadre notebook client key\0" + token).digest())
public = zmq.curve_public(secret)
ingress = "cadre_" + hashlib.sha256(b"cadre notebook ingress token\0" + token).hexdigest()
def write(name, text):
    fd = os.open(os.path.join(folder, name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
write("client.key", "# this notebook's CURVE key pair (namespace %s); keep secret\npublic = %s\nsecret = %s\n"
      % (os.environ.get("CADRE_NAMESPACE", ""), public.decode(), secret.decode()))
write("server.pub", os.environ["CADRE_COORDINATOR_KEY"] + "\n")
write("token", ingress + "\n")
write("config", "# Cadre client config of this notebook: its namespace only\n"
      "coordinator: %s\nserver_key: %s/server.pub\nkey: %s/client.key\ntoken_file: %s/token\n"
      % (os.environ["CADRE_COORDINATOR"], folder, folder, folder))
PY
fi
unset CADRE_JOB_TOKEN
umask 022
dir="$0"; mode="$1"; shift
mkdir -p "$dir" && cd "$dir" || { echo "cadre: cannot use the folder $dir" >&2; exit 66; }
[ -n "$HOME" ] && [ -w "$HOME" ] || export HOME="$dir"
export CADRE_NOTEBOOK_HOST="${CADRE_PEERS%:*}" CADRE_NOTEBOOK_PORT="${CADRE_PEERS##*:}"
if [ "$mode" = jupyter ]; then
  [ "$(id -u)" = 0 ] && set -- "$@" --allow-root
  exec "$@" --no-browser --ip="$CADRE_NOTEBOOK_HOST" --port="$CADRE_NOTEBOOK_PORT" \
    --port-retries=0 --notebook-dir="$dir" --NotebookApp.base_url="$CADRE_NOTEBOOK_BASE_URL" \
    --NotebookApp.allow_remote_access=True
fi
exec "$@"
)sh";

// A Job of the notebook's namespace, labelled with it, up to its open spec map.
void begin_job(YAML::Emitter& y, const std::string& job, const NotebookJobContext& c) {
  y << YAML::BeginMap << YAML::Key << "apiVersion" << YAML::Value << spec::kApiVersion;
  y << YAML::Key << "kind" << YAML::Value << "Job";
  y << YAML::Key << "metadata" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "name" << YAML::Value << job;
  y << YAML::Key << "namespace" << YAML::Value << c.ns;
  y << YAML::Key << "labels" << YAML::Value << YAML::BeginMap << YAML::Key << "notebook"
    << YAML::Value << c.notebook << YAML::EndMap;
  y << YAML::EndMap;
  y << YAML::Key << "spec" << YAML::Value << YAML::BeginMap;
}

}  // namespace

std::string notebook_base_url(const std::string& ns, const std::string& name) {
  return "/notebook/" + ns + "/" + name + "/";
}

std::string notebook_folder(const std::string& name) { return "_notebooks/" + name; }

Result<NotebookCredentials> notebook_credentials(const std::string& token) {
  ASSIGN_OR_RETURN(auto keys, protocol::derive_keypair(kNotebookClientKeyPurpose, token));
  std::string seed = kNotebookIngressTokenPurpose;
  seed.push_back('\0');
  seed += token;
  return NotebookCredentials{keys.public_key, "cadre_" + protocol::token_sha256(seed)};
}

std::string render_server_job(const std::string& job, const spec::NotebookSpec& spec,
                              const NotebookJobContext& c) {
  const auto& t = spec.replica;
  YAML::Emitter y;
  begin_job(y, job, c);
  y << YAML::Key << "template" << YAML::Value << YAML::BeginMap;
  // workingDir is relative to the workspace, or absolute.
  const std::string dir =
      t.working_dir.empty()
          ? c.workspace
          : (std::filesystem::path(c.workspace) / t.working_dir).lexically_normal().string();
  y << YAML::Key << "command" << YAML::Value << YAML::Flow << YAML::BeginSeq << "sh"
    << "-c" << kLauncher << dir << (spec.default_command ? "jupyter" : "command") << YAML::EndSeq;
  y << YAML::Key << "args" << YAML::Value << YAML::BeginSeq;
  for (const auto& a : t.command) y << a;
  for (const auto& a : t.args) y << a;
  y << YAML::EndSeq;
  y << YAML::Key << "env" << YAML::Value << YAML::BeginSeq;
  auto var = [&](const std::string& n, const std::string& v) {
    y << YAML::BeginMap << YAML::Key << "name" << YAML::Value << n << YAML::Key << "value"
      << YAML::Value << YAML::DoubleQuoted << v << YAML::EndMap;
  };
  var("CADRE_NOTEBOOK", c.notebook);
  var("CADRE_NOTEBOOK_BASE_URL", notebook_base_url(c.ns, c.notebook));
  var("CADRE_NOTEBOOK_WORKSPACE", c.workspace);
  if (!c.client_endpoint.empty() && !c.server_public_key.empty()) {
    var("CADRE_COORDINATOR", c.client_endpoint);
    var("CADRE_COORDINATOR_KEY", c.server_public_key);
  }
  for (const auto& e : t.env) var(e.name, e.value);
  y << YAML::EndSeq;
  const auto& r = t.resources;
  y << YAML::Key << "resources" << YAML::Value << YAML::BeginMap;
  if (r.cpu_millis > 0) y << YAML::Key << "cpu" << YAML::Value << spec::format_cpu(r.cpu_millis);
  if (r.memory_bytes > 0) {
    y << YAML::Key << "memory" << YAML::Value << spec::format_memory(r.memory_bytes);
  }
  y << YAML::Key << "gpu" << YAML::Value << r.gpus << YAML::EndMap;
  // Only the first server's placement uses it: later ones are pinned to its node.
  if (!t.node_selector.empty()) {
    y << YAML::Key << "nodeSelector" << YAML::Value << YAML::BeginMap;
    for (const auto& [key, value] : t.node_selector) y << YAML::Key << key << YAML::Value << value;
    y << YAML::EndMap;
  }
  // Jupyter saves and shuts its kernels down on SIGTERM within a few seconds.
  y << YAML::Key << "terminationGracePeriodSeconds" << YAML::Value
    << t.termination_grace_seconds.value_or(10);
  y << YAML::EndMap << YAML::EndMap << YAML::EndMap;
  return std::string(y.c_str()) + "\n";
}

std::string render_purge_job(const std::string& job, const NotebookJobContext& c,
                             std::chrono::milliseconds timeout) {
  // Removes what is inside (the replica's user owns it), then the folder itself
  // where its parent allows; a folder that is not there is already purged.
  constexpr const char* kPurge =
      R"sh([ -e "$0" ] || exit 0
find "$0" -mindepth 1 -delete || { echo "cadre: cannot remove everything in $0" >&2; exit 1; }
rmdir "$0" 2>/dev/null
exit 0
)sh";
  YAML::Emitter y;
  begin_job(y, job, c);
  y << YAML::Key << "activeDeadlineSeconds" << YAML::Value
    << std::max<int64_t>(1, timeout.count() / 1000);
  y << YAML::Key << "template" << YAML::Value << YAML::BeginMap;
  y << YAML::Key << "command" << YAML::Value << YAML::Flow << YAML::BeginSeq << "sh"
    << "-c" << kPurge << c.workspace << YAML::EndSeq;
  y << YAML::Key << "resources" << YAML::Value << YAML::BeginMap << YAML::Key << "cpu"
    << YAML::Value << "100m" << YAML::Key << "memory" << YAML::Value << "64Mi" << YAML::EndMap;
  y << YAML::EndMap << YAML::EndMap << YAML::EndMap;
  return std::string(y.c_str()) + "\n";
}

}  // namespace cadre::actors
