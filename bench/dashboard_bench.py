"""The dashboard and its HTTP API at size, on a real local cluster
(scripts/bench.sh dashboard).

With N jobs in the store (10,000; --quick 2,000) and an experiment of T trials
(200; --quick 50):
  list_p50_ms / list_p95_ms   GET /api/v1/jobs?limit=200 (a page, as the Jobs
                              page asks), over 50 calls, and the same for a page
                              in the middle, a prefix and a phase filter
  object_p50_ms               GET /api/v1/experiments/NAME (every trial)
  jobs_page_ms                headless Chromium: navigation start -> the jobs
                              table drawn (and the browser's first contentful
                              paint), median of 5 loads
  experiment_page_ms          the same for the experiment page's plot and table
Peer, in the same run: the whole list as the CLI reads it
(`cadre get jobs -o json`), which is what a client without paging pays.
Prints one JSON row per measurement and a summary last.
"""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import time

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # scripts/setup-deps.sh --browser installs python3-selenium
    webdriver = None


def experiment(trials):
    return f"""apiVersion: cadre/v1
kind: Experiment
metadata:
  name: bench-tune
spec:
  objective: {{type: maximize, objectiveMetricName: accuracy}}
  algorithm: {{algorithmName: random}}
  parallelTrialCount: 8
  maxTrialCount: {trials}
  maxFailedTrialCount: {trials}
  parameters:
    - {{name: lr, parameterType: double, feasibleSpace: {{min: "0.01", max: "0.5"}}}}
    - {{name: layers, parameterType: int, feasibleSpace: {{min: "1", max: "4"}}}}
  trialTemplate:
    trialParameters:
      - {{name: lr, reference: lr}}
      - {{name: layers, reference: layers}}
    trialSpec:
      kind: Job
      spec:
        template:
          command: [sh, -c, "echo epoch=1 accuracy=${{trialParameters.lr}}; echo epoch=2 accuracy=0.${{trialParameters.layers}}"]
          resources: {{cpu: 0.05, memory: 16Mi}}
"""


def row(**fields):
    print(json.dumps(fields), flush=True)
    return fields


class Api:
    def __init__(self, port, token):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.token = token

    def get(self, path):
        t = time.perf_counter()
        self.conn.request("GET", path, headers={"Authorization": "Bearer " + self.token})
        res = self.conn.getresponse()
        body = res.read()
        ms = (time.perf_counter() - t) * 1000
        if res.status != 200:
            raise RuntimeError(f"{path}: {res.status} {body[:200]!r}")
        return ms, json.loads(body)

    def timed(self, name, path, calls=50):
        times = [self.get(path)[0] for _ in range(calls)]
        times.sort()
        return row(measure=name, path=path, calls=calls, p50_ms=round(statistics.median(times), 2),
                   p95_ms=round(times[int(len(times) * 0.95) - 1], 2))


def browser_times(base, token, paths_and_selectors, loads=5):
    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    try:
        browser.set_script_timeout(30)
        browser.get(base + "/login")
        browser.find_element(By.NAME, "token").send_keys(token)
        browser.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        WebDriverWait(browser, 15).until(lambda d: d.current_url.endswith("/ui/"))
        out = {}
        for name, path, selector in paths_and_selectors:
            drawn, paints = [], []
            for _ in range(loads):
                browser.get(base + path)
                # From navigation start until the selector's element exists, checked each frame.
                ms = browser.execute_async_script("""
                  const [selector, done] = arguments;
                  const check = () => document.querySelector(selector) ? done(performance.now())
                                                                       : requestAnimationFrame(check);
                  check();""", selector)
                fcp = browser.execute_script(
                    "const e = performance.getEntriesByName('first-contentful-paint')[0];"
                    "return e ? e.startTime : null;")
                drawn.append(ms)
                if fcp is not None:
                    paints.append(fcp)
            out[name] = row(measure=name, path=path, loads=loads,
                            drawn_p50_ms=round(statistics.median(drawn), 1),
                            first_contentful_paint_p50_ms=round(statistics.median(paints), 1) if paints else None)
        return out
    finally:
        browser.quit()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cadre", required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--jobs", type=int, default=10000)
    p.add_argument("--trials", type=int, default=200)
    a = p.parse_args()
    env = dict(os.environ, CADRE_CONFIG=os.path.join(a.dir, "config"))
    cli = lambda *args: subprocess.run([a.cadre, *args], env=env, check=True, capture_output=True, text=True)

    # The jobs: each asks for more CPU than any node has, so each is stored and
    # ends Unschedulable at once; the list is what is measured, not the running.
    manifest = os.path.join(a.dir, "jobs.yaml")
    with open(manifest, "w") as f:
        f.write("---\n".join(
            f"apiVersion: cadre/v1\nkind: Job\nmetadata: {{name: load-{i:05d}}}\nspec:\n"
            f"  template:\n    command: [\"true\"]\n    resources: {{cpu: 1000}}\n" for i in range(a.jobs)))
    t = time.perf_counter()
    cli("apply", "-f", manifest)
    row(measure="apply_jobs", jobs=a.jobs, seconds=round(time.perf_counter() - t, 1))
    with open(os.path.join(a.dir, "experiment.yaml"), "w") as f:
        f.write(experiment(a.trials))
    t = time.perf_counter()
    cli("apply", "-f", os.path.join(a.dir, "experiment.yaml"))
    cli("wait", "experiment/bench-tune", "--for", "Succeeded", "--timeout", "900")
    counts = json.loads(cli("get", "experiment", "bench-tune", "-o", "json").stdout)["counts"]
    row(measure="experiment", trials=a.trials, seconds=round(time.perf_counter() - t, 1),
        succeeded=counts["trialsSucceeded"], failed=counts["trialsFailed"])
    assert counts["trialsSucceeded"] == a.trials, counts

    with open(os.path.join(a.dir, "keys", "token")) as f:
        token = f.read().strip()
    with open(os.path.join(a.dir, "ingress.json")) as f:
        port = json.load(f)["http"]
    api = Api(port, token)
    first = api.timed("list_first_page", "/api/v1/jobs?limit=200")
    middle = api.timed("list_middle_page", f"/api/v1/jobs?limit=200&continue=load-{a.jobs // 2:05d}")
    prefix = api.timed("list_prefix", "/api/v1/jobs?prefix=load-0099&limit=200")
    phase = api.timed("list_phase", "/api/v1/jobs?phase=Failed&owner=&limit=200")
    one = api.timed("experiment_object", "/api/v1/experiments/bench-tune", calls=20)
    _, page = api.get("/api/v1/jobs?limit=200")
    assert len(page["items"]) == 200 and page["continue"], "a full first page with more after it"

    # The peer: the whole list, as `cadre get jobs -o json` reads it.
    times = []
    for _ in range(5):
        t = time.perf_counter()
        out = cli("get", "jobs", "-o", "json").stdout
        times.append((time.perf_counter() - t) * 1000)
    peer = row(measure="peer_cli_whole_list", jobs=len(json.loads(out)), p50_ms=round(statistics.median(times), 1))

    pages = {}
    if webdriver is not None and os.path.exists("/usr/bin/chromedriver"):
        pages = browser_times(f"http://127.0.0.1:{port}", token, [
            ("jobs_page", "/ui/jobs", "#jobs tbody tr td a"),
            ("experiment_page", "/ui/experiments/bench-tune", "#parallel polyline.best"),
        ])
    summary = {
        "benchmark": "dashboard", "jobs": a.jobs, "trials": a.trials,
        "list_first_page_p50_ms": first["p50_ms"], "list_middle_page_p50_ms": middle["p50_ms"],
        "list_prefix_p50_ms": prefix["p50_ms"], "list_phase_p50_ms": phase["p50_ms"],
        "experiment_object_p50_ms": one["p50_ms"],
        "peer_cli_whole_list_p50_ms": peer["p50_ms"],
        "list_target_met": first["p50_ms"] < 20 and middle["p50_ms"] < 20,
    }
    for name, measured in pages.items():
        summary[f"{name}_drawn_ms"] = measured["drawn_p50_ms"]
        summary[f"{name}_fcp_ms"] = measured["first_contentful_paint_p50_ms"]
    if pages:
        summary["render_target_met"] = all(m["drawn_p50_ms"] < 1000 for m in pages.values())
    else:
        summary["browser"] = "not measured: install chromium, chromium-driver, python3-selenium"
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
