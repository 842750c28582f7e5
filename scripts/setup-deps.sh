#!/usr/bin/env bash
# Installs every Debian package Cadre needs to build, test and run its quickstart.
# Idempotent: apt-get skips what is already there. --browser adds headless Chromium
# and Selenium for the dashboard's browser tests (ctest -L browser).
set -euo pipefail
browser=0
[ "${1:-}" = "--browser" ] && browser=1

packages=(
  build-essential cmake ninja-build pkg-config git
  libcaf-dev                        # coordinator actor system (CAF 0.17)
  libzmq3-dev cppzmq-dev            # wire transport
  libsodium-dev                     # HMAC and Curve25519 for replica-to-replica authentication
  libmsgpack-cxx-dev                # wire encoding
  libspdlog-dev
  libyaml-cpp-dev nlohmann-json3-dev libcli11-dev libcpp-httplib-dev
  libsqlite3-dev                    # coordinator state store
  libopenblas-dev zlib1g-dev        # CPU kernels, IDX .gz reader
  libopenmpi-dev openmpi-bin        # MPI collective backend and peer benchmark
  libgtest-dev libgmock-dev libbenchmark-dev
  libboost-dev                      # Boost.Beast: cadre-serve's and cadre-ingress's HTTP
  libssl-dev openssl                # HTTPS at the ingress (and cadre predict to it); test certificates
  libpng-dev                        # cadre predict --image
  libprotobuf-dev protobuf-compiler # cadre-serve's config.pbtxt and V2 gRPC messages
  libgrpc++-dev protobuf-compiler-grpc  # cadre-serve's gRPC front end
  libtorch-dev                      # cadre-serve's pytorch (TorchScript) backend
  prometheus curl                   # serving tests: a real Prometheus scrapes, curl talks V2
  python3-grpcio python3-protobuf   # serving tests: a client generated from the published proto
  python3-fastapi python3-uvicorn wrk  # serving benchmark: the Python peer and a cross-check client
  python3-optuna                    # tuning benchmark: the peer (Optuna 3.1)
  clang libfuzzer-14-dev            # protocol decoder fuzzing
  clang-format
  dataset-fashion-mnist             # quickstart and accuracy tests
  python3 python3-torch python3-numpy  # PyTorch peer in benchmarks, DDP example
  python3-zmq python3-msgpack python3-venv python3-setuptools  # the Python SDK (python/) and its tests
  jupyter-notebook jupyter-nbconvert python3-ipykernel  # Notebook servers; the example notebook
  python3-websocket                 # notebook proxy tests: kernels over the proxied WebSocket
  procps iproute2
)
# The web dashboard is built with the machine's Node.js and npm (web/); Debian's
# when there are none.
command -v npm >/dev/null || packages+=(nodejs npm)
if [ "$browser" = 1 ]; then
  packages+=(chromium chromium-driver python3-selenium fonts-dejavu-core)
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi

# Agents running as root start replicas as this unprivileged user (docs/agent.md).
if ! getent passwd cadre-run >/dev/null; then
  echo "setup-deps: creating the system user cadre-run (replicas run as it)"
  $SUDO useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
    cadre-run
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "setup-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
