"""HTTPS at the front door: a local cluster started with `cadre local up --tls`
serves its API, logins, the dashboard link and inference over TLS only, with a
certificate its own client config trusts; the CLI, the SDK and plain Python
clients reach it, and nothing answers in the clear."""

import http.client
import json
import os
import re
import shutil
import ssl
import tempfile
import time
import unittest
import urllib.parse

import v2_grpc
from test_notebook_proxy import BIN, ProxyClient, cadre_cli, notebook_yaml, websocket

MODEL_JOB = """apiVersion: cadre/v1
kind: Job
metadata:
  name: tls-mlp
spec:
  template:
    command: [sh, -c, 'exec cadre-train --model mlp --epochs 1 --train-limit 2000 --threads 1 --export "$CADRE_CHECKPOINT_DIR/model.cadre"']
    resources: {cpu: 1, memory: 512Mi}
"""

SERVICE = """apiVersion: cadre/v1
kind: InferenceService
metadata:
  name: tls-isvc
spec:
  predictor:
    model:
      modelFormat: {name: cadre}
      storageUri: trainjob://tls-mlp
    resources: {cpu: 500m, memory: 512Mi}
"""


class TlsIngressTest(ProxyClient, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not BIN:
            raise unittest.SkipTest("CADRE_BIN_DIR is not set (ctest sets it)")
        cls.dir = tempfile.mkdtemp(prefix="cadre-tls-")
        os.environ["PATH"] = BIN + os.pathsep + os.environ["PATH"]
        try:
            cls.up = cadre_cli("local", "up", "--dir", cls.dir, "--agents", "1", "--tls").stdout
            cls.config = os.path.join(cls.dir, "config")
            os.environ["CADRE_CONFIG"] = cls.config
            with open(os.path.join(cls.dir, "keys", "token")) as f:
                cls.token = f.read().strip()
            with open(os.path.join(cls.dir, "ingress.json")) as f:
                cls.ports = json.load(f)
            cls.port = cls.ports["http"]
            cls.ca = os.path.join(cls.dir, "keys", "ingress-tls.crt")
            cls.trusting = ssl.create_default_context(cafile=cls.ca)
            cls.apply("model.yaml", MODEL_JOB)  # trains while the other tests run
            cls.apply("notebook.yaml", notebook_yaml("tls-nb"))
            # The token reaches the ingress with its next route poll.
            deadline = time.time() + 15
            while cls.request("GET", "/api/v1/session", cls.bearer())[0] != 200:
                if time.time() > deadline:
                    raise AssertionError("the ingress never took the token")
                time.sleep(0.1)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "dir", None):
            cadre_cli("local", "down", "--dir", cls.dir, check=False)
            shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def apply(cls, name, text):
        path = os.path.join(cls.dir, name)
        with open(path, "w") as f:
            f.write(text)
        cadre_cli("apply", "-f", path)

    @classmethod
    def bearer(cls):
        return {"Authorization": "Bearer " + cls.token}

    @classmethod
    def request(cls, method, path, headers=None, body=None, context=None):
        conn = http.client.HTTPSConnection("127.0.0.1", cls.port, timeout=30,
                                           context=context or cls.trusting)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            res = conn.getresponse()
            return res.status, dict(res.getheaders()), res.read().decode(errors="replace")
        finally:
            conn.close()

    @classmethod
    def channels(cls, notebook, kernel, headers, origin=None):
        url = f"wss://127.0.0.1:{cls.port}/notebook/default/{notebook}/api/kernels/{kernel}/channels"
        return websocket.create_connection(url, header=[f"{k}: {v}" for k, v in headers.items()],
                                           origin=origin, timeout=60, sslopt={"ca_certs": cls.ca})

    def test_the_cluster_writes_an_https_url_and_trusts_its_own_certificate(self):
        self.assertTrue(self.ports["tls"])
        self.assertIn(f"ingress https://127.0.0.1:{self.port}", self.up)
        with open(self.config) as f:
            config = f.read()
        self.assertIn(f"ingress: https://127.0.0.1:{self.port}", config)
        self.assertIn(f"ingress_ca: {self.ca}", config)
        self.assertEqual(os.stat(os.path.join(self.dir, "keys", "ingress-tls.key")).st_mode & 0o777, 0o600)
        with open(os.path.join(self.dir, "prometheus.yml")) as f:
            prometheus = f.read()
        self.assertIn("scheme: https", prometheus)

    def test_the_api_answers_over_tls_to_a_client_that_trusts_the_certificate(self):
        status, _, body = self.request("GET", "/api/v1/session", self.bearer())
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["namespace"], "default")

    def test_a_watch_stream_sends_its_events_over_tls(self):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=20, context=self.trusting)
        try:
            conn.request("GET", "/api/v1/watch/jobs/tls-mlp", headers=self.bearer())
            res = conn.getresponse()
            self.assertEqual(res.status, 200)
            self.assertEqual(res.getheader("Content-Type"), "text/event-stream")
            lines = [res.readline().decode().rstrip("\n") for _ in range(2)]
            self.assertEqual(lines[0], "event: snapshot")
            self.assertEqual(json.loads(lines[1][len("data: "):])["name"], "tls-mlp")
        finally:
            conn.close()

    def test_a_client_that_does_not_trust_it_is_refused_before_any_request(self):
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.request("GET", "/api/v1/session", self.bearer(), context=ssl.create_default_context())

    def test_nothing_is_answered_in_the_clear(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            with self.assertRaises((http.client.HTTPException, ConnectionError)):
                conn.request("GET", "/api/v1/session", headers=self.bearer())
                conn.getresponse()
        finally:
            conn.close()

    def test_a_login_over_tls_sets_a_secure_session_cookie(self):
        origin = f"https://127.0.0.1:{self.port}"
        status, headers, body = self.request(
            "POST", "/login", {"Content-Type": "application/x-www-form-urlencoded", "Origin": origin},
            urllib.parse.urlencode({"token": self.token, "next": "/ui/"}))
        self.assertEqual(status, 303, body)
        cookie = headers["Set-Cookie"]
        for attribute in ("HttpOnly", "SameSite=Strict", "Secure"):
            self.assertIn(attribute, cookie)
        session = cookie.split(";", 1)[0]
        status, _, body = self.request("GET", "/api/v1/session", {"Cookie": session})
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["via"], "session")

    def test_the_dashboard_link_is_https_and_logs_in_once(self):
        out = cadre_cli("dashboard").stdout
        link = re.search(r"https://127\.0\.0\.1:\d+/\S+", out)
        self.assertIsNotNone(link, out)
        target = urllib.parse.urlsplit(link.group(0))
        path = target.path + "?" + target.query
        # The code reaches the ingress with its next route poll.
        deadline = time.time() + 10
        status, headers, _ = self.request("GET", path)
        while status == 401 and time.time() < deadline:
            time.sleep(0.1)
            status, headers, _ = self.request("GET", path)
        self.assertEqual(status, 303)
        self.assertIn("Secure", headers["Set-Cookie"])
        self.assertEqual(self.request("GET", path)[0], 401, "a one-time link")

    @unittest.skipIf(websocket is None, "needs python3-websocket")
    def test_a_notebook_kernel_runs_code_over_a_tls_websocket(self):
        cadre_cli("wait", "notebook/tls-nb", "--for", "Running", "--timeout", "120")
        kernel = self.start_kernel("tls-nb", self.bearer())
        ws = self.channels("tls-nb", kernel, self.bearer())
        try:
            self.assertEqual(self.execute(ws, "print(6*7)"), "42\n")
            self.assertEqual(self.execute(ws, "print('x' * 100000)"), "x" * 100000 + "\n",
                             "a message larger than a TLS record comes whole")
        finally:
            ws.close()

    def test_inference_goes_over_tls_from_the_cli_and_the_sdk(self):
        cadre_cli("wait", "job/tls-mlp", "--for", "Succeeded", "--timeout", "240")
        self.apply("service.yaml", SERVICE)
        cadre_cli("wait", "isvc/tls-isvc", "--for", "Ready", "--timeout", "120")
        status = json.loads(cadre_cli("get", "isvc", "tls-isvc", "-o", "json").stdout)
        self.assertTrue(status["url"].startswith(f"https://127.0.0.1:{self.port}/"), status["url"])
        request = os.path.join(self.dir, "request.json")
        with open(request, "w") as f:
            json.dump({"inputs": [{"name": "input", "shape": [1, 1, 28, 28], "datatype": "FP32",
                                   "data": [0.5] * 784}]}, f)
        answer = json.loads(cadre_cli("predict", "isvc/tls-isvc", "-f", request).stdout)
        self.assertIn("probabilities", [o["name"] for o in answer["outputs"]], answer)
        import cadre  # the SDK, with the cluster's config (and its ingress_ca)
        import numpy
        out = cadre.Client().predict("tls-isvc", numpy.full((2, 28, 28), 128, dtype=numpy.uint8))
        self.assertEqual(out["probabilities"].shape, (2, 10))
        # The gRPC port speaks TLS with the same certificate, and only TLS.
        grpc, pb, svc = v2_grpc.generated(os.path.join(self.dir, "grpc-py"))
        address = cadre.Client().config.ingress_grpc
        self.assertEqual(address, f"127.0.0.1:{self.ports['grpc']}")
        with open(self.ca, "rb") as f:
            trusted = grpc.ssl_channel_credentials(root_certificates=f.read())
        stub = svc.GRPCInferenceServiceStub(grpc.secure_channel(address, trusted))
        request = pb.ModelInferRequest(model_name="tls-isvc")
        request.inputs.add(name="input", datatype="FP32", shape=[1, 1, 28, 28])
        request.raw_input_contents.append(numpy.full(784, 0.5, dtype=numpy.float32).tobytes())
        answer = stub.ModelInfer(request, metadata=[("authorization", "Bearer " + self.token)], timeout=30)
        self.assertIn("probabilities", [o.name for o in answer.outputs])
        clear = svc.GRPCInferenceServiceStub(grpc.insecure_channel(address))
        with self.assertRaises(grpc.RpcError) as e:
            clear.ModelInfer(request, metadata=[("authorization", "Bearer " + self.token)], timeout=5)
        self.assertEqual(e.exception.code(), grpc.StatusCode.UNAVAILABLE)


if __name__ == "__main__":
    unittest.main()
