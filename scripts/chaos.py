#!/usr/bin/python3
"""Chaos test for a local Cadre cluster (run through scripts/chaos.sh).

A local cluster with 3 agents runs a steady stream of Jobs and TrainJobs
(cadre-train mlp, 2 ring workers) while a seeded loop kills (-9), freezes
(SIGSTOP/SIGCONT) and restarts agents and the coordinator. Then, with the
faults stopped, it waits for every job to end and checks the invariants:

  lost          every submitted job exists and reached a terminal phase
  launch        no replica failed to start (exit 127, LaunchFailed): faults may
                fail a replica, never leave an agent unable to start programs
  policy        the phase is one its policy allows: a Job whose program exits 0
                ends Succeeded or Failed for an infrastructure reason (NodeLost,
                ReplicaLost, LeaseExpired, ...), never Error; a TrainJob ends
                Succeeded or Failed/BackoffLimitExceeded
  twice         no rank ever ran twice at once (a monitor samples /proc for
                replica group leaders and their CADRE_JOB / CADRE_REPLICA_TYPE /
                CADRE_REPLICA_INDEX)
  orphans       no replica process is left once its job has ended
  rss           the coordinator's resident memory stayed under --max-rss-mb

The last line printed is a JSON summary; the exit status is 0 only when there
were no invariant violations. Needs root (to read other users' /proc entries).
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

INFRA_REASONS = {"NodeLost", "ReplicaLost", "LeaseExpired", "LaunchLost", "PortInUse",
                 "Killed", "StoreUnavailable"}


class Cluster:
    def __init__(self, cadre, folder, agents):
        self.cadre, self.dir, self.agents = cadre, folder, agents
        self.config = os.path.join(folder, "config")

    def cli(self, *args, timeout=30):
        try:
            return subprocess.run([self.cadre, "--config", self.config, *args],
                                  capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(args, 124, "", "timeout")

    def up(self):
        return subprocess.run([self.cadre, "local", "up", "--dir", self.dir, "--agents",
                               str(self.agents)], capture_output=True, text=True, timeout=120)

    def down(self):
        subprocess.run([self.cadre, "local", "down", "--dir", self.dir],
                       capture_output=True, text=True, timeout=120)

    def pid(self, name):
        try:
            with open(os.path.join(self.dir, "pids", name + ".pid")) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def jobs(self):
        out = {}
        for kind in ("jobs", "trainjobs"):
            r = self.cli("get", kind, "-o", "json")
            if r.returncode != 0:
                return None
            for job in json.loads(r.stdout or "[]"):
                out[job["name"]] = job
        return out


def replica_leaders():
    """(job, type, index) -> pids of replica process-group leaders now."""
    seen = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            if os.getpgid(pid) != pid:
                continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(kv.split(b"=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    continue  # a zombie awaiting its reaper runs nothing
        except (OSError, ValueError):
            continue
        job = env.get(b"CADRE_JOB")
        if job is None or env.get(b"CADRE_CHAOS") != b"1":
            continue
        key = (job.decode(), env.get(b"CADRE_REPLICA_TYPE", b"").decode(),
               env.get(b"CADRE_REPLICA_INDEX", b"").decode())
        seen.setdefault(key, []).append(pid)
    return seen


def job_manifest(name, seconds):
    return f"""apiVersion: cadre/v1
kind: Job
metadata: {{name: {name}}}
spec:
  template:
    command: [sh, -c]
    args: ['echo step=1 loss=0.5; sleep {seconds}; echo step=2 loss=0.25']
    env: [{{name: CADRE_CHAOS, value: "1"}}]
    resources: {{cpu: 100m, memory: 64Mi}}
"""


def trainjob_manifest(name):
    args = ("[--model, mlp, --epochs, \"2\", --train-limit, \"2000\", --threads, \"1\", "
            "--batch-size, \"64\", --backend, ring]")
    return f"""apiVersion: cadre/v1
kind: TrainJob
metadata: {{name: {name}}}
spec:
  runPolicy: {{backoffLimit: 20}}
  replicaSpecs:
    Worker:
      replicas: 2
      restartPolicy: OnFailure
      template:
        command: [cadre-train]
        args: {args}
        env: [{{name: CADRE_CHAOS, value: "1"}}]
        resources: {{cpu: 500m, memory: 1Gi}}
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cadre", default=os.path.join(os.path.dirname(__file__), "..", "build",
                                                      "bin", "cadre"))
    ap.add_argument("--dir", default="")
    ap.add_argument("--max-active", type=int, default=5)
    ap.add_argument("--max-rss-mb", type=float, default=400)
    ap.add_argument("--drain-seconds", type=float, default=300)
    o = ap.parse_args()
    rng = random.Random(o.seed)
    folder = o.dir or tempfile.mkdtemp(prefix="cadre-chaos-")
    os.makedirs(os.path.join(folder, "coordinator"), exist_ok=True)
    # Short node timeouts so faults resolve within seconds; lease below Lost.
    with open(os.path.join(folder, "coordinator", "coordinator.yaml"), "w") as f:
        f.write("not-ready-after-ms: 2000\nlost-after-ms: 5000\nlease-ms: 4000\n")
    cluster = Cluster(os.path.abspath(o.cadre), folder, 3)
    up = cluster.up()
    if up.returncode != 0:
        print(up.stdout + up.stderr, file=sys.stderr)
        return 2

    stop = threading.Event()
    violations, faults = [], {"kill_agent": 0, "freeze_agent": 0, "kill_coordinator": 0}
    lock = threading.Lock()
    max_rss = [0.0]
    frozen = set()

    def violate(kind, detail):
        with lock:
            violations.append({"invariant": kind, "detail": detail})
        print(f"VIOLATION {kind}: {detail}", file=sys.stderr, flush=True)

    def monitor():
        while not stop.is_set():
            for key, pids in replica_leaders().items():
                if len(pids) > 1:
                    violate("twice", f"{key} runs as pids {pids}")
            pid = cluster.pid("coordinator")
            if pid:
                try:
                    with open(f"/proc/{pid}/status") as f:
                        for line in f:
                            if line.startswith("VmRSS:"):
                                max_rss[0] = max(max_rss[0], int(line.split()[1]) / 1024)
                except OSError:
                    pass
            time.sleep(0.2)

    def inject():
        while not stop.wait(rng.uniform(4, 9)):
            choice = rng.random()
            agent = f"agent-{rng.randint(1, 3)}"
            if choice < 0.4:
                pid = cluster.pid(agent)
                if pid and pid not in frozen:
                    os.kill(pid, signal.SIGKILL)
                    faults["kill_agent"] += 1
                    time.sleep(rng.uniform(0.5, 6))
                    cluster.up()  # restarts what is down, keeps what runs
            elif choice < 0.75:
                pid = cluster.pid(agent)
                if pid:
                    os.kill(pid, signal.SIGSTOP)
                    frozen.add(pid)
                    faults["freeze_agent"] += 1
                    time.sleep(rng.uniform(1, 8))
                    os.kill(pid, signal.SIGCONT)
                    frozen.discard(pid)
            else:
                pid = cluster.pid("coordinator")
                if pid:
                    os.kill(pid, signal.SIGKILL)
                    faults["kill_coordinator"] += 1
                    time.sleep(rng.uniform(0.2, 3))
                    cluster.up()

    threads = [threading.Thread(target=monitor, daemon=True),
               threading.Thread(target=inject, daemon=True)]
    for t in threads:
        t.start()

    submitted, started = {}, time.time()
    while time.time() - started < o.minutes * 60:
        jobs = cluster.jobs()
        active = 0 if jobs is None else sum(
            1 for j in jobs.values() if j["phase"] not in ("Succeeded", "Failed"))
        if jobs is not None and active < o.max_active:
            i = len(submitted)
            if rng.random() < 0.35:
                name, kind, text = f"train-{i}", "TrainJob", trainjob_manifest(f"train-{i}")
            else:
                name, kind, text = f"job-{i}", "Job", job_manifest(f"job-{i}", rng.randint(1, 8))
            path = os.path.join(folder, name + ".yaml")
            with open(path, "w") as f:
                f.write(text)
            if cluster.cli("apply", "-f", path).returncode == 0:
                submitted[name] = kind
        time.sleep(rng.uniform(0.5, 2))

    # Faults stop; everything runs again; every job must end.
    stop.set()
    threads[1].join(timeout=30)
    for pid in list(frozen):
        try:
            os.kill(pid, signal.SIGCONT)
        except OSError:
            pass
    cluster.up()
    stop.clear()
    threads[0] = threading.Thread(target=monitor, daemon=True)
    threads[0].start()
    deadline, jobs = time.time() + o.drain_seconds, None
    while time.time() < deadline:
        jobs = cluster.jobs()
        if jobs is not None and all(j["phase"] in ("Succeeded", "Failed") for j in jobs.values()):
            break
        time.sleep(2)
    time.sleep(3)
    stop.set()
    threads[0].join(timeout=10)

    jobs = cluster.jobs() or {}
    for name, kind in submitted.items():
        job = jobs.get(name)
        if job is None:
            violate("lost", f"{name} was acknowledged but is gone")
            continue
        phase, reason = job["phase"], job.get("reason", "")
        message = job.get("message", "")
        # Faults may fail a replica, never its start: a program that cannot be
        # found or started means an agent came back with a broken environment.
        if "code 127" in message or reason == "LaunchFailed":
            violate("launch", f"{name} {phase}/{reason}: {message}")
        if phase not in ("Succeeded", "Failed"):
            violate("lost", f"{name} still {phase}/{reason} after the drain")
        elif kind == "Job" and phase == "Failed" and reason not in INFRA_REASONS:
            violate("policy", f"{name} Failed/{reason}: {job.get('message', '')}")
        elif kind == "TrainJob" and phase == "Failed" and reason != "BackoffLimitExceeded":
            violate("policy", f"{name} Failed/{reason}: {job.get('message', '')}")
    for key, pids in replica_leaders().items():
        if key[0] in jobs and jobs[key[0]]["phase"] in ("Succeeded", "Failed"):
            violate("orphans", f"{key} pids {pids} outlived its job")
    if max_rss[0] > o.max_rss_mb:
        violate("rss", f"coordinator reached {max_rss[0]:.0f} MB")

    phases, outcomes = {}, {}
    for job in jobs.values():
        phases[job["phase"]] = phases.get(job["phase"], 0) + 1
        outcome = f"{submitted.get(job['name'], '?')} {job['phase']}/{job.get('reason', '')}"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    cluster.down()
    summary = {"minutes": o.minutes, "seed": o.seed, "jobs": len(submitted),
               "trainjobs": sum(1 for k in submitted.values() if k == "TrainJob"),
               "phases": phases, "outcomes": outcomes, "faults": faults, "faults_total": sum(faults.values()),
               "coordinator_max_rss_mb": round(max_rss[0], 1),
               "invariant_violations": len(violations), "violations": violations[:20]}
    print(json.dumps(summary))
    return 0 if not violations else 1


if __name__ == "__main__":
    sys.exit(main())
