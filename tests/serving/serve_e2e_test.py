#!/usr/bin/python3
"""cadre-serve end to end: the real binary on 127.0.0.1, driven by clients nobody
here wrote — curl, a gRPC client generated from the published proto with Debian's
protoc and grpc_python_plugin, and a real Prometheus — plus raw sockets for the
abusive requests a hardened HTTP server must survive.

Run by ctest (see CMakeLists.txt) as:
  serve_e2e_test.py BUILD_BIN_DIR [unittest args]
"""
import atexit
import gzip
import http.client
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

import numpy as np

BIN = os.path.abspath(sys.argv.pop(1)) if len(sys.argv) > 1 else "build/bin"
SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FMNIST = "/usr/share/datasets/fashion-mnist"
PROTO = os.path.join(SOURCE, "serving", "grpc", "grpc_predict_v2.proto")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Server:
    """A cadre-serve process with every port chosen by the kernel."""

    def __init__(self, repo, *flags, binary=None):
        self.dir = tempfile.mkdtemp(prefix="cadre-serve-")
        self.ports_file = os.path.join(self.dir, "ports.json")
        self.log = open(os.path.join(self.dir, "serve.log"), "w+")
        self.proc = subprocess.Popen(
            [binary or os.path.join(BIN, "cadre-serve"), "--model-repository", repo, "--http-port", "0",
             "--grpc-port", "0", "--metrics-port", "0", "--ports-file", self.ports_file,
             *flags], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while not os.path.exists(self.ports_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("cadre-serve did not start:\n" + self.output())
            time.sleep(0.05)
        ports = json.load(open(self.ports_file))
        self.http, self.grpc, self.metrics = ports["http"], ports["grpc"], ports["metrics"]

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def maps_libtorch(pid):
    return maps_library(pid, "libtorch")


def maps_library(pid, name):
    with open(f"/proc/{pid}/maps") as f:
        return name in f.read()


def request(port, method, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    data = r.read()
    conn.close()
    return r.status, dict(r.getheaders()), data


def curl(port, method, path, data=None):
    """(status, body) through curl."""
    cmd = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-X", method,
           f"http://127.0.0.1:{port}{path}"]
    if data is not None:
        cmd += ["-H", "Content-Type: application/json", "--data-binary", "@-"]
    out = subprocess.run(cmd, input=data.encode() if data is not None else None,
                         capture_output=True, timeout=30).stdout.decode()
    body, _, code = out.rpartition("\n")
    return int(code), body


def infer_json(images, name="input", outputs=None, request_id=None):
    body = {"inputs": [{"name": name, "datatype": "FP32", "shape": list(images.shape),
                        "data": images.astype(np.float32).ravel().tolist()}]}
    if outputs:
        body["outputs"] = [{"name": o} for o in outputs]
    if request_id:
        body["id"] = request_id
    return json.dumps(body)


def infer_binary(port, model, images, outputs=("logits",)):
    header = json.dumps({
        "inputs": [{"name": "input", "datatype": "FP32", "shape": list(images.shape),
                    "parameters": {"binary_data_size": images.nbytes}}],
        "outputs": [{"name": o, "parameters": {"binary_data": True}} for o in outputs],
    }).encode()
    status, headers, data = request(
        port, "POST", f"/v2/models/{model}/infer", header + images.tobytes(),
        {"Inference-Header-Content-Length": str(len(header)),
         "Content-Type": "application/octet-stream"})
    assert status == 200, data
    n = int(headers["Inference-Header-Content-Length"])
    meta = json.loads(data[:n])
    out, at = {}, n
    for o in meta["outputs"]:
        size = o["parameters"]["binary_data_size"]
        out[o["name"]] = np.frombuffer(data[at:at + size], np.float32).reshape(o["shape"])
        at += size
    return out


class Fixture:
    """Trains two small models once, exports them, and builds a repository."""
    root = None

    @classmethod
    def setup(cls):
        if cls.root:
            return
        cls.root = tempfile.mkdtemp(prefix="cadre-serve-repo-")
        atexit.register(shutil.rmtree, cls.root, True)  # shared by every class of this file
        repo = os.path.join(cls.root, "repo")
        os.makedirs(os.path.join(repo, "fmnist", "1"))
        train = subprocess.run(
            [os.path.join(BIN, "cadre-train"), "--model", "mlp", "--epochs", "1",
             "--train-limit", "6000", "--export",
             os.path.join(repo, "fmnist", "1", "model.cadre")],
            capture_output=True, text=True, timeout=300, check=True)
        cls.trained_accuracy = float(re.findall(r"accuracy=([0-9.]+)", train.stdout)[-1])
        # The same model with an explicit Triton config: batching knobs, 2 instances.
        os.makedirs(os.path.join(repo, "fmnist_tuned", "1"))
        shutil.copy(os.path.join(repo, "fmnist", "1", "model.cadre"),
                    os.path.join(repo, "fmnist_tuned", "1", "model.cadre"))
        with open(os.path.join(repo, "fmnist_tuned", "config.pbtxt"), "w") as f:
            f.write("""
name: "fmnist_tuned"
backend: "cadre"
max_batch_size: 32
input [ { name: "input" data_type: TYPE_FP32 dims: [ 1, 28, 28 ] } ]
output [ { name: "logits" data_type: TYPE_FP32 dims: [ 10 ] } ]
dynamic_batching { max_queue_delay_microseconds: 2000 default_queue_policy { max_queue_size: 4 } }
instance_group [ { count: 2 kind: KIND_CPU } ]
""")
        # A slower model with a short queue, to fill it.
        os.makedirs(os.path.join(repo, "cnn_short_queue", "1"))
        subprocess.run(
            [os.path.join(BIN, "cadre-train"), "--model", "cnn", "--epochs", "1",
             "--train-limit", "512", "--export",
             os.path.join(repo, "cnn_short_queue", "1", "model.cadre")],
            capture_output=True, text=True, timeout=300, check=True)
        with open(os.path.join(repo, "cnn_short_queue", "config.pbtxt"), "w") as f:
            f.write("""
max_batch_size: 32
dynamic_batching { default_queue_policy { max_queue_size: 2 } }
instance_group [ { count: 1 kind: KIND_CPU } ]
""")
        # A model whose config Cadre refuses: it stays UNAVAILABLE with its reason.
        os.makedirs(os.path.join(repo, "broken", "1"))
        shutil.copy(os.path.join(repo, "fmnist", "1", "model.cadre"),
                    os.path.join(repo, "broken", "1", "model.cadre"))
        with open(os.path.join(repo, "broken", "config.pbtxt"), "w") as f:
            f.write('backend: "cadre"\nsequence_batching { }\n')
        # A TorchScript model written by torch.jit.save, served by the pytorch backend.
        cls.torch_ok = cls.make_torchscript(repo)
        cls.repo = repo
        cls.images = read_idx(os.path.join(FMNIST, "t10k-images-idx3-ubyte.gz")).astype(
            np.float32).reshape(-1, 1, 28, 28)
        cls.labels = read_idx(os.path.join(FMNIST, "t10k-labels-idx1-ubyte.gz"))

    @classmethod
    def make_torchscript(cls, repo):
        os.makedirs(os.path.join(repo, "torch_mlp", "1"))
        script = f"""
import torch
torch.manual_seed(0)
m = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 64), torch.nn.ReLU(),
                        torch.nn.Linear(64, 10))
torch.jit.save(torch.jit.script(m.eval()), "{repo}/torch_mlp/1/model.pt")
"""
        r = subprocess.run(["/usr/bin/python3", "-c", script], capture_output=True, text=True)
        if r.returncode != 0:
            return False
        with open(os.path.join(repo, "torch_mlp", "config.pbtxt"), "w") as f:
            f.write("""
platform: "pytorch_libtorch"
max_batch_size: 64
input [ { name: "INPUT__0" data_type: TYPE_FP32 dims: [ 1, 28, 28 ] } ]
output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 10 ] } ]
dynamic_batching { }
""")
        return True


class ServeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        Fixture.setup()
        cls.f = Fixture
        cls.server = Server(Fixture.repo, "--max-request-bytes", "4194304",
                            "--http-request-timeout-secs", "2", "--http-max-connections", "200")
        cls.port = cls.server.http

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    # ---- the protocol, through curl -------------------------------------------------

    def test_health_metadata_and_model_metadata_through_curl(self):
        self.assertEqual(curl(self.port, "GET", "/v2/health/live")[0], 200)
        # Not ready: the broken model was asked to load and failed.
        self.assertEqual(curl(self.port, "GET", "/v2/health/ready")[0], 503)
        code, body = curl(self.port, "GET", "/v2")
        self.assertEqual(code, 200)
        self.assertIn("binary_tensor_data", json.loads(body)["extensions"])
        code, body = curl(self.port, "GET", "/v2/models/fmnist")
        md = json.loads(body)
        self.assertEqual(md["inputs"], [{"name": "input", "datatype": "FP32",
                                         "shape": [-1, 1, 28, 28]}])
        self.assertEqual([o["name"] for o in md["outputs"]], ["logits", "probabilities", "label"])
        self.assertEqual(curl(self.port, "GET", "/v2/models/fmnist/versions/1/ready")[0], 200)
        self.assertEqual(curl(self.port, "GET", "/v2/models/broken/ready")[0], 503)
        code, body = curl(self.port, "GET", "/v2/models/fmnist_tuned/config")
        self.assertEqual(json.loads(body)["instance_group"][0]["count"], 2)

    def test_infer_through_curl_echoes_the_id_and_selects_outputs(self):
        x = self.f.images[:2]
        code, body = curl(self.port, "POST", "/v2/models/fmnist/infer",
                          infer_json(x, outputs=["label"], request_id="req-42"))
        self.assertEqual(code, 200, body)
        r = json.loads(body)
        self.assertEqual(r["id"], "req-42")
        self.assertEqual(r["model_version"], "1")
        self.assertEqual([o["name"] for o in r["outputs"]], ["label"])
        self.assertEqual(r["outputs"][0]["datatype"], "BYTES")
        self.assertEqual(len(r["outputs"][0]["data"]), 2)

    def test_binary_and_json_answers_are_bitwise_equal_and_repeatable(self):
        # Bit-for-bit equality with the training engine on the same batch is
        # cadre_backend_test's; here: the wire formats change nothing, and a
        # batch's rows agree with the same images sent alone to 1e-5 (GEMM
        # blocking differs with the batch size, so the last bits may too).
        x = self.f.images[:64]
        batched = infer_binary(self.port, "fmnist", x)["logits"]
        self.assertTrue(np.array_equal(batched, infer_binary(self.port, "fmnist", x)["logits"]))
        code, body = curl(self.port, "POST", "/v2/models/fmnist/infer",
                          infer_json(x, outputs=["logits"]))
        as_json = np.array(json.loads(body)["outputs"][0]["data"], np.float32).reshape(64, 10)
        self.assertTrue(np.array_equal(as_json, batched))
        singles = np.concatenate([infer_binary(self.port, "fmnist", x[i:i + 1])["logits"]
                                  for i in range(64)])
        np.testing.assert_allclose(singles, batched, rtol=1e-5, atol=1e-5)
        self.assertTrue(np.array_equal(singles.argmax(1), batched.argmax(1)))

    def test_all_10000_test_images_reproduce_the_trained_accuracy_over_http(self):
        correct = 0
        for i in range(0, 10000, 64):
            logits = infer_binary(self.port, "fmnist", self.f.images[i:i + 64])["logits"]
            correct += int((logits.argmax(1) == self.f.labels[i:i + 64]).sum())
        self.assertAlmostEqual(correct / 10000, self.f.trained_accuracy, places=4)

    def test_concurrent_requests_are_batched_and_counted_in_statistics(self):
        before = json.loads(curl(self.port, "GET", "/v2/models/fmnist_tuned/stats")[1])
        errors = []

        def client(k):
            try:
                for j in range(10):
                    infer_binary(self.port, "fmnist_tuned", self.f.images[k + j:k + j + 1])
            except Exception as e:  # noqa: BLE001 - collected for the assertion
                errors.append(e)
        threads = [threading.Thread(target=client, args=(k,)) for k in range(4)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        self.assertEqual(errors, [])
        stats = json.loads(curl(self.port, "GET", "/v2/models/fmnist_tuned/stats")[1])
        s = stats["model_stats"][0]
        self.assertEqual(s["inference_count"] - before["model_stats"][0]["inference_count"], 40)
        self.assertGreater(s["inference_stats"]["success"]["count"], 0)

    # ---- the errors a client can act on ----------------------------------------------

    def test_every_bad_request_gets_the_status_a_client_can_act_on(self):
        good = json.loads(infer_json(self.f.images[:1]))

        def variant(**changes):
            body = json.loads(json.dumps(good))
            body["inputs"][0].update(changes)
            return json.dumps(body)
        cases = [
            ("POST", "/v2/models/nope/infer", infer_json(self.f.images[:1]), 404, "unknown model"),
            ("POST", "/v2/models/fmnist/versions/9/infer", infer_json(self.f.images[:1]), 404,
             "version 9"),
            ("POST", "/v2/models/fmnist/versions/x/infer", "{}", 400, "positive integer"),
            ("POST", "/v2/models/broken/infer", infer_json(self.f.images[:1]), 503, "not ready"),
            ("POST", "/v2/models/fmnist/infer", variant(name="image"), 400,
             "unexpected inference input 'image'"),
            ("POST", "/v2/models/fmnist/infer",
             variant(datatype="FP64"), 400, "expects 'FP32'"),
            ("POST", "/v2/models/fmnist/infer",
             variant(shape=[1, 784]), 400, "unexpected shape"),
            ("POST", "/v2/models/fmnist/infer",
             infer_json(np.zeros((65, 1, 28, 28))), 400, "batch-size must be <= 64"),
            ("POST", "/v2/models/fmnist/infer",
             infer_json(self.f.images[:1], outputs=["nope"]), 400,
             "unexpected inference output 'nope'"),
            ("POST", "/v2/models/fmnist/infer", variant(shape=[1, 1, 28, 27]), 400,
             "has 756 elements, data has more"),
            ("POST", "/v2/models/fmnist/infer", variant(shape=[1, 1, 28, 28, 1]), 400,
             "unexpected shape"),
            ("POST", "/v2/models/fmnist/infer", '{"inputs": [', 400, "malformed JSON"),
            ("GET", "/v2/models/fmnist/infer", None, 405, "Method Not Allowed"),
            ("GET", "/v3/anything", None, 404, "Not Found"),
        ]
        for method, path, body, status, says in cases:
            code, text = curl(self.port, method, path, body)
            self.assertEqual(code, status, f"{method} {path}: {text}")
            self.assertIn(says, json.loads(text)["error"], f"{method} {path}")

    def test_a_full_queue_is_503_with_tritons_message(self):
        # cnn_short_queue queues at most 2 behind one busy instance. Each of 32
        # requests is sent but for its last byte, then the last bytes go together:
        # all 32 arrive within a millisecond, far faster than one execution, so the
        # queue is full whatever the machine's load (binary bodies: no JSON to parse).
        images = np.ascontiguousarray(self.f.images[:32], dtype=np.float32)
        header = json.dumps({
            "inputs": [{"name": "input", "datatype": "FP32", "shape": list(images.shape),
                        "parameters": {"binary_data_size": images.nbytes}}]}).encode()
        body = header + images.tobytes()
        request = (f"POST /v2/models/cnn_short_queue/infer HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   f"Content-Type: application/octet-stream\r\n"
                   f"Inference-Header-Content-Length: {len(header)}\r\n"
                   f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body
        sockets = [socket.create_connection(("127.0.0.1", self.port), timeout=30) for _ in range(32)]
        for s in sockets:
            s.sendall(request[:-1])
        for s in sockets:
            s.sendall(request[-1:])
        results = []
        for s in sockets:
            answer = b""
            while chunk := s.recv(65536):
                answer += chunk
            s.close()
            head, _, text = answer.partition(b"\r\n\r\n")
            results.append((int(head.split(b" ")[1]), text.decode()))
        codes = [c for c, _ in results]
        self.assertIn(503, codes)
        self.assertIn(200, codes)
        for code, text in results:
            if code == 503:
                self.assertEqual(json.loads(text)["error"], "Exceeds maximum queue size")

    # ---- hostile HTTP ------------------------------------------------------------------

    def raw(self, payload, read_timeout=5.0):
        """Sends raw bytes; returns what the server answered before closing."""
        s = socket.create_connection(("127.0.0.1", self.port))
        s.settimeout(read_timeout)
        try:
            s.sendall(payload)
        except OSError:
            pass
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                if b"\r\n\r\n" in data and b"Content-Length" in data:
                    head, _, rest = data.partition(b"\r\n\r\n")
                    n = int(re.search(rb"Content-Length: (\d+)", head).group(1))
                    if len(rest) >= n:
                        break
        except OSError:
            pass
        s.close()
        return data

    def status_of(self, data):
        m = re.match(rb"HTTP/1.1 (\d+)", data)
        return int(m.group(1)) if m else None

    def hostile_corpus(self):
        path = b"/v2/models/fmnist/infer"
        head = b"POST " + path + b" HTTP/1.1\r\nHost: x\r\n"
        big = 5 * 1024 * 1024
        tiny_chunks = b"".join(b"1\r\n{\r\n" for _ in range(200000)) + b"0\r\n\r\n"
        header_json = infer_json(self.f.images[:1]).encode()
        return [
            ("Content-Length over the limit", head + b"Content-Length: %d\r\n\r\n" % big, 413),
            ("chunked body over the limit",
             head + b"Transfer-Encoding: chunked\r\n\r\n" +
             b"".join(b"100000\r\n" + b"x" * 0x100000 + b"\r\n" for _ in range(5)), 413),
            ("negative chunk size", head + b"Transfer-Encoding: chunked\r\n\r\n-5\r\nabc\r\n", 400),
            ("a flood of one-byte chunks", head + b"Transfer-Encoding: chunked\r\n\r\n" +
             tiny_chunks, 400),
            ("chunk size that overflows",
             head + b"Transfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\n", 400),
            ("headers over the limit", head + b"X-Junk: " + b"a" * 20000 + b"\r\n\r\n", 431),
            ("thousands of headers",
             head + b"".join(b"X-%d: 1\r\n" % i for i in range(5000)) + b"\r\n", 431),
            ("garbage request line", b"\x00\x01\x02 garbage\r\n\r\n", 400),
            ("JSON nested 100000 deep",
             head + b"Content-Length: 200000\r\n\r\n" + b"[" * 100000 + b"]" * 100000, 400),
            ("Inference-Header-Content-Length past the body",
             head + b"Inference-Header-Content-Length: 999\r\nContent-Length: 2\r\n\r\n{}", 400),
            ("Inference-Header-Content-Length not a number",
             head + b"Inference-Header-Content-Length: -1\r\nContent-Length: 2\r\n\r\n{}", 400),
            ("truncated binary tensor",
             self.binary_request(head, header_json_size=None, truncate=100), 400),
            ("shape whose product overflows",
             head + b"Content-Length: %d\r\n\r\n" % len(self.overflow_json()) +
             self.overflow_json(), 400),
        ]

    def overflow_json(self):
        return json.dumps({"inputs": [{"name": "input", "datatype": "FP32",
                                       "shape": [2**40, 2**40, 28, 28],
                                       "parameters": {"binary_data_size": 0}}]}).encode()

    def binary_request(self, head, header_json_size, truncate):
        x = self.f.images[:1]
        header = json.dumps({"inputs": [{"name": "input", "datatype": "FP32",
                                         "shape": [1, 1, 28, 28],
                                         "parameters": {"binary_data_size": x.nbytes}}]}).encode()
        body = header + x.tobytes()[:-truncate]
        return (head + b"Inference-Header-Content-Length: %d\r\nContent-Length: %d\r\n\r\n" %
                (len(header), len(body)) + body)

    def test_abusive_requests_get_their_status_and_the_server_stays_up_and_bounded(self):
        corpus = self.hostile_corpus()
        for name, payload, status in corpus:
            self.assertEqual(self.status_of(self.raw(payload)), status, name)
        # Looping the corpus does not grow the server: memory is bounded per request.
        rss_before = rss_kb(self.server.proc.pid)
        for _ in range(3):
            for name, payload, status in corpus:
                self.raw(payload)
        rss_after = rss_kb(self.server.proc.pid)
        grown_mb = (rss_after - rss_before) / 1024
        print(f"\n  abusive corpus x3: RSS {rss_before / 1024:.1f} -> {rss_after / 1024:.1f} MB",
              file=sys.stderr)
        self.assertLess(grown_mb, 64, "RSS grew while the abusive corpus ran")
        self.assertIsNone(self.server.proc.poll())
        self.assertEqual(curl(self.port, "GET", "/v2/health/live")[0], 200)

    def test_a_slow_client_is_cut_off_at_the_request_timeout(self):
        s = socket.create_connection(("127.0.0.1", self.port))
        s.sendall(b"POST /v2/models/fmnist/infer HTTP/1.1\r\nHost: x\r\n")
        start = time.time()
        s.settimeout(10)
        closed = False
        try:
            while time.time() - start < 8:
                s.sendall(b"X-Slow: 1\r\n")  # one header line a second: slowloris
                time.sleep(0.5)
        except OSError:
            closed = True
        if not closed:
            try:
                closed = s.recv(1) == b""
            except OSError:
                closed = True
        s.close()
        self.assertTrue(closed)
        self.assertLess(time.time() - start, 6, "the 2 s request timeout did not cut it off")

    def test_idle_connections_past_the_cap_are_closed_and_a_client_gets_in_after_they_expire(self):
        idle = [socket.create_connection(("127.0.0.1", self.port)) for _ in range(300)]
        time.sleep(2.5)  # the 2 s request timeout closes every idle connection
        code, _ = curl(self.port, "GET", "/v2/health/live")
        self.assertEqual(code, 200)
        for s in idle:
            s.close()

    # ---- gRPC, through a client generated from the published proto --------------------

    def grpc_stub(self):
        out = os.path.join(self.server.dir, "py")
        os.makedirs(out, exist_ok=True)
        subprocess.run(["protoc", f"-I{os.path.dirname(PROTO)}", f"--python_out={out}",
                        f"--grpc_out={out}", "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
                        PROTO], check=True)
        sys.path.insert(0, out)
        import grpc
        import grpc_predict_v2_pb2 as pb
        import grpc_predict_v2_pb2_grpc as svc
        channel = grpc.insecure_channel(f"127.0.0.1:{self.server.grpc}")
        return grpc, pb, svc.GRPCInferenceServiceStub(channel)

    def test_grpc_client_generated_from_the_proto_infers_and_gets_mapped_errors(self):
        grpc, pb, stub = self.grpc_stub()
        self.assertTrue(stub.ServerLive(pb.ServerLiveRequest()).live)
        self.assertTrue(stub.ModelReady(pb.ModelReadyRequest(name="fmnist")).ready)
        md = stub.ModelMetadata(pb.ModelMetadataRequest(name="fmnist"))
        self.assertEqual(list(md.inputs[0].shape), [-1, 1, 28, 28])

        def infer(x, raw=True):
            t = pb.ModelInferRequest.InferInputTensor(name="input", datatype="FP32",
                                                      shape=list(x.shape))
            if raw:
                req = pb.ModelInferRequest(model_name="fmnist", inputs=[t],
                                           raw_input_contents=[x.tobytes()])
            else:
                t.contents.fp32_contents.extend(x.ravel().tolist())
                req = pb.ModelInferRequest(model_name="fmnist", inputs=[t])
            req.outputs.add(name="logits")
            r = stub.ModelInfer(req)
            return np.frombuffer(r.raw_output_contents[0], np.float32).reshape(r.outputs[0].shape)

        correct = 0
        for i in range(0, 10000, 64):
            correct += int((infer(self.f.images[i:i + 64]).argmax(1) ==
                            self.f.labels[i:i + 64]).sum())
        self.assertAlmostEqual(correct / 10000, self.f.trained_accuracy, places=4)
        x = self.f.images[:8]
        self.assertTrue(np.array_equal(infer(x), infer(x, raw=False)))
        self.assertTrue(np.array_equal(infer(x), infer_binary(self.port, "fmnist", x)["logits"]))

        for req, code in [
            (pb.ModelInferRequest(model_name="nope"), grpc.StatusCode.NOT_FOUND),
            (pb.ModelInferRequest(model_name="fmnist", model_version="x"),
             grpc.StatusCode.INVALID_ARGUMENT),
            (pb.ModelInferRequest(model_name="fmnist", inputs=[
                pb.ModelInferRequest.InferInputTensor(name="input", datatype="FP32",
                                                      shape=[1, 1, 28, 28])],
                raw_input_contents=[b"abc"]), grpc.StatusCode.INVALID_ARGUMENT),
            (pb.ModelInferRequest(model_name="broken"), grpc.StatusCode.UNAVAILABLE),
        ]:
            with self.assertRaises(grpc.RpcError) as e:
                stub.ModelInfer(req)
            self.assertEqual(e.exception.code(), code, req.model_name)
        index = stub.RepositoryIndex(pb.RepositoryIndexRequest())
        states = {m.name: m.state for m in index.models}
        self.assertEqual(states["fmnist"], "READY")
        self.assertEqual(states["broken"], "UNAVAILABLE")
        with self.assertRaises(grpc.RpcError) as e:  # control mode none: no explicit loads
            stub.RepositoryModelLoad(pb.RepositoryModelLoadRequest(model_name="fmnist"))
        self.assertEqual(e.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)

    # ---- the pytorch backend ---------------------------------------------------------

    def test_torchscript_model_matches_pytorch_within_1e_5(self):
        if not self.f.torch_ok:
            self.skipTest("python3-torch is not installed")
        md = json.loads(curl(self.port, "GET", "/v2/models/torch_mlp")[1])
        self.assertEqual(md["platform"], "pytorch_libtorch")
        x = (self.f.images[:16] / 255.0).astype(np.float32)
        header = json.dumps({"inputs": [{"name": "INPUT__0", "datatype": "FP32",
                                         "shape": list(x.shape),
                                         "parameters": {"binary_data_size": x.nbytes}}],
                             "outputs": [{"name": "OUTPUT__0",
                                          "parameters": {"binary_data": True}}]}).encode()
        status, headers, data = request(self.port, "POST", "/v2/models/torch_mlp/infer",
                                        header + x.tobytes(),
                                        {"Inference-Header-Content-Length": str(len(header))})
        self.assertEqual(status, 200, data)
        n = int(headers["Inference-Header-Content-Length"])
        served = np.frombuffer(data[n:], np.float32).reshape(16, 10)
        np.save(os.path.join(self.server.dir, "x.npy"), x)
        script = f"""
import numpy as np, torch
m = torch.jit.load("{self.f.repo}/torch_mlp/1/model.pt")
x = torch.from_numpy(np.load("{self.server.dir}/x.npy"))
with torch.no_grad():
    np.save("{self.server.dir}/y.npy", m(x).numpy())
"""
        subprocess.run(["/usr/bin/python3", "-c", script], check=True)
        expected = np.load(os.path.join(self.server.dir, "y.npy"))
        np.testing.assert_allclose(served, expected, rtol=1e-5, atol=1e-6)

    # ---- metrics, scraped by a real Prometheus ---------------------------------------

    def test_prometheus_scrapes_triton_named_metrics(self):
        prometheus = shutil.which("prometheus")
        if not prometheus:
            self.skipTest("prometheus is not installed")
        infer_binary(self.port, "fmnist", self.f.images[:4])
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.server.metrics}/metrics").read()
        for name in [b"nv_inference_request_success", b"nv_inference_request_failure",
                     b"nv_inference_count", b"nv_inference_exec_count",
                     b"nv_inference_pending_request_count", b"nv_inference_request_duration_us",
                     b"nv_inference_queue_duration_us", b"nv_inference_compute_infer_duration_us",
                     b'nv_inference_request_summary_us{model="fmnist",version="1",quantile="0.99"}',
                     b"nv_model_load_duration_secs", b"cadre_instance_busy_us_total"]:
            self.assertIn(name, text)
        work = tempfile.mkdtemp(prefix="prom-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            prom_port = s.getsockname()[1]
        with open(os.path.join(work, "prometheus.yml"), "w") as f:
            f.write(f"""
global: {{scrape_interval: 1s}}
scrape_configs:
  - job_name: cadre-serve
    static_configs: [{{targets: ["127.0.0.1:{self.server.metrics}"]}}]
""")
        proc = subprocess.Popen([prometheus, f"--config.file={work}/prometheus.yml",
                                 f"--storage.tsdb.path={work}/data",
                                 f"--web.listen-address=127.0.0.1:{prom_port}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            value, deadline = None, time.time() + 60
            query = "nv_inference_request_success%7Bmodel%3D%22fmnist%22%7D"
            while time.time() < deadline:
                try:
                    r = json.load(urllib.request.urlopen(
                        f"http://127.0.0.1:{prom_port}/api/v1/query?query={query}", timeout=2))
                    if r["data"]["result"]:
                        value = float(r["data"]["result"][0]["value"][1])
                        break
                except OSError:
                    pass
                time.sleep(0.5)
            self.assertIsNotNone(value, "Prometheus never scraped the metric")
            self.assertGreater(value, 0)
        finally:
            proc.terminate()
            proc.wait(10)
            shutil.rmtree(work, ignore_errors=True)


class AuthTest(unittest.TestCase):
    """A bearer token, checked before a byte of the body is read."""

    TOKEN = "s3cret-token-0123456789abcdef"

    @classmethod
    def setUpClass(cls):
        Fixture.setup()
        cls.f = Fixture
        cls.root = tempfile.mkdtemp(prefix="cadre-serve-auth-")
        shutil.copytree(os.path.join(Fixture.repo, "fmnist"), os.path.join(cls.root, "fmnist"))
        cls.token_file = os.path.join(cls.root, "token")
        with open(cls.token_file, "w") as f:
            f.write(cls.TOKEN + "\n")
        cls.server = Server(cls.root, "--auth-token-file", cls.token_file)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        shutil.rmtree(cls.root, ignore_errors=True)

    def test_http_needs_the_token_except_for_health(self):
        port, body = self.server.http, infer_json(self.f.images[:1])
        status, headers, data = request(port, "POST", "/v2/models/fmnist/infer", body)
        self.assertEqual(status, 401)
        self.assertEqual(headers.get("WWW-Authenticate"), "Bearer")
        status, _, _ = request(port, "POST", "/v2/models/fmnist/infer", body,
                               {"Authorization": "Bearer wrong-token-0123456789abcdef"})
        self.assertEqual(status, 401)
        status, _, _ = request(port, "POST", "/v2/models/fmnist/infer", body,
                               {"Authorization": "Bearer " + self.TOKEN})
        self.assertEqual(status, 200)
        self.assertEqual(request(port, "GET", "/v2/health/ready")[0], 200)
        self.assertEqual(request(port, "GET", "/v2/models/fmnist")[0], 401)
        self.assertEqual(request(self.server.metrics, "GET", "/metrics")[0], 401)
        self.assertEqual(request(self.server.metrics, "GET", "/metrics", None,
                                 {"Authorization": "Bearer " + self.TOKEN})[0], 200)

    def test_an_unauthenticated_body_is_never_read(self):
        # Headers announce 4 MB, none of it is sent: the 401 comes at once.
        s = socket.create_connection(("127.0.0.1", self.server.http))
        s.settimeout(5)
        s.sendall(b"POST /v2/models/fmnist/infer HTTP/1.1\r\nHost: x\r\n"
                  b"Content-Length: 4000000\r\n\r\n")
        start = time.time()
        data = s.recv(4096)
        s.close()
        self.assertTrue(data.startswith(b"HTTP/1.1 401"), data)
        self.assertLess(time.time() - start, 1)

    def test_grpc_needs_the_token_in_metadata(self):
        out = os.path.join(self.root, "py")
        os.makedirs(out, exist_ok=True)
        subprocess.run(["protoc", f"-I{os.path.dirname(PROTO)}", f"--python_out={out}",
                        f"--grpc_out={out}", "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin",
                        PROTO], check=True)
        sys.path.insert(0, out)
        import grpc
        import grpc_predict_v2_pb2 as pb
        import grpc_predict_v2_pb2_grpc as svc
        stub = svc.GRPCInferenceServiceStub(
            grpc.insecure_channel(f"127.0.0.1:{self.server.grpc}"))
        self.assertTrue(stub.ServerLive(pb.ServerLiveRequest()).live)
        with self.assertRaises(grpc.RpcError) as e:
            stub.ModelMetadata(pb.ModelMetadataRequest(name="fmnist"))
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        md = stub.ModelMetadata(pb.ModelMetadataRequest(name="fmnist"),
                                metadata=[("authorization", "Bearer " + self.TOKEN)])
        self.assertEqual(md.name, "fmnist")

    def test_serving_beyond_loopback_without_a_token_is_refused(self):
        r = subprocess.run([os.path.join(BIN, "cadre-serve"), "--model-repository", self.root,
                            "--host", "0.0.0.0"], capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("needs --auth-token-file", r.stderr)
        with open(self.token_file + ".short", "w") as f:
            f.write("short\n")
        r = subprocess.run([os.path.join(BIN, "cadre-serve"), "--model-repository", self.root,
                            "--auth-token-file", self.token_file + ".short"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("16 to 4096 characters", r.stderr)


class LifecycleTest(unittest.TestCase):
    """Model control modes and the SIGTERM drain, each on its own server."""

    @classmethod
    def setUpClass(cls):
        Fixture.setup()
        cls.f = Fixture

    def repo_copy(self, models):
        root = tempfile.mkdtemp(prefix="cadre-serve-lc-")
        for m in models:
            shutil.copytree(os.path.join(self.f.repo, m), os.path.join(root, m))
        self.addCleanup(shutil.rmtree, root, True)
        return root

    def test_explicit_mode_loads_and_unloads_through_the_repository_api(self):
        repo = self.repo_copy(["fmnist", "fmnist_tuned"])
        server = Server(repo, "--model-control-mode", "explicit", "--load-model", "fmnist")
        self.addCleanup(server.stop)
        index = json.loads(curl(server.http, "POST", "/v2/repository/index", "{}")[1])
        self.assertEqual({m["name"]: m["state"] for m in index},
                         {"fmnist": "READY", "fmnist_tuned": "UNAVAILABLE"})
        self.assertEqual(curl(server.http, "POST", "/v2/models/fmnist_tuned/infer",
                              infer_json(self.f.images[:1]))[0], 503)
        self.assertEqual(curl(server.http, "POST", "/v2/repository/models/fmnist_tuned/load")[0],
                         200)
        self.assertEqual(curl(server.http, "POST", "/v2/models/fmnist_tuned/infer",
                              infer_json(self.f.images[:1]))[0], 200)
        self.assertEqual(curl(server.http, "POST", "/v2/repository/models/fmnist/unload")[0], 200)
        self.assertEqual(curl(server.http, "GET", "/v2/models/fmnist/ready")[0], 503)
        self.assertEqual(curl(server.http, "POST", "/v2/repository/models/ghost/load")[0], 404)
        index = json.loads(curl(server.http, "POST", "/v2/repository/index",
                                '{"ready": true}')[1])
        self.assertEqual([m["name"] for m in index], ["fmnist_tuned"])

    def test_libtorch_is_loaded_only_when_a_model_needs_it(self):
        # The pytorch backend is a library loaded on first use: a replica of a cadre
        # model does not pay libtorch's start-up (~0.5 s) and memory (~350 MB).
        server = Server(self.repo_copy(["fmnist"]))
        self.addCleanup(server.stop)
        self.assertEqual(curl(server.http, "GET", "/v2/health/ready")[0], 200)
        self.assertFalse(maps_libtorch(server.proc.pid), "a server of cadre models mapped libtorch")
        # Nor the CUDA runtime and cuBLAS (~150 MB resident) on a node without a GPU.
        if not any(os.path.exists(n) for n in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/dxg")):
            self.assertEqual(curl(server.http, "POST", "/v2/models/fmnist/infer",
                                  infer_json(self.f.images[:1]))[0], 200)
            self.assertFalse(maps_library(server.proc.pid, "libcublas"),
                             "a CPU server mapped cuBLAS")
            self.assertFalse(maps_library(server.proc.pid, "libcudart"),
                             "a CPU server mapped the CUDA runtime")
        if not self.f.torch_ok:
            self.skipTest("python3-torch is not installed")
        torch_server = Server(self.repo_copy(["torch_mlp"]))
        self.addCleanup(torch_server.stop)
        self.assertEqual(curl(torch_server.http, "GET", "/v2/health/ready")[0], 200)
        self.assertTrue(maps_libtorch(torch_server.proc.pid))

    def test_a_backend_library_that_is_not_there_leaves_its_model_unavailable_saying_where(self):
        # cadre-serve copied where no lib/cadre/backends lies beside its bin/.
        root = tempfile.mkdtemp(prefix="cadre-serve-nolib-")
        self.addCleanup(shutil.rmtree, root, True)
        os.makedirs(os.path.join(root, "bin"))
        binary = shutil.copy(os.path.join(BIN, "cadre-serve"), os.path.join(root, "bin"))
        repo = self.repo_copy(["fmnist"])
        os.makedirs(os.path.join(repo, "torch_model", "1"))
        with open(os.path.join(repo, "torch_model", "1", "model.pt"), "wb") as f:
            f.write(b"never read")
        with open(os.path.join(repo, "torch_model", "config.pbtxt"), "w") as f:
            f.write('platform: "pytorch_libtorch"\nmax_batch_size: 4\n'
                    'input [ { name: "x" data_type: TYPE_FP32 dims: [ 4 ] } ]\n'
                    'output [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] } ]\n')
        server = Server(repo, binary=binary)
        self.addCleanup(server.stop)
        index = {m["name"]: m for m in
                 json.loads(curl(server.http, "POST", "/v2/repository/index", "{}")[1])}
        self.assertEqual(index["fmnist"]["state"], "READY")
        self.assertEqual(index["torch_model"]["state"], "UNAVAILABLE")
        self.assertIn(os.path.join(root, "lib", "cadre", "backends", "libcadre_backend_pytorch.so"),
                      index["torch_model"]["reason"])
        self.assertEqual(curl(server.http, "POST", "/v2/models/fmnist/infer",
                              infer_json(self.f.images[:1]))[0], 200)

    def test_poll_mode_replaces_a_changed_version_without_failing_a_request(self):
        repo = self.repo_copy(["fmnist"])
        server = Server(repo, "--model-control-mode", "poll", "--repository-poll-secs", "0.5")
        self.addCleanup(server.stop)
        failures, done = [], threading.Event()

        def load():
            while not done.is_set():
                code, text = curl(server.http, "POST", "/v2/models/fmnist/infer",
                                  infer_json(self.f.images[:4], outputs=["label"]))
                if code != 200:
                    failures.append((code, text))
        threads = [threading.Thread(target=load) for _ in range(3)]
        [t.start() for t in threads]
        time.sleep(0.5)
        shutil.copytree(os.path.join(repo, "fmnist", "1"), os.path.join(repo, "fmnist", "2"))
        deadline = time.time() + 15
        while time.time() < deadline:
            md = json.loads(curl(server.http, "GET", "/v2/models/fmnist")[1])
            if md["versions"] == ["2"]:
                break
            time.sleep(0.2)
        time.sleep(1)
        done.set()
        [t.join() for t in threads]
        self.assertEqual(md["versions"], ["2"])
        self.assertEqual(failures, [])

    def test_sigterm_answers_every_request_in_flight_then_exits_zero(self):
        # fmnist has no config of its own, so --max-queue-size holds all 32 (fmnist_tuned
        # queues 4: some of 32 were refused as a full queue, not by the drain).
        repo = self.repo_copy(["fmnist"])
        server = Server(repo, "--max-queue-size", "1000")
        results = []
        lock = threading.Lock()
        started = threading.Barrier(33)

        def client():
            conn = http.client.HTTPConnection("127.0.0.1", server.http, timeout=30)
            body = infer_json(self.f.images[:32])
            started.wait()
            try:
                conn.request("POST", "/v2/models/fmnist/infer", body=body)
                status = conn.getresponse().status
            except OSError as e:
                status = repr(e)
            with lock:
                results.append(status)
        threads = [threading.Thread(target=client) for _ in range(32)]
        [t.start() for t in threads]
        started.wait()
        time.sleep(0.3)  # the requests are queued or running
        server.proc.send_signal(signal.SIGTERM)
        [t.join() for t in threads]
        self.assertEqual(server.proc.wait(30), 0)
        self.assertEqual(results.count(200), 32, results)
        self.assertIn("drained", server.output())
        server.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
