#!/usr/bin/python3
"""The autoscaler under a load step, on a real local cluster (scripts/bench.sh ingress).

A closed loop of clients sends V2 requests through cadre-ingress: concurrency 1,
then a step to 32, then 1 again, against an InferenceService with scaleTarget 4
(so 8 replicas at the step). Every 500 ms it samples the service's ready and
desired replicas. Prints JSON rows (the samples) and a JSON summary as its last
line: seconds from the step to the first scale-out and to all 8 replicas ready,
and from the drop to the scale-in; writes an SVG plot of load and replicas."""
import argparse
import http.client
import json
import subprocess
import sys
import threading
import time


def get_service(cadre, config, name):
    out = subprocess.run([cadre, "--config", config, "get", "isvc", name, "-o", "json"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


class Load:
    """`concurrency` client threads, each sending the next request when answered."""

    def __init__(self, url, token, body):
        host, port = url.replace("http://", "").split("/")[0].split(":")
        self.host, self.port, self.path = host, int(port), "/" + url.split("/", 3)[3] + "/infer"
        self.headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
        self.body = body
        self.threads, self.stop = [], threading.Event()
        self.ok = self.failed = 0
        self.lock = threading.Lock()

    def set_concurrency(self, n):
        while len(self.threads) < n:
            flag = threading.Event()
            t = threading.Thread(target=self.client, args=(flag,), daemon=True)
            self.threads.append((t, flag))
            t.start()
        while len(self.threads) > n:
            t, flag = self.threads.pop()
            flag.set()

    def client(self, done):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        while not done.is_set() and not self.stop.is_set():
            try:
                conn.request("POST", self.path, self.body, self.headers)
                r = conn.getresponse()
                r.read()
                with self.lock:
                    if r.status == 200:
                        self.ok += 1
                    else:
                        self.failed += 1
            except (OSError, http.client.HTTPException):
                with self.lock:
                    self.failed += 1
                conn = http.client.HTTPConnection(self.host, self.port, timeout=30)


def write_svg(path, samples, phases):
    w, h, left, bottom, top = 720, 360, 50, 40, 20
    t_max = max(s["t"] for s in samples) or 1
    y_max = max(max(s["concurrency"] / 4 for s in samples), max(s["desired"] for s in samples), 1)

    def x(t):
        return left + (w - left - 20) * t / t_max

    def y(v):
        return h - bottom - (h - bottom - top) * v / y_max

    def line(key, scale, color):
        pts = " ".join(f"{x(s['t']):.1f},{y(s[key] * scale):.1f}" for s in samples)
        return f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{pts}"/>'

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           'font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<line x1="{left}" y1="{h - bottom}" x2="{w - 20}" y2="{h - bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="black"/>',
           f'<text x="{w / 2}" y="{h - 8}" text-anchor="middle">seconds</text>']
    for t in range(0, int(t_max) + 1, max(1, int(t_max) // 8)):
        out.append(f'<text x="{x(t):.1f}" y="{h - bottom + 15}" text-anchor="middle">{t}</text>')
    for v in range(0, int(y_max) + 1, max(1, int(y_max) // 4)):
        out.append(f'<text x="{left - 5}" y="{y(v):.1f}" text-anchor="end">{v}</text>')
    for name, t in phases:
        out.append(f'<line x1="{x(t):.1f}" y1="{top}" x2="{x(t):.1f}" y2="{h - bottom}" '
                   'stroke="grey" stroke-dasharray="4"/>')
        out.append(f'<text x="{x(t) + 3:.1f}" y="{top + 12}" fill="grey">{name}</text>')
    out.append(line("concurrency", 1 / 4, "#ff7f0e"))
    out.append(line("desired", 1, "#1f77b4"))
    out.append(line("ready", 1, "#2ca02c"))
    out.append(f'<text x="{w - 260}" y="{top + 14}" fill="#ff7f0e">load / scaleTarget (clients / 4)</text>')
    out.append(f'<text x="{w - 260}" y="{top + 30}" fill="#1f77b4">desired replicas</text>')
    out.append(f'<text x="{w - 260}" y="{top + 46}" fill="#2ca02c">ready replicas</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cadre", required=True)
    p.add_argument("--config", required=True)
    p.add_argument("--service", default="auto")
    p.add_argument("--token-file", required=True)
    p.add_argument("--before", type=float, default=10)
    p.add_argument("--step", type=float, default=25)
    p.add_argument("--after", type=float, default=90)
    p.add_argument("--high", type=int, default=32)
    p.add_argument("--plot")
    args = p.parse_args()
    svc = get_service(args.cadre, args.config, args.service)
    body = json.dumps({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 1, 28, 28],
                                   "data": [float(i % 256) for i in range(784)]}],
                       "outputs": [{"name": "label"}]})
    load = Load(svc["url"], open(args.token_file).read().strip(), body)
    samples, phases = [], [("step", args.before), ("drop", args.before + args.step)]
    start = time.time()
    load.set_concurrency(1)
    concurrency = 1
    while time.time() - start < args.before + args.step + args.after:
        t = time.time() - start
        want = args.high if args.before <= t < args.before + args.step else 1
        if want != concurrency:
            load.set_concurrency(want)
            concurrency = want
        s = get_service(args.cadre, args.config, args.service)
        desired = sum(r["desiredReplicas"] for r in s["revisions"])
        ready = sum(1 for r in s["replicas"] if r["state"] == "Ready")
        row = {"t": round(t, 2), "concurrency": concurrency, "desired": desired, "ready": ready}
        samples.append(row)
        print(json.dumps(row), file=sys.stderr)
        time.sleep(0.5)
    load.stop.set()

    def first(pred, after):
        return next((s["t"] - after for s in samples if s["t"] >= after and pred(s)), None)

    want = -(-args.high // 4)
    summary = {
        "benchmark": "autoscale", "scale_target": 4, "high_concurrency": args.high,
        "stable_window_s": 60, "panic_window_s": 6,
        "first_scale_out_s": first(lambda s: s["desired"] > 1, args.before),
        "all_ready_s": first(lambda s: s["ready"] >= want, args.before),
        "scale_in_s": first(lambda s: s["desired"] == 1, args.before + args.step),
        "max_desired": max(s["desired"] for s in samples),
        "requests_ok": load.ok, "requests_failed": load.failed,
    }
    if args.plot:
        write_svg(args.plot, samples, phases)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
