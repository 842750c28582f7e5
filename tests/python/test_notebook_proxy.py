"""Notebooks through the ingress (docs/notebooks.md) on a real local cluster: Debian's
Jupyter reached at /notebook/<namespace>/<name>/ with a Cadre token or a browser
login, its kernels over the proxied WebSocket, the proxy's refusals, and culling."""

import glob
import http.client
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid

import cadre

try:
    import websocket  # Debian's python3-websocket
except ImportError:  # pragma: no cover - setup-deps installs it
    websocket = None

BIN = os.environ.get("CADRE_BIN_DIR", "")


def cadre_cli(*args, check=True):
    result = subprocess.run([os.path.join(BIN, "cadre"), *args], capture_output=True, text=True, timeout=180)
    if check and result.returncode != 0:
        raise AssertionError(f"cadre {' '.join(args)}: {result.stdout}{result.stderr}")
    return result


def notebook_json(name):
    return json.loads(cadre_cli("get", "notebook", name, "-o", "json").stdout)


SDK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python")


def notebook_yaml(name, namespace="default", extra="", env=None):
    # Its kernels import the SDK from this checkout.
    variables = dict(env or {}, PYTHONPATH=os.path.normpath(SDK))
    listed = "".join(f"      - {{name: {k}, value: {json.dumps(str(v))}}}\n" for k, v in variables.items())
    return (f"apiVersion: cadre/v1\nkind: Notebook\nmetadata: {{name: {name}, namespace: {namespace}}}\n"
            f"spec:\n  template:\n    resources: {{cpu: 250m, memory: 512Mi}}\n    env:\n{listed}{extra}")


class ProxyClient:
    """Talks to notebooks through the ingress at cls.host:cls.port with cls.token,
    on a local cluster of its own (up_cluster in setUpClass)."""

    @classmethod
    def up_cluster(cls, prefix):
        if not BIN:
            raise unittest.SkipTest("CADRE_BIN_DIR is not set (ctest sets it)")
        if websocket is None:
            raise unittest.SkipTest("python3-websocket is not installed")
        cls.dir = tempfile.mkdtemp(prefix=prefix)
        os.environ["PATH"] = BIN + os.pathsep + os.environ["PATH"]
        cadre_cli("local", "up", "--dir", cls.dir, "--agents", "2")
        cls.config = os.path.join(cls.dir, "config")
        os.environ["CADRE_CONFIG"] = cls.config

    @classmethod
    def down_cluster(cls):
        if getattr(cls, "dir", None):
            cadre_cli("local", "down", "--dir", cls.dir, check=False)
            shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def request(cls, method, path, headers=None, body=None):
        conn = http.client.HTTPConnection(cls.host, cls.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            res = conn.getresponse()
            return res.status, dict(res.getheaders()), res.read().decode(errors="replace")
        finally:
            conn.close()

    @classmethod
    def bearer(cls, token=None):
        return {"Authorization": "Bearer " + (token or cls.token)}

    @classmethod
    def start_kernel(cls, notebook, headers):
        # The ingress hears that a server answers within a route poll of the coordinator.
        deadline = time.time() + 15
        while True:
            status, answer, body = cls.request("POST", f"/notebook/default/{notebook}/api/kernels",
                                               dict(headers, **{"Content-Type": "application/json"}),
                                               json.dumps({"name": "python3"}))
            if status != 503 or "Retry-After" not in answer or time.time() > deadline:
                break
            time.sleep(0.5)
        if status != 201:
            raise AssertionError(f"a kernel of {notebook} was not started: {status} {body}")
        return json.loads(body)["id"]

    @classmethod
    def channels(cls, notebook, kernel, headers, origin=None):
        url = f"ws://{cls.host}:{cls.port}/notebook/default/{notebook}/api/kernels/{kernel}/channels"
        header = [f"{k}: {v}" for k, v in headers.items()]
        return websocket.create_connection(url, header=header, origin=origin, timeout=60)

    @staticmethod
    def execute(ws, code, wait=True):
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "username": "test", "session": uuid.uuid4().hex,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        if not wait:
            return None
        out = ""
        while True:
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                out += msg["content"]["text"]
            elif msg["msg_type"] == "error":
                raise AssertionError("\n".join(msg["content"]["traceback"]))
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return out


class NotebookProxyTest(ProxyClient, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up_cluster("cadre-nbproxy-")
        try:
            cls.set_up_notebooks()
        except BaseException:
            cls.tearDownClass()  # unittest does not when setUpClass fails
            raise

    @classmethod
    def set_up_notebooks(cls):
        cls.client = cadre.Client(config=cls.config)
        cls.stopping = False
        for name, extra in [("alice", ""), ("idle", "  idleCullingMinutes: 1\n"),
                            ("busy", "  idleCullingMinutes: 1\n")]:
            path = os.path.join(cls.dir, name + ".yaml")
            with open(path, "w") as f:
                f.write(notebook_yaml(name, extra=extra))
            cadre_cli("apply", "-f", path)
        # Another namespace's notebook, which a notebook's own key never sees.
        path = os.path.join(cls.dir, "theirs.yaml")
        with open(path, "w") as f:
            f.write(notebook_yaml("theirs", namespace="other", extra="  stopped: true\n"))
        cadre_cli("apply", "-f", path)
        cls.started = time.time()
        cls.token = cls.client.create_token("default", "notebook proxy test")
        cls.other_token = cls.client.create_token("other", "another namespace")
        for name in ("alice", "idle", "busy"):
            cadre_cli("wait", f"notebook/{name}", "--for", "Running", "--timeout", "120")
        url = urllib.parse.urlparse(notebook_json("alice")["url"])
        cls.host, cls.port = url.hostname, url.port
        # A kernel that keeps executing keeps "busy" from being culled.
        cls.busy_ws = None
        kernel = cls.start_kernel("busy", cls.bearer())
        cls.busy_ws = cls.channels("busy", kernel, cls.bearer())
        cls.execute(cls.busy_ws, "print('ready')")  # the kernel answers on its channels
        cls.execute(cls.busy_ws, "import time; time.sleep(900)", wait=False)
        # What Jupyter itself says of that kernel ("busy"; sometimes "starting" for
        # good, when it missed the kernel's first messages), shown if the test fails.
        cls.busy_kernel, cls.busy_seen = kernel, []
        threading.Thread(target=cls.watch_busy_kernel, daemon=True).start()

    @classmethod
    def watch_busy_kernel(cls):
        path = f"/notebook/default/busy/api/kernels/{cls.busy_kernel}?no_track_activity=1"
        while not cls.stopping:
            try:
                status, _, body = cls.request("GET", path, cls.bearer())
                kernel = json.loads(body) if status == 200 else {}
                cls.busy_seen.append((time.strftime("%H:%M:%S"), kernel.get("execution_state", status),
                                      kernel.get("last_activity")))
            except (OSError, ValueError) as e:
                cls.busy_seen.append((time.strftime("%H:%M:%S"), repr(e), None))
            time.sleep(5)

    @classmethod
    def busy_server_log(cls):
        """The last lines busy's Jupyter server wrote (its replica's log on its agent)."""
        lines = []
        for path in sorted(glob.glob(os.path.join(cls.dir, "agents", "*", "logs", "busy-*.log"))):
            with open(path, errors="replace") as f:
                lines += [f"{os.path.basename(path)}: {line.rstrip()}" for line in f.readlines()[-40:]]
        return "\n".join(lines)

    @classmethod
    def tearDownClass(cls):
        cls.stopping = True
        if getattr(cls, "busy_ws", None):
            cls.busy_ws.close()
        cls.down_cluster()

    def test_a_kernel_runs_code_through_the_proxy_with_a_cadre_token(self):
        kernel = self.start_kernel("alice", self.bearer())
        ws = self.channels("alice", kernel, self.bearer())
        try:
            self.assertEqual(self.execute(ws, "print(6*7)"), "42\n")
        finally:
            ws.close()

    def test_a_kernel_uses_the_sdk_with_the_notebooks_own_key_scoped_to_its_namespace(self):
        kernel = self.start_kernel("alice", self.bearer())
        ws = self.channels("alice", kernel, self.bearer())
        try:
            out = self.execute(ws, "\n".join([
                "import json, os, cadre",
                "c = cadre.Client()  # no setup: CADRE_CONFIG is the notebook's own",
                "print(json.dumps({'config': os.environ['CADRE_CONFIG'],",
                "  'notebooks': sorted(n['name'] for n in c.list('notebooks')),",
                "  'token_namespaces': sorted({t['ns'] for t in c.list('tokens')}),",
                "  'nodes': len(c.list('nodes'))}))",
                "try:",
                "    c.apply({'apiVersion': 'cadre/v1', 'kind': 'Job', 'metadata': {'name': 'x', 'namespace': 'other'},",
                "             'spec': {'template': {'command': ['true']}}})",
                "    print('applied')",
                "except cadre.PermissionDenied as e:",
                "    print('refused:', e)",
                "try:",
                "    c.get('notebook/theirs')",
                "except cadre.NotFound:",
                "    print('theirs: not found')",
                "job = c.submit(cadre.Job(command=['sh', '-c', 'echo hello from $CADRE_NAMESPACE'], cpu=0.1, memory='64Mi'))",
                "print('job:', job.wait(timeout=60).get('phase'))",
                "print('log:', ''.join(c.logs(job.name)).strip())",
            ]))
        finally:
            ws.close()
        lines = out.strip().splitlines()
        seen = json.loads(lines[0])
        self.assertTrue(seen["config"].endswith("/cadre-client/config"), seen)
        self.assertIn("alice", seen["notebooks"])
        self.assertNotIn("theirs", seen["notebooks"])
        self.assertEqual(seen["token_namespaces"], ["default"])
        self.assertEqual(seen["nodes"], 2)
        self.assertIn("refused: ", lines[1])
        self.assertIn("namespace 'default' only", lines[1])
        self.assertEqual(lines[2], "theirs: not found")
        self.assertEqual(lines[3], "job: Succeeded", out)
        self.assertEqual(lines[4], "log: hello from default", out)

    def test_without_a_login_it_is_401_and_another_namespaces_token_is_403(self):
        self.assertEqual(self.request("GET", "/notebook/default/alice/api/kernels")[0], 401)
        self.assertEqual(self.request("GET", "/notebook/default/alice/api/kernels",
                                      {"Authorization": "Bearer cadre_" + "0" * 64})[0], 401)
        status, _, body = self.request("GET", "/notebook/default/alice/api/kernels", self.bearer(self.other_token))
        self.assertEqual(status, 403, body)
        # Jupyter's own token never works at the front door, nor is it needed.
        self.assertEqual(self.request("GET", "/notebook/default/alice/api/kernels", self.bearer())[0], 200)

    def test_a_path_that_climbs_out_of_the_notebook_never_reaches_jupyter(self):
        for path in ("/notebook/default/alice/../../other/", "/notebook/default/alice/%2e%2e/%2e%2e/other/"):
            self.assertEqual(self.request("GET", path, self.bearer())[0], 400, path)

    def test_a_websocket_from_a_foreign_origin_is_refused(self):
        kernel = self.start_kernel("alice", self.bearer())
        with self.assertRaises(websocket.WebSocketBadStatusException) as refused:
            self.channels("alice", kernel, self.bearer(), origin="http://evil.example")
        self.assertEqual(refused.exception.status_code, 403)

    def test_the_login_link_of_cadre_notebook_open_opens_a_browser_session_once(self):
        opened = cadre_cli("notebook", "open", "alice").stdout
        link = opened.split("Log in (once, within 5 minutes): ")[1].split()[0]
        path = urllib.parse.urlparse(link)
        time.sleep(1)  # the ingress learns of the code with its next route poll (250 ms)
        status, headers, _ = self.request("GET", path.path + "?" + path.query)
        self.assertEqual(status, 303)
        self.assertEqual(headers["Location"], "/notebook/default/alice/")
        cookie = headers["Set-Cookie"]
        self.assertIn("HttpOnly", cookie)
        self.assertIn("SameSite=Strict", cookie)
        session = cookie.split(";")[0]
        self.assertEqual(self.request("GET", path.path + "?" + path.query)[0], 401)  # used up
        # The browser's session lists files and, from this ingress's own page, starts a kernel.
        status, _, body = self.request("GET", "/notebook/default/alice/api/contents", {"Cookie": session})
        self.assertEqual(status, 200, body)
        origin = {"Cookie": session, "Origin": f"http://{self.host}:{self.port}"}
        kernel = self.start_kernel("alice", origin)
        ws = self.channels("alice", kernel, {"Cookie": session}, origin=origin["Origin"])
        try:
            self.assertEqual(self.execute(ws, "print(6*7)"), "42\n")
        finally:
            ws.close()
        # The same cookie from another site changes nothing.
        status, _, _ = self.request("POST", "/notebook/default/alice/api/kernels",
                                    {"Cookie": session, "Origin": "http://evil.example"}, "{}")
        self.assertEqual(status, 403)

    def test_a_stopped_notebook_answers_503_with_its_reason_at_once(self):
        path = os.path.join(self.dir, "stopped.yaml")
        with open(path, "w") as f:
            f.write(notebook_yaml("stopped", extra="  stopped: true\n"))
        cadre_cli("apply", "-f", path)
        deadline = time.time() + 30
        while True:
            began = time.time()
            status, headers, body = self.request("GET", "/notebook/default/stopped/api", self.bearer())
            if status != 404 or time.time() > deadline:  # the ingress hears of it within a poll
                break
            time.sleep(0.3)
        self.assertEqual(status, 503, body)
        self.assertLess(time.time() - began, 5)
        self.assertIn("Stopped", body)
        self.assertIn("cadre notebook start stopped", body)

    def test_delete_with_purge_removes_the_workspace_and_refuses_a_users_folder(self):
        path = os.path.join(self.dir, "scratch.yaml")
        with open(path, "w") as f:
            f.write(notebook_yaml("scratch"))
        cadre_cli("apply", "-f", path)
        cadre_cli("wait", "notebook/scratch", "--for", "Running", "--timeout", "120")
        workspace = notebook_json("scratch")["workspace"]
        with open(os.path.join(workspace, "results.csv"), "w") as f:
            f.write("epoch,accuracy\n1,0.8\n")
        os.makedirs(os.path.join(workspace, "data", "raw"), exist_ok=True)
        deleted = cadre_cli("delete", "notebook/scratch", "--purge")
        self.assertIn("its workspace removed", deleted.stdout)
        self.assertFalse(os.path.exists(workspace) and os.listdir(workspace), workspace)
        self.assertNotEqual(cadre_cli("get", "notebook", "scratch", check=False).returncode, 0)
        # A folder the user named is the user's: Cadre does not remove it.
        own = os.path.join(self.dir, "own-folder")
        path = os.path.join(self.dir, "own.yaml")
        with open(path, "w") as f:
            f.write(notebook_yaml("own", extra=f"  workspace: {{path: {own}}}\n  stopped: true\n"))
        cadre_cli("apply", "-f", path)
        refused = cadre_cli("delete", "notebook/own", "--purge", check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("spec.workspace.path", refused.stdout + refused.stderr)
        self.assertEqual(notebook_json("own")["state"], "Stopped")
        cadre_cli("delete", "notebook/own")

    def test_an_idle_notebook_is_culled_and_a_busy_one_is_not(self):
        deadline = self.started + 240
        while time.time() < deadline:
            idle = notebook_json("idle")
            if idle["state"] == "Stopped":
                break
            time.sleep(2)
        self.assertEqual(idle["state"], "Stopped", idle)
        self.assertEqual(idle["reason"], "IdleCulled")
        self.assertTrue(os.path.isdir(idle["workspace"]))  # culled like a stop: its files stay
        busy = notebook_json("busy")
        seen = cadre_cli("describe", "notebook/busy", check=False).stdout
        self.assertEqual(busy["state"], "Running", f"{busy}\n{seen}\nJupyter said of its kernel: "
                         f"{self.busy_seen}\n{self.busy_server_log()}")
        self.assertIsNotNone(busy["lastActivity"])


if __name__ == "__main__":
    unittest.main()
