"""The ingress's HTTP API (/api/v1/) on a real local cluster, through real HTTP:
who may read what, the shapes `cadre get -o json` prints, filters and pages."""

import http.client
import json
import os
import re
import time
import unittest
import urllib.parse

from test_notebook_proxy import ProxyClient, cadre_cli

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


class ApiTest(ProxyClient, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up_cluster("cadre-api-")
        try:
            with open(os.path.join(cls.dir, "keys", "token")) as f:
                cls.token = f.read().strip()
            with open(os.path.join(cls.dir, "ingress.json")) as f:
                cls.host, cls.port = "127.0.0.1", json.load(f)["http"]
            created = cadre_cli("tokens", "create", "--namespace", "team-b").stdout
            cls.other = re.search(r"cadre_[0-9a-f]{64}", created).group(0)
            for name in ("alpha-1", "alpha-2", "beta-1"):
                path = os.path.join(cls.dir, name + ".yaml")
                with open(path, "w") as f:
                    f.write(f"apiVersion: cadre/v1\nkind: Job\nmetadata: {{name: {name}}}\nspec:\n"
                            f"  template:\n    command: [sh, -c, 'echo {name}; echo epoch=1 accuracy=0.5; "
                            f"echo epoch=2 accuracy=0.75']\n")
                cadre_cli("apply", "-f", path)
            # A pipeline run whose artifacts have a lineage.
            cadre_cli("apply", "-f", os.path.join(ROOT, "tests", "pipelines", "kfp", "two_step.yaml"))
            cadre_cli("run", "pipeline/two-step-pipeline", "-p", "text=one two three", "--name", "lin")
            for name in ("alpha-1", "alpha-2", "beta-1"):
                cadre_cli("wait", f"job/{name}", "--for", "Succeeded", "--timeout", "60")
            # Tokens reach the ingress with its next route poll.
            deadline = time.time() + 15
            for token in (cls.token, cls.other):
                while cls.request("GET", "/api/v1/session", cls.bearer(token))[0] != 200:
                    if time.time() > deadline:
                        raise AssertionError("the ingress never took the tokens")
                    time.sleep(0.1)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.down_cluster()

    def get(self, path, headers=None):
        status, answer, body = self.request("GET", path, headers if headers is not None
                                            else self.bearer())
        return status, answer, (json.loads(body) if body else None)

    def test_a_token_says_who_calls_and_the_answers_are_never_cached(self):
        status, headers, body = self.get("/api/v1/session")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["namespace"], "default")
        self.assertEqual(body["via"], "token")
        self.assertEqual(headers.get("Cache-Control"), "no-store")
        self.assertEqual(headers.get("X-Content-Type-Options"), "nosniff")

    def test_without_credentials_or_outside_its_namespace_it_is_refused(self):
        self.assertEqual(self.get("/api/v1/jobs", headers={})[0], 401)
        self.assertEqual(self.get("/api/v1/jobs", self.bearer("cadre_" + "0" * 64))[0], 401)
        self.assertEqual(self.get("/api/v1/namespaces/team-b/jobs")[0], 403)
        self.assertEqual(self.request("PUT", "/api/v1/jobs/alpha-1", self.bearer())[0], 405)
        self.assertEqual(self.get("/api/v1/secrets")[0], 404)
        self.assertEqual(self.get("/api/v1/jobs?limit=100000")[0], 400)
        # Another namespace's token sees none of default's jobs.
        status, _, body = self.get("/api/v1/jobs", self.bearer(self.other))
        self.assertEqual(status, 200)
        self.assertEqual(body["items"], [])
        self.assertEqual(self.get("/api/v1/jobs/alpha-1", self.bearer(self.other))[0], 404)

    def test_nodes_and_jobs_come_in_the_clis_json_shapes(self):
        status, _, nodes = self.get("/api/v1/nodes")
        self.assertEqual(status, 200, nodes)
        self.assertEqual([n["name"] for n in nodes["items"]], ["local-1", "local-2"])
        self.assertEqual(nodes["items"][0]["state"], "Ready")
        status, _, job = self.get("/api/v1/namespaces/default/jobs/alpha-1")
        self.assertEqual(status, 200, job)
        self.assertEqual(job["phase"], "Succeeded")
        self.assertEqual(job["namespace"], "default")
        self.assertIn("events", job)
        cli = json.loads(cadre_cli("get", "job", "alpha-1", "-o", "json").stdout)
        self.assertEqual({k: job[k] for k in cli}, cli, "the same fields with the same values")
        status, _, missing = self.get("/api/v1/jobs/nope")
        self.assertEqual(status, 404)
        self.assertIn("nope", missing["error"])

    def test_lists_are_filtered_and_paged_by_name(self):
        status, _, page = self.get("/api/v1/jobs?prefix=alpha-&limit=1")
        self.assertEqual(status, 200, page)
        self.assertEqual([j["name"] for j in page["items"]], ["alpha-1"])
        self.assertEqual(page["continue"], "alpha-1")
        _, _, page = self.get("/api/v1/jobs?prefix=alpha-&limit=1&continue=alpha-1")
        self.assertEqual([j["name"] for j in page["items"]], ["alpha-2"])
        self.assertIsNone(page["continue"])
        _, _, page = self.get("/api/v1/jobs?phase=Running&owner=")
        self.assertEqual(page["items"], [])
        _, _, page = self.get("/api/v1/jobs?phase=Succeeded&owner=")
        self.assertEqual([j["name"] for j in page["items"]], ["alpha-1", "alpha-2", "beta-1"])

    def test_a_jobs_log_is_read_in_pieces_and_its_metrics_as_a_history(self):
        status, _, piece = self.get("/api/v1/jobs/alpha-1/logs?maxBytes=4")
        self.assertEqual(status, 200, piece)
        self.assertEqual(piece["data"], "alph")
        self.assertEqual(piece["offset"], 0)
        status, _, rest = self.get(f"/api/v1/jobs/alpha-1/logs?offset={piece['nextOffset']}")
        self.assertTrue(rest["data"].startswith("a-1\nepoch=1"), rest)
        self.assertTrue(rest["finished"])
        status, _, tail = self.get("/api/v1/namespaces/default/jobs/alpha-1/logs?offset=-6")
        self.assertEqual(tail["data"], "=0.75\n")
        status, _, history = self.get("/api/v1/jobs/alpha-1/metrics?metric=accuracy")
        self.assertEqual(status, 200, history)
        self.assertEqual([(p["name"], p["step"], p["value"]) for p in history["points"]],
                         [("accuracy", 1, 0.5), ("accuracy", 2, 0.75)])
        self.assertFalse(history["truncated"])
        _, _, every = self.get("/api/v1/jobs/alpha-1/metrics")
        self.assertEqual({p["name"] for p in every["points"]}, {"epoch", "accuracy"})
        _, _, newest = self.get("/api/v1/jobs/alpha-1/metrics?metric=accuracy&maxPoints=1")
        self.assertEqual([p["value"] for p in newest["points"]], [0.75])
        self.assertTrue(newest["truncated"])
        _, _, one = self.get("/api/v1/jobs/alpha-1/metrics?metric=loss")
        self.assertEqual(one["points"], [])
        self.assertEqual(self.get("/api/v1/jobs/alpha-1/logs?maxBytes=0")[0], 400)
        self.assertEqual(self.get("/api/v1/jobs/nope/logs")[0], 404)
        # Another namespace's token reads neither.
        self.assertEqual(self.get("/api/v1/jobs/alpha-1/logs", self.bearer(self.other))[0], 404)
        self.assertEqual(self.get("/api/v1/jobs/alpha-1/metrics", self.bearer(self.other))[0], 404)

    def test_a_notebook_is_stopped_and_started_as_the_cli_does(self):
        manifest = ("apiVersion: cadre/v1\nkind: Notebook\nmetadata: {name: api-lab}\nspec:\n"
                    "  template:\n    resources: {cpu: 0.2, memory: 256Mi}\n")
        yaml = dict(self.bearer(), **{"Content-Type": "application/yaml"})
        self.assertEqual(self.request("POST", "/api/v1/apply", yaml, manifest)[0], 200)
        status, _, body = self.request("POST", "/api/v1/notebooks/api-lab/stop", self.bearer())
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body), {"name": "api-lab", "action": "stopping"})
        status, _, body = self.request("POST", "/api/v1/notebooks/api-lab/stop", self.bearer())
        self.assertEqual(json.loads(body)["action"], "already stopped")
        deadline = time.time() + 30
        while json.loads(cadre_cli("get", "notebook", "api-lab", "-o", "json").stdout)["state"] != "Stopped":
            self.assertLess(time.time(), deadline, "the notebook never stopped")
            time.sleep(0.2)
        status, _, body = self.request("POST", "/api/v1/notebooks/api-lab/start", self.bearer())
        self.assertEqual(json.loads(body)["action"], "starting", body)
        self.assertEqual(self.request("POST", "/api/v1/notebooks/nope/stop", self.bearer())[0], 404)
        self.assertEqual(self.request("POST", "/api/v1/notebooks/api-lab/stop", self.bearer(self.other))[0], 404)
        self.request("DELETE", "/api/v1/notebooks/api-lab", self.bearer())

    def test_an_artifacts_lineage_walks_the_runs_of_the_callers_namespace(self):
        cadre_cli("wait", "run/lin", "--for", "Succeeded", "--timeout", "120")
        status, _, run = self.get("/api/v1/runs/lin")
        self.assertEqual(status, 200, run)
        producer = next(t for t in run["tasks"] if t["id"] == "producer")
        uri = producer["outputArtifacts"][0]["uri"]
        quoted = urllib.parse.quote(uri, safe="")
        status, _, up = self.get(f"/api/v1/lineage?artifact={quoted}")
        self.assertEqual(status, 200, up)
        self.assertEqual(up["artifact"], uri)
        self.assertEqual(up["direction"], "upstream")
        self.assertIn("lin/producer", [f"{e['run']}/{e['task']}" for e in up["executions"]])
        self.assertIn({"from": "lin/producer", "to": "", "artifact": uri}, up["edges"])
        _, _, down = self.get(f"/api/v1/namespaces/default/lineage?artifact={quoted}&direction=downstream")
        self.assertIn("lin/consumer", [f"{e['run']}/{e['task']}" for e in down["executions"]])
        self.assertEqual(self.get("/api/v1/lineage?artifact=file%3A%2F%2F%2Fnowhere")[0], 404)
        self.assertEqual(self.get(f"/api/v1/lineage?artifact={quoted}", self.bearer(self.other))[0], 404,
                         "another namespace's runs are not walked")
        self.assertEqual(self.get("/api/v1/lineage?artifact=x&depth=0")[0], 400)

    def watch(self, path, headers=None):
        """A watch stream: its response and a reader of its events (name, data)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=20)
        conn.request("GET", path, headers=self.bearer() if headers is None else headers)
        res = conn.getresponse()

        def events():
            name = None
            while True:
                line = res.readline().decode()
                if not line:
                    return
                line = line.rstrip("\n")
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    yield name, json.loads(line[6:])
        return conn, res, events()

    def test_a_watch_streams_a_list_again_whenever_it_changes(self):
        conn, res, events = self.watch("/api/v1/watch/jobs?prefix=delta-")
        try:
            self.assertEqual(res.status, 200)
            self.assertEqual(res.getheader("Content-Type"), "text/event-stream")
            self.assertEqual(next(events), ("snapshot", {"items": [], "continue": None}))
            manifest = ("apiVersion: cadre/v1\nkind: Job\nmetadata: {name: delta-1}\nspec:\n"
                        "  template:\n    command: [sh, -c, 'echo delta']\n")
            yaml = dict(self.bearer(), **{"Content-Type": "application/yaml"})
            self.assertEqual(self.request("POST", "/api/v1/apply", yaml, manifest)[0], 200)
            # The job appears, then runs and succeeds: each change is one snapshot.
            phases = []
            for name, data in events:
                self.assertEqual(name, "snapshot")
                phases.append(data["items"][0]["phase"] if data["items"] else None)
                if phases[-1] == "Succeeded":
                    break
            self.assertEqual(phases[-1], "Succeeded")
            self.assertEqual(len(phases), len(set(phases)), "no snapshot twice")
        finally:
            conn.close()
        self.request("DELETE", "/api/v1/jobs/delta-1", self.bearer())

    def test_a_watch_is_refused_as_the_read_would_be_and_ends_with_its_object(self):
        for path, headers, status in (("/api/v1/watch/jobs", {}, 401),
                                      ("/api/v1/watch/namespaces/team-b/jobs", None, 403),
                                      ("/api/v1/watch/secrets", None, 404)):
            conn, res, _ = self.watch(path, headers)
            self.assertEqual(res.status, status, path)
            conn.close()
        conn, res, events = self.watch("/api/v1/watch/jobs/nope")
        try:
            self.assertEqual(res.status, 200)
            name, data = next(events)
            self.assertEqual((name, data["status"]), ("error", 404))
            self.assertEqual(list(events), [], "the stream ends")
        finally:
            conn.close()

    def test_the_dashboard_is_served_with_a_policy_that_allows_no_inline_script(self):
        status, headers, body = self.request("GET", "/ui/jobs/alpha-1")
        if status == 404 and "no dashboard" in body:
            self.skipTest("this build has no dashboard (npm was not found)")
        self.assertEqual(status, 200, body)
        self.assertIn("<script defer src=\"/assets/app-", body)
        self.assertNotIn("<script>", body, "no inline script")
        policy = headers.get("Content-Security-Policy", "")
        self.assertIn("script-src 'self'", policy)
        self.assertNotIn("unsafe-inline", policy)
        self.assertEqual(headers.get("X-Frame-Options"), "DENY")
        script = re.search(r'src="(/assets/app-[^"]+\.js)"', body).group(1)
        status, headers, _ = self.request("GET", script)
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/javascript"))
        self.assertEqual(self.request("GET", "/")[0], 303)
        self.assertEqual(self.request("GET", "/assets/../keys/token")[0], 404)

    def login(self):
        """A browser session from the login form: its cookie."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        conn.request("POST", "/login", body=urllib.parse.urlencode({"token": self.token, "next": "/"}),
                     headers={"Content-Type": "application/x-www-form-urlencoded", "Origin": self.origin()})
        res = conn.getresponse()
        res.read()
        conn.close()
        self.assertEqual(res.status, 303)
        return res.getheader("Set-Cookie").split(";")[0]

    def origin(self):
        return f"http://{self.host}:{self.port}"

    def test_a_browser_session_from_the_login_form_reads_the_api(self):
        status, _, body = self.get("/api/v1/session", {"Cookie": self.login()})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["via"], "session")
        self.assertEqual(body["namespace"], "default")
        self.assertRegex(body["csrfToken"], "^[0-9a-f]{64}$")

    def test_a_token_applies_and_deletes_and_a_session_must_prove_its_csrf_token(self):
        manifest = ("apiVersion: cadre/v1\nkind: Job\nmetadata: {name: gamma-1}\nspec:\n"
                    "  template:\n    command: [sh, -c, 'sleep 60']\n")
        yaml = {"Content-Type": "application/yaml"}
        status, _, body = self.request("POST", "/api/v1/apply", dict(self.bearer(), **yaml), manifest)
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body), {"kind": "Job", "name": "gamma-1", "action": "created"})
        status, _, body = self.request("POST", "/api/v1/apply", dict(self.bearer(), **yaml), "kind: Nope\n")
        self.assertEqual(status, 400, body)
        # Another namespace's token cannot reach it.
        self.assertEqual(self.request("DELETE", "/api/v1/jobs/gamma-1", self.bearer(self.other))[0], 404)
        # A browser session: the cookie alone, or with a page elsewhere's Origin, changes nothing.
        cookie = self.login()
        session = {"Cookie": cookie, "Origin": self.origin()}
        self.assertEqual(self.request("DELETE", "/api/v1/jobs/gamma-1", session)[0], 403)
        csrf = self.get("/api/v1/session", {"Cookie": cookie})[2]["csrfToken"]
        evil = {"Cookie": cookie, "Origin": "https://evil.example", "X-Cadre-CSRF": csrf}
        self.assertEqual(self.request("DELETE", "/api/v1/jobs/gamma-1", evil)[0], 403)
        self.assertEqual(self.get("/api/v1/jobs/gamma-1")[0], 200, "nothing was deleted")
        status, _, body = self.request("DELETE", "/api/v1/jobs/gamma-1", dict(session, **{"X-Cadre-CSRF": csrf}))
        self.assertEqual(status, 200, body)
        self.assertEqual(json.loads(body)["deleted"], True)
        self.assertEqual(self.get("/api/v1/jobs/gamma-1")[0], 404)


if __name__ == "__main__":
    unittest.main()
