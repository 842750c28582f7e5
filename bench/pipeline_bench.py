"""Pipelines on a real local cluster (scripts/bench.sh pipelines).

A KFP-compiled ParallelFor over N trivial steps, started with `cadre run`:
  fanout_200_s      run created -> SUCCEEDED, every step a real job on an agent
  step_start_p50_ms a step triggered -> its process running (the step prints the
                    time it started; the trigger time is its task's createdAt)
  cached_rerun_s    the same run again: every step reused from the cache
Peer, on the same cluster in the same run: the same N steps as N plain Jobs in
one `cadre apply -f`, waited for until all succeeded (what a user without
pipelines would do). Prints one JSON row per measurement and a summary last.
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time


def spec(n):
    items = json.dumps(list(range(n)))
    return f"""# PIPELINE DEFINITION
# Name: fanout-bench
components:
  comp-for-loop-1:
    dag:
      tasks:
        step:
          cachingOptions:
            enableCache: true
          componentRef:
            name: comp-step
          inputs:
            parameters:
              i:
                componentInputParameter: pipelinechannel--loop-item-param-1
          taskInfo:
            name: step
    inputDefinitions:
      parameters:
        pipelinechannel--loop-item-param-1:
          parameterType: NUMBER_INTEGER
  comp-step:
    executorLabel: exec-step
    inputDefinitions:
      parameters:
        i:
          parameterType: NUMBER_INTEGER
    outputDefinitions:
      parameters:
        started:
          parameterType: NUMBER_INTEGER
deploymentSpec:
  executors:
    exec-step:
      container:
        args:
        - '{{{{$.outputs.parameters[''started''].output_file}}}}'
        - '{{{{$.inputs.parameters[''i'']}}}}'
        command:
        - sh
        - -c
        - date +%s%3N > "$0"
        image: busybox
pipelineInfo:
  name: fanout-bench
root:
  dag:
    tasks:
      for-loop-1:
        componentRef:
          name: comp-for-loop-1
        parameterIterator:
          itemInput: pipelinechannel--loop-item-param-1
          items:
            raw: '{items}'
        taskInfo:
          name: for-loop-1
schemaVersion: 2.1.0
sdkVersion: kfp-2.13.0
"""


def chain_spec(n):
    """n steps, each depending on the one before: a step's start is never queued
    behind its siblings, so its trigger-to-running time is the driver's own."""
    tasks = []
    for i in range(n):
        deps = f"        dependentTasks:\n        - s{i - 1}\n" if i else ""
        tasks.append(f"""      s{i}:
        componentRef:
          name: comp-step
{deps}        inputs:
          parameters:
            i:
              runtimeValue:
                constant: {i}
        taskInfo:
          name: s{i}
""")
    head = spec(1).split("pipelineInfo:")[0].split("  comp-step:")[1]
    return ("# PIPELINE DEFINITION\n# Name: chain-bench\ncomponents:\n  comp-step:" + head +
            "pipelineInfo:\n  name: chain-bench\nroot:\n  dag:\n    tasks:\n" + "".join(tasks) +
            "schemaVersion: 2.1.0\nsdkVersion: kfp-2.13.0\n")


def jobs_manifest(n, tag):
    docs = []
    for i in range(n):
        docs.append(
            "apiVersion: cadre/v1\nkind: Job\nmetadata:\n  name: %s-%d\nspec:\n  template:\n"
            "    command: [sh, -c, 'date +%%s%%3N > /dev/null']\n" % (tag, i))
    return "---\n".join(docs)


class Cluster:
    def __init__(self, cadre, config):
        self.cadre, self.config = cadre, config

    def run(self, *args, check=True):
        out = subprocess.run([self.cadre, "--config", self.config, *args], capture_output=True,
                             text=True)
        if check and out.returncode != 0:
            sys.exit(f"cadre {' '.join(args)} failed: {out.stdout}{out.stderr}")
        return out.stdout

    def run_json(self, name):
        return json.loads(self.run("get", "run", name, "-o", "json"))

    def wait_run(self, name, timeout=600):
        deadline = time.time() + timeout
        while time.time() < deadline:
            r = json.loads(self.run("get", "runs", "-o", "json"))
            state = next((x["state"] for x in r if x["name"] == name), None)
            if state in ("SUCCEEDED", "FAILED", "CANCELED"):
                if state != "SUCCEEDED":
                    sys.exit(f"run {name} ended {state}: {self.run('describe', 'run', name)}")
                return
            time.sleep(0.05)
        sys.exit(f"run {name} did not finish in {timeout} s")

    def wait_jobs(self, prefix, n, timeout=600):
        deadline = time.time() + timeout
        while time.time() < deadline:
            jobs = json.loads(self.run("get", "jobs", "-o", "json"))
            mine = [j for j in jobs if j["name"].startswith(prefix + "-")]
            done = [j for j in mine if j["phase"] in ("Succeeded", "Failed")]
            if len(done) == n:
                failed = [j["name"] for j in done if j["phase"] == "Failed"]
                if failed:
                    sys.exit(f"jobs failed: {failed[:5]}")
                return
            time.sleep(0.05)
        sys.exit(f"{n} jobs did not finish in {timeout} s")


def millis(rfc3339):
    return int(datetime.datetime.strptime(rfc3339, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp() * 1000)


def timed_run(cluster, name, extra=(), pipeline="fanout-bench"):
    start = time.time()
    cluster.run("run", "pipeline/" + pipeline, "--name", name, *extra)
    cluster.wait_run(name)
    return time.time() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cadre", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--steps", type=int, default=200)
    args = ap.parse_args()
    cluster = Cluster(args.cadre, args.config)
    path = os.path.join(args.dir, "fanout.yaml")
    with open(path, "w") as f:
        f.write(spec(args.steps))
    cluster.run("apply", "-f", path)

    def start_latencies(run):
        return sorted(t["outputs"]["started"] - millis(t["createdAt"]) for t in run["tasks"]
                      if t["kind"] == "Container")

    cold = timed_run(cluster, "cold")
    fanned = start_latencies(cluster.run_json("cold"))
    print(json.dumps({"measure": "fanout", "steps": args.steps, "seconds": round(cold, 3),
                      "start_p50_ms": statistics.median(fanned)}))

    path = os.path.join(args.dir, "chain.yaml")
    with open(path, "w") as f:
        f.write(chain_spec(20))
    cluster.run("apply", "-f", path)
    chain_s = timed_run(cluster, "chain", pipeline="chain-bench")
    starts = start_latencies(cluster.run_json("chain"))
    p50 = statistics.median(starts)
    p90 = starts[int(0.9 * (len(starts) - 1))]
    print(json.dumps({"measure": "step_start", "steps": len(starts), "p50_ms": p50, "p90_ms": p90,
                      "chain_s": round(chain_s, 3)}))

    cached = timed_run(cluster, "warm")
    warm = cluster.run_json("warm")
    print(json.dumps({"measure": "cached_rerun", "seconds": round(cached, 3),
                      "cached": warm["steps"]["cached"]}))

    path = os.path.join(args.dir, "jobs.yaml")
    with open(path, "w") as f:
        f.write(jobs_manifest(args.steps, "plain"))
    start = time.time()
    cluster.run("apply", "-f", path)
    cluster.wait_jobs("plain", args.steps)
    plain = time.time() - start
    print(json.dumps({"measure": "plain_jobs", "steps": args.steps, "seconds": round(plain, 3)}))

    print(json.dumps({
        "benchmark": "pipelines", "steps": args.steps,
        "fanout_200_s": round(cold, 3), "fanout_step_start_p50_ms": statistics.median(fanned),
        "step_start_p50_ms": p50, "step_start_p90_ms": p90,
        "cached_rerun_s": round(cached, 3), "cached_steps": warm["steps"]["cached"],
        "plain_jobs_s": round(plain, 3), "fanout_vs_plain_jobs": round(cold / plain, 3),
    }))


if __name__ == "__main__":
    main()
