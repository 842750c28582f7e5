"""The web dashboard in a real browser (Debian's headless Chromium through
Selenium) against a real local cluster: log in, see the nodes, apply a TrainJob
from the Apply page and watch it succeed without reloading, read its accuracy
chart and its log, open an experiment's parallel-coordinates plot and a pipeline
run's graph, suspend and resume a job from its page, create and stop a notebook. User strings with markup in them (log
lines, manifests, error messages) must stay text. Every test saves a screenshot
and fails on any error in the browser's console."""

import gzip
import json
import os
import shutil
import struct
import tempfile
import time
import unittest
import urllib.request
import zlib

from test_notebook_proxy import BIN, cadre_cli

try:
    from selenium import webdriver
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # python3-selenium is installed for browser tests only
    webdriver = None

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
SHOTS = os.environ.get("CADRE_SCREENSHOT_DIR", os.path.join(tempfile.gettempdir(), "cadre-screenshots"))
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")

# Markup a user could put in a log line: it must show as text and never run.
XSS = "<script>window.__xss=1</script><img src=x onerror=\"window.__xss=2\">"

TRAINJOB = f"""apiVersion: cadre/v1
kind: TrainJob
metadata:
  name: browser-train
spec:
  runPolicy:
    schedulingPolicy: {{priority: 3, queue: research, preemptionPolicy: Never}}
  replicaSpecs:
    Worker:
      replicas: 1
      restartPolicy: Never
      template:
        command: [sh, -c]
        args:
          - |
            echo '{XSS}'
            for e in 1 2 3 4; do
              echo "epoch=$e loss=0.$((9 - e)) accuracy=0.$((5 + e))"
              sleep 1
            done
        resources: {{cpu: 0.2, memory: 64Mi}}
"""

EXPERIMENT = """apiVersion: cadre/v1
kind: Experiment
metadata:
  name: browser-tune
spec:
  objective: {type: maximize, objectiveMetricName: accuracy}
  algorithm:
    algorithmName: random
    algorithmSettings: [{name: random_state, value: "3"}]
  parallelTrialCount: 2
  maxTrialCount: 4
  parameters:
    - name: lr
      parameterType: double
      feasibleSpace: {min: "0.01", max: "0.5"}
    - name: optimizer
      parameterType: categorical
      feasibleSpace: {list: [sgd, adam]}
  trialTemplate:
    trialParameters:
      - {name: lr, reference: lr}
      - {name: optimizer, reference: optimizer}
    trialSpec:
      kind: Job
      spec:
        template:
          command: [sh, -c, "for e in 1 2; do echo epoch=$e accuracy=$(awk -v lr=${trialParameters.lr} -v e=$e 'BEGIN{print 0.4 + lr * e / 2}'); done; echo ${trialParameters.optimizer}"]
          resources: {cpu: 0.2, memory: 64Mi}
"""


MODEL_JOB = """apiVersion: cadre/v1
kind: Job
metadata:
  name: browser-mlp
spec:
  template:
    command: [sh, -c, 'exec cadre-train --model mlp --epochs 1 --train-limit 3000 --threads 1 --export "$CADRE_CHECKPOINT_DIR/model.cadre"']
    resources: {cpu: 1, memory: 512Mi}
"""

SERVICE = """apiVersion: cadre/v1
kind: InferenceService
metadata:
  name: browser-isvc
spec:
  predictor:
    model:
      modelFormat: {name: cadre}
      storageUri: trainjob://browser-mlp
    resources: {cpu: 500m, memory: 512Mi}
"""


def write_png(path, pixels, width, height):
    """A grey PNG, written by hand (zlib and a CRC are all it takes)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + pixels[y * width:(y + 1) * width] for y in range(height))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def apply_text(directory, name, text):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write(text)
    cadre_cli("apply", "-f", path)


@unittest.skipIf(webdriver is None or not os.path.exists(CHROMEDRIVER), "needs chromium, chromium-driver, python3-selenium")
class DashboardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not BIN:
            raise unittest.SkipTest("CADRE_BIN_DIR is not set (ctest sets it)")
        cls.dir = tempfile.mkdtemp(prefix="cadre-dashboard-")
        os.environ["PATH"] = BIN + os.pathsep + os.environ["PATH"]
        # A queue with a quota in a cohort, for the overview's queues.
        os.makedirs(os.path.join(cls.dir, "coordinator"))
        with open(os.path.join(cls.dir, "coordinator", "coordinator.yaml"), "w") as f:
            f.write("queue-quota: ['research:cpu=2,memory=4Gi,cohort=lab']\n")
        cadre_cli("local", "up", "--dir", cls.dir, "--agents", "2")
        os.environ["CADRE_CONFIG"] = os.path.join(cls.dir, "config")
        try:
            with open(os.path.join(cls.dir, "keys", "token")) as f:
                cls.token = f.read().strip()
            with open(os.path.join(cls.dir, "ingress.json")) as f:
                cls.base = f"http://127.0.0.1:{json.load(f)['http']}"
            # Work the browser will look at, started before it opens.
            apply_text(cls.dir, "experiment.yaml", EXPERIMENT)
            apply_text(cls.dir, "model.yaml", MODEL_JOB)
            cadre_cli("apply", "-f", os.path.join(ROOT, "tests", "pipelines", "kfp", "two_step.yaml"))
            cadre_cli("run", "pipeline/two-step-pipeline", "-p", "text=four words right here", "--name", "words")
            cadre_cli("run", "pipeline/two-step-pipeline", "-p", f"text={XSS}", "--name", "markup")
            os.makedirs(SHOTS, exist_ok=True)
            options = Options()
            options.binary_location = CHROMIUM
            for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1400,1100", "--lang=en-US"):
                options.add_argument(flag)
            options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
            cls.browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
            cls.browser.set_page_load_timeout(30)
            cls.log_in()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if getattr(cls, "browser", None):
            cls.browser.quit()
        cadre_cli("local", "down", "--dir", cls.dir, check=False)
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def log_in(cls):
        """The login form with the cluster's token, as a user would type it."""
        b = cls.browser
        b.get(cls.base + "/ui/")
        WebDriverWait(b, 15).until(lambda d: "/login" in d.current_url)
        b.find_element(By.NAME, "token").send_keys(cls.token)
        b.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(b, 15).until(lambda d: d.current_url.endswith("/ui/"))
        # The page asked who was logged in before the login (401): that is how it
        # knew to send the browser to the form; nothing else may fail.
        b.get_log("browser")

    def tearDown(self):
        name = self.id().split(".")[-1]
        self.browser.save_screenshot(os.path.join(SHOTS, f"{name}.png"))
        errors = [e for e in self.browser.get_log("browser") if e["level"] == "SEVERE"]
        self.assertEqual(errors, [], "the browser's console has errors")
        self.assertIsNone(self.browser.execute_script("return window.__xss"), "markup ran as script")

    def wait(self, condition, seconds=30, what="the page"):
        try:
            # Pages refresh themselves: an element read a moment ago may be replaced.
            return WebDriverWait(self.browser, seconds, poll_frequency=0.2,
                                 ignored_exceptions=(StaleElementReferenceException,)).until(condition)
        except TimeoutException:
            self.fail(f"timed out after {seconds} s waiting for {what} ({self.browser.current_url})")

    def open(self, path):
        self.browser.get(self.base + path)

    def texts(self, css):
        return self.wait(lambda d: [e.text for e in d.find_elements(By.CSS_SELECTOR, css)], what=css)

    def test_1_the_overview_shows_every_node_with_what_is_allocated(self):
        cadre_cli("cordon", "local-2")
        try:
            self.open("/ui/")
            self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#nodes tbody tr")) == 2, what="two nodes")
            rows = self.texts("#nodes tbody tr")
        finally:
            cadre_cli("uncordon", "local-2")
        self.assertTrue(rows[0].startswith("local-1"), rows)
        self.assertIn("Ready", rows[0])
        self.assertIn("cores", rows[0])
        self.assertNotIn("cordoned", rows[0])
        self.assertIn("cordoned", rows[1])  # nothing new is placed there
        headers = self.texts("#nodes thead th")
        self.assertIn("Replicas", headers)
        queues = self.texts("#queues tbody tr")
        research = [q for q in queues if q.startswith("research")]
        self.assertEqual(len(research), 1, queues)
        self.assertIn("lab", research[0])
        self.assertIn("/ 2 cores", research[0])
        self.assertIn("no limit", research[0])  # its quota sets no GPUs
        self.assertIn("Experiments", self.browser.find_element(By.ID, "counts").text)
        # The page is the dashboard's own (its title), served under /ui/.
        self.assertIn("Cadre", self.browser.title)

    def test_2_a_trainjob_applied_from_the_page_succeeds_with_its_chart_and_log(self):
        self.open("/ui/apply")
        area = self.wait(lambda d: d.find_element(By.ID, "manifest"), what="the manifest box")
        # Typing a manifest character by character is slow; set it as pasting would.
        self.browser.execute_script("arguments[0].value = arguments[1]", area, TRAINJOB)
        self.browser.find_element(By.ID, "apply").click()
        result = self.wait(lambda d: d.find_element(By.CSS_SELECTOR, "#apply-result .ok"), what="the apply result")
        self.assertIn("trainjob/browser-train created", result.text)
        result.find_element(By.LINK_TEXT, "open it").click()
        self.wait(lambda d: d.current_url.endswith("/ui/jobs/browser-train"), what="the job page")
        # The phase changes on the page by itself (no reload): the same element is updated.
        marker = self.browser.execute_script("window.__sameDocument = true; return 1")
        self.assertEqual(marker, 1)
        self.wait(lambda d: "Succeeded" in d.find_element(By.CSS_SELECTOR, "dl.facts").text, 60, "Succeeded")
        facts = self.browser.find_element(By.CSS_SELECTOR, "dl.facts").text
        self.assertIn("Priority\n3", facts)
        self.assertIn("Queue\nresearch", facts)
        self.assertTrue(self.browser.execute_script("return window.__sameDocument === true"), "the page reloaded")
        # (The job page hears of its job only through its watch stream: the phase
        # changing in place is the stream at work.)
        chart = self.wait(lambda d: d.find_element(By.CSS_SELECTOR, "figure[data-chart=accuracy] canvas"), what="the accuracy chart")
        self.assertGreater(chart.size["width"], 200)
        self.assertIn("loss", self.texts("figure.chart figcaption"))
        # A line per replica instance, named as a person reads it, not by its uid.
        legend = " ".join(self.texts("figure[data-chart=accuracy] .u-legend"))
        self.assertIn("worker-0 #0", legend)
        self.assertNotIn("browser-train-", legend)
        log = self.wait(lambda d: d.find_element(By.ID, "log") if "epoch=4" in d.find_element(By.ID, "log").text else None, what="the log")
        self.assertIn("<script>window.__xss=1</script>", log.text, "markup in a log line is shown as text")
        self.assertEqual(self.browser.find_elements(By.CSS_SELECTOR, "#log script, #log img"), [])
        self.assertIn("worker-0", self.texts("#replicas")[0])

    def test_2b_a_job_is_suspended_and_resumed_from_its_page(self):
        apply_text(self.dir, "sleeper.yaml", "apiVersion: cadre/v1\nkind: Job\nmetadata:\n  name: browser-sleeper\n"
                   "spec:\n  template:\n    command: [sleep, '300']\n    resources: {cpu: 0.1}\n")
        try:
            self.open("/ui/jobs/browser-sleeper")
            facts = lambda d: d.find_element(By.CSS_SELECTOR, "dl.facts").text
            self.wait(lambda d: "Running" in facts(d), 30, "Running")
            self.wait(lambda d: d.find_element(By.CSS_SELECTOR, "button[data-action=suspend]"), what="suspend").click()
            self.wait(lambda d: "browser-sleeper suspended" in d.find_element(By.ID, "job-message").text, what="the answer")
            self.wait(lambda d: "Suspended" in facts(d), 30, "Suspended")
            phase = json.loads(cadre_cli("get", "job", "browser-sleeper", "-o", "json").stdout)["phase"]
            self.assertEqual(phase, "Suspended")
            self.wait(lambda d: d.find_element(By.CSS_SELECTOR, "button[data-action=resume]"), what="resume").click()
            self.wait(lambda d: "Running" in facts(d), 30, "Running again")
        finally:
            cadre_cli("delete", "job/browser-sleeper")

    def test_3_an_invalid_manifest_shows_its_field_path_as_text(self):
        self.open("/ui/apply")
        area = self.wait(lambda d: d.find_element(By.ID, "manifest"))
        bad = f"apiVersion: cadre/v1\nkind: Job\nmetadata:\n  name: bad\nspec:\n  template:\n    command: '{XSS}'\n"
        self.browser.execute_script("arguments[0].value = arguments[1]", area, bad)
        self.browser.find_element(By.ID, "apply").click()
        error = self.wait(lambda d: d.find_element(By.CSS_SELECTOR, "#apply-result .error"), what="the error")
        self.assertIn("spec.template.command", error.text)
        self.assertEqual(self.browser.find_elements(By.CSS_SELECTOR, "#apply-result img, #apply-result script"), [])
        # A refused manifest leaves a console error for the failed request; that is the point here.
        self.browser.get_log("browser")

    def test_4_an_experiment_shows_its_trials_against_the_objective(self):
        cadre_cli("wait", "experiment/browser-tune", "--for", "Succeeded", "--timeout", "120")
        self.open("/ui/experiments/browser-tune")
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#parallel polyline")) == 4, what="four trial lines")
        best = self.browser.find_elements(By.CSS_SELECTOR, "#parallel polyline.best")
        self.assertEqual(len(best), 1, "the best trial is drawn once, on top")
        axes = self.texts("#parallel text.axis-name")
        self.assertEqual(axes, ["lr", "optimizer", "accuracy"])
        rows = self.browser.find_elements(By.CSS_SELECTOR, "#trials tbody tr")
        self.assertEqual(len(rows), 4)
        self.assertEqual(len(self.browser.find_elements(By.CSS_SELECTOR, "#trials tr.best")), 1)
        # Sorting by a parameter orders the rows by it.
        self.browser.find_element(By.CSS_SELECTOR, "#trials th[data-column='p:lr']").click()
        lrs = [float(t) for t in self.texts("#trials tbody tr td:nth-child(3)")]
        self.assertEqual(lrs, sorted(lrs))

    def test_5_a_pipeline_runs_graph_has_its_steps_and_their_panel(self):
        cadre_cli("wait", "run/words", "--for", "Succeeded", "--timeout", "120")
        self.open("/ui/runs/words")
        self.wait(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#dag g.task")) == 2, what="two steps")
        states = self.wait(lambda d: {e.get_attribute("data-task"): e.get_attribute("data-state")
                                      for e in d.find_elements(By.CSS_SELECTOR, "#dag g.task")}, what="the steps")
        self.assertEqual(states, {"producer": "SUCCEEDED", "consumer": "SUCCEEDED"})
        self.assertEqual(len(self.browser.find_elements(By.CSS_SELECTOR, "#dag polyline")), 1, "producer -> consumer")
        self.browser.find_element(By.CSS_SELECTOR, "#dag g.task[data-task=consumer]").click()
        panel = self.wait(lambda d: d.find_element(By.ID, "task-panel"), what="the step's panel")
        self.assertIn('"words": 4', panel.text)
        # What the step ran links to its page, and its log is shown.
        ran = panel.find_element(By.PARTIAL_LINK_TEXT, "job/")
        self.assertTrue(ran.get_attribute("href").endswith("/ui/jobs/" + ran.text[len("job/"):]), ran.text)
        self.wait(lambda d: d.find_element(By.ID, "task-log").text, what="the step's log")

    def test_5b_an_artifacts_lineage_is_drawn_from_its_steps_panel(self):
        self.open("/ui/runs/words")
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#dag g.task[data-task=producer]"), what="the producer")
        self.browser.find_element(By.CSS_SELECTOR, "#dag g.task[data-task=producer]").click()
        panel = self.wait(lambda d: d.find_element(By.ID, "task-panel"), what="the step's panel")
        panel.find_element(By.LINK_TEXT, "downstream").click()
        nodes = self.wait(lambda d: [e.get_attribute("data-node") for e in d.find_elements(By.CSS_SELECTOR, "#lineage-graph g")]
                          or None, what="the lineage graph")
        self.assertEqual(set(nodes), {"artifact", "words/consumer"})
        self.assertEqual(len(self.browser.find_elements(By.CSS_SELECTOR, "#lineage-graph polyline")), 1)
        self.assertIn("consumer", self.texts("#lineage-steps tbody td")[1:2])
        # Upstream from the same artifact: the step that made it.
        self.browser.find_element(By.LINK_TEXT, "Upstream").click()
        self.wait(lambda d: "words/producer" in [e.get_attribute("data-node") for e in d.find_elements(By.CSS_SELECTOR, "#lineage-graph g")],
                  what="the producer upstream")

    def test_5c_markup_in_a_runs_parameters_and_outputs_is_shown_as_text(self):
        cadre_cli("wait", "run/markup", "--for", "Succeeded", "--timeout", "120")
        self.open("/ui/runs/markup")
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, "#dag g.task[data-task=producer]"), what="the producer")
        self.browser.find_element(By.CSS_SELECTOR, "#dag g.task[data-task=producer]").click()
        panel = self.wait(lambda d: d.find_element(By.ID, "task-panel"), what="the step's panel")
        self.assertIn("<script>window.__xss=1</script>", panel.text)
        # The pipelines page lists the run with its parameters too.
        self.open("/ui/pipelines")
        self.wait(lambda d: "markup" in d.find_element(By.TAG_NAME, "body").text, what="the runs")

    def test_6_a_notebook_is_created_from_the_form_and_stopped(self):
        self.open("/ui/notebooks")
        form = self.wait(lambda d: d.find_element(By.ID, "new-notebook"), what="the form")
        form.find_element(By.NAME, "name").send_keys("browser-lab")
        memory = form.find_element(By.NAME, "memory")
        memory.clear()
        memory.send_keys("512Mi")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait(lambda d: "browser-lab" in d.find_element(By.ID, "notebooks").text, what="the new notebook")
        stop = self.wait(lambda d: d.find_element(By.CSS_SELECTOR, "#notebooks button[data-action=stop]"), what="stop")
        stop.click()
        self.wait(lambda d: "Stopped" in d.find_element(By.ID, "notebooks").text, 60, "Stopped")
        self.assertEqual(json.loads(cadre_cli("get", "notebook", "browser-lab", "-o", "json").stdout)["state"], "Stopped")

    def test_7_an_image_sent_from_the_service_page_comes_back_classified(self):
        cadre_cli("wait", "job/browser-mlp", "--for", "Succeeded", "--timeout", "180")
        apply_text(self.dir, "service.yaml", SERVICE)
        cadre_cli("wait", "isvc/browser-isvc", "--for", "Ready", "--timeout", "120")
        image = os.path.join(self.dir, "boot.png")
        with gzip.open("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz") as f:
            write_png(image, f.read()[16:16 + 784], 28, 28)
        expected = cadre_cli("predict", "isvc/browser-isvc", "--image", image).stdout
        self.open("/ui/services/browser-isvc")
        self.wait(lambda d: "100%" in d.find_element(By.ID, "traffic").text, what="the traffic bar")
        self.browser.find_element(By.ID, "try-image").send_keys(image)
        label = self.wait(lambda d: d.find_element(By.ID, "try-label"), 30, "the predicted class")
        self.assertIn(f"label: {label.text}", expected, "the page and the CLI agree")
        # The CLI's and the page's requests (metadata, then infer, each) are on the
        # service's charts once their 5 s interval has closed.
        self.wait(lambda d: d.find_elements(By.CSS_SELECTOR, '[data-chart="Latency (ms)"] canvas'), 30,
                  "the latency chart")
        for chart in ("Requests per second", "In flight and held"):
            self.assertTrue(self.browser.find_elements(By.CSS_SELECTOR, f'[data-chart="{chart}"] canvas'), chart)
        deadline = time.time() + 15
        while True:
            request = urllib.request.Request(self.base + "/api/v1/inferenceservices/browser-isvc/traffic",
                                             headers={"Authorization": "Bearer " + self.token})
            with urllib.request.urlopen(request, timeout=10) as answer:
                points = json.load(answer)["points"]
            if sum(p["requests"] for p in points) >= 4 or time.time() > deadline:
                break
            time.sleep(1)
        self.assertEqual(sum(p["requests"] for p in points), 4, points)
        self.assertTrue(any(p["latencyMs"] for p in points), points)

    def test_8_a_one_time_link_from_the_cli_logs_a_new_browser_in_once(self):
        out = cadre_cli("dashboard").stdout
        link = next(w for w in out.split() if "/login?code=" in w)
        # The ingress learns of the code with its next route poll (every 250 ms).
        time.sleep(1)
        self.browser.delete_all_cookies()
        self.browser.get(link)
        self.wait(lambda d: d.current_url.endswith("/ui/") and d.find_elements(By.CSS_SELECTOR, "#nodes tbody tr"), what="the overview")
        # The same link again opens nothing.
        self.browser.delete_all_cookies()
        self.browser.get(link)
        self.assertIn("not valid", self.browser.find_element(By.TAG_NAME, "body").text)
        self.browser.get_log("browser")  # the refused link's 401
        self.log_in()


if __name__ == "__main__":
    unittest.main()
