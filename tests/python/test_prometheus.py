"""A real Prometheus (Debian's) scrapes a local cluster with the config `cadre local up`
writes: the coordinator's /metrics behind its token, the agents' (the same token)
and the ingress's."""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

from test_notebook_proxy import ProxyClient, cadre_cli


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@unittest.skipUnless(shutil.which("prometheus"), "prometheus is not installed")
class PrometheusTest(ProxyClient, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up_cluster("cadre-prometheus-")
        cls.prometheus = None
        try:
            with open(os.path.join(cls.dir, "endpoints.json")) as f:
                cls.metrics_url = json.load(f)["metrics"] + "/metrics"
            with open(os.path.join(cls.dir, "coordinator", "metrics.token")) as f:
                cls.metrics_token = f.read().strip()
            job = os.path.join(cls.dir, "hello.yaml")
            with open(job, "w") as f:
                f.write("apiVersion: cadre/v1\nkind: Job\nmetadata: {name: hello}\nspec:\n"
                        "  template:\n    command: [sh, -c, 'echo hi']\n")
            cadre_cli("apply", "-f", job)
            cadre_cli("wait", "job/hello", "--for", "Succeeded", "--timeout", "60")
            # A replica that runs while Prometheus scrapes: ~64 MiB held, a second of CPU.
            program = os.path.join(cls.dir, "busy.py")
            with open(program, "w") as f:
                f.write("import time\nb = bytearray(64 << 20)\nt = time.time()\n"
                        "while time.time() < t + 1.5:\n    pass\ntime.sleep(600)\n")
            busy = os.path.join(cls.dir, "busy.yaml")
            with open(busy, "w") as f:
                f.write("apiVersion: cadre/v1\nkind: Job\nmetadata: {name: busy}\nspec:\n"
                        f"  template:\n    command: [python3, {program}]\n"
                        "    resources: {cpu: 1, memory: 256Mi}\n")
            cadre_cli("apply", "-f", busy)
            cadre_cli("wait", "job/busy", "--for", "Running", "--timeout", "60")
            # The config local up wrote, scraped every second here.
            with open(os.path.join(cls.dir, "prometheus.yml")) as f:
                config = f.read().replace("scrape_interval: 5s", "scrape_interval: 1s")
            cls.work = tempfile.mkdtemp(prefix="prom-")
            with open(os.path.join(cls.work, "prometheus.yml"), "w") as f:
                f.write(config)
            cls.prom_port = free_port()
            cls.prometheus = subprocess.Popen(
                ["prometheus", f"--config.file={cls.work}/prometheus.yml",
                 f"--storage.tsdb.path={cls.work}/data",
                 f"--web.listen-address=127.0.0.1:{cls.prom_port}"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.prometheus is not None:
            cls.prometheus.terminate()
            cls.prometheus.wait(10)
            shutil.rmtree(cls.work, ignore_errors=True)
        cls.down_cluster()

    def query(self, promql, timeout=60):
        """The first sample of `promql` once Prometheus has one."""
        deadline = time.time() + timeout
        url = (f"http://127.0.0.1:{self.prom_port}/api/v1/query?"
               + urllib.parse.urlencode({"query": promql}))
        while time.time() < deadline:
            try:
                result = json.load(urllib.request.urlopen(url, timeout=2))["data"]["result"]
                if result:
                    return float(result[0]["value"][1])
            except OSError:
                pass
            time.sleep(0.5)
        self.fail(f"Prometheus never had {promql}")

    def test_prometheus_scrapes_the_coordinator_and_the_ingress(self):
        self.assertEqual(self.query('up{job="cadre-coordinator"}'), 1)
        self.assertEqual(self.query('up{job="cadre-ingress"}'), 1)
        self.assertEqual(self.query('cadre_nodes{state="Ready"}'), 2)
        self.assertEqual(self.query('cadre_nodes{state="Lost"}'), 0)
        self.assertEqual(self.query('cadre_jobs{kind="Job",phase="Succeeded"}'), 1)
        self.assertEqual(self.query("cadre_scheduler_queue_length"), 0)
        self.assertGreaterEqual(self.query("cadre_scheduler_placement_seconds_count"), 1)
        self.assertGreater(self.query("cadre_store_commit_seconds_count"), 0)
        self.assertGreater(self.query('cadre_coordinator_messages_total{kind="Apply"}'), 0)
        self.assertGreater(self.query('cadre_node_capacity{resource="cpu"}'), 0)
        self.assertEqual(self.query("cadre_ingress_connected"), 1)
        self.assertEqual(self.query("cadre_coordinator_scrape_errors"), 0)

    def test_prometheus_scrapes_every_agent_and_a_running_replicas_usage(self):
        self.assertEqual(self.query('count(up{job="cadre-agent"} == 1) == 2'), 2)
        self.assertEqual(self.query('count(cadre_agent_info) == 2'), 2)
        self.assertEqual(self.query('sum(cadre_agent_replicas) == 1'), 1)
        memory = self.query('cadre_agent_replica_memory_bytes{job_name="busy",namespace="default",'
                            'replica="main-0"} > 0')
        self.assertGreater(memory, 64 << 20, "the bytearray is resident")
        self.assertLess(memory, 256 << 20)
        self.assertGreaterEqual(self.query('cadre_agent_replica_processes{job_name="busy"}'), 1)
        deadline = time.time() + 30
        while self.query('cadre_agent_replica_cpu_seconds_total{job_name="busy"}') < 0.9:
            self.assertLess(time.time(), deadline, "the replica's busy second never showed")
            time.sleep(1)
        self.assertEqual(self.query("sum(cadre_agent_gpu_query_failures_total)"), 0)

    def test_the_coordinator_metrics_need_its_token(self):
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(self.metrics_url, timeout=5)
        self.assertEqual(refused.exception.code, 401)
        wrong = urllib.request.Request(self.metrics_url, headers={"Authorization": "Bearer nope"})
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(wrong, timeout=5)
        self.assertEqual(refused.exception.code, 401)
        right = urllib.request.Request(self.metrics_url,
                                       headers={"Authorization": "Bearer " + self.metrics_token})
        text = urllib.request.urlopen(right, timeout=5).read().decode()
        self.assertIn("# TYPE cadre_nodes gauge", text)
        self.assertEqual(os.stat(os.path.join(self.dir, "coordinator", "metrics.token")).st_mode & 0o777,
                         0o600)


if __name__ == "__main__":
    unittest.main()
