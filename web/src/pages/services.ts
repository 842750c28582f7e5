// Inference services: the list, and one service's URL, readiness, traffic split by
// revision, request rate, latency and queue over the last hour, replicas,
// revisions and events.
import * as api from "../api";
import { LineChart } from "../charts/line_chart";
import { badge, fill, h, link, section, table } from "../dom";
import { age } from "../format";
import type { PageContext } from "../main";
import { showError } from "../main";
import type { Service } from "../types";
import { conditionsTable, eventsTable } from "./jobs";

function readyOf(s: Service): string {
  return s.ready ? "Ready" : "NotReady";
}

export async function servicesPage(ctx: PageContext): Promise<void> {
  let seen = "";
  const show = async () => {
    const items = await api.listAll<Service>("inferenceservices");
    if (JSON.stringify(items) === seen) return;
    seen = JSON.stringify(items);
    fill(
      ctx.root,
      h("h1", {}, "Inference services"),
      table(
        ["Name", "Ready", "URL", "Replicas", "Traffic", "Age"],
        items.map((s) => [
          link(`/ui/services/${encodeURIComponent(s.name)}`, s.name),
          badge(readyOf(s)),
          h("code", {}, s.url),
          String(s.replicas.filter((r) => r.state === "Ready").length) + " / " + String(s.replicas.length),
          s.traffic.map((t) => `${t.revisionName} ${t.percent}%`).join(", "),
          age(s.createdAt),
        ]),
        { id: "services" },
      ),
    );
  };
  await show();
  ctx.every(3000, show);
}

// The split as one bar with a segment per revision.
function trafficBar(s: Service): HTMLElement {
  const bar = h("div", { class: "traffic", id: "traffic" });
  s.traffic.forEach((t, i) => {
    const part = h("span", { class: `segment segment-${i % 4}`, title: `${t.revisionName}: ${t.percent}%` }, `${t.revisionName} ${t.percent}%`);
    part.style.width = `${t.percent}%`;
    bar.appendChild(part);
  });
  return bar;
}

interface ModelMetadata {
  inputs: { name: string; datatype: string; shape: number[] }[];
  outputs?: { name: string }[];
}

interface InferAnswer {
  outputs: { name: string; datatype: string; shape: number[]; data: (number | string)[] }[];
}

// An image as the model's input: scaled to its side, grey levels 0..255 (as
// `cadre predict --image` sends a PNG).
async function pixels(file: File, side: number, preview: HTMLCanvasElement): Promise<number[]> {
  const bitmap = await createImageBitmap(file);
  preview.width = side;
  preview.height = side;
  const g = preview.getContext("2d")!;
  g.drawImage(bitmap, 0, 0, side, side);
  const rgba = g.getImageData(0, 0, side, side).data;
  const out: number[] = [];
  for (let i = 0; i < rgba.length; i += 4) out.push(Math.round((rgba[i] + rgba[i + 1] + rgba[i + 2]) / 3));
  return out;
}

// "Try it": upload an image, see the predicted class and the top probabilities.
function tryIt(service: string): HTMLElement {
  const file = h("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/bmp", id: "try-image" });
  const preview = h("canvas", { class: "preview", id: "try-preview", width: 28, height: 28 });
  const answer = h("div", { id: "try-answer", role: "status" });
  file.addEventListener("change", async () => {
    fill(answer, h("span", { class: "muted" }, "asking the model…"));
    try {
      const f = file.files?.[0];
      if (!f) return;
      const meta = await api.v2<ModelMetadata>("GET", service, "");
      const input = meta.inputs[0];
      if (input.datatype !== "FP32" && input.datatype !== "UINT8") throw new Error(`the model's input ${input.name} is ${input.datatype}, not an image`);
      const shape = input.shape.map((d) => (d < 0 ? 1 : d));
      const elements = shape.reduce((a, b) => a * b, 1);
      const side = Math.round(Math.sqrt(elements));
      if (side * side !== elements) throw new Error(`the model's input ${input.name} [${input.shape.join(", ")}] is not one square grey image`);
      const data = await pixels(f, side, preview);
      const result = await api.v2<InferAnswer>("POST", service, "/infer", {
        id: "dashboard",
        inputs: [{ name: input.name, datatype: input.datatype, shape, data }],
        ...(meta.outputs ? { outputs: meta.outputs.map((o) => ({ name: o.name })) } : {}),
      });
      const label = result.outputs.find((o) => o.name === "label");
      const probabilities = result.outputs.find((o) => o.name === "probabilities");
      const top = probabilities
        ? (probabilities.data as number[]).map((p, i) => [i, p] as const).sort((a, b) => b[1] - a[1]).slice(0, 3)
        : [];
      fill(
        answer,
        label ? h("p", {}, "Predicted: ", h("strong", { id: "try-label" }, String(label.data[0]))) : null,
        top.length > 0 && h("p", { class: "muted" }, `top classes: ${top.map(([i, p]) => `${i} (${p.toFixed(3)})`).join(", ")}`),
        !label && top.length === 0 && h("pre", {}, JSON.stringify(result.outputs, null, 1)),
      );
    } catch (e) {
      fill(answer, h("div", { class: "error" }, e instanceof Error ? e.message : String(e)));
    }
  });
  return h("div", { class: "try" }, h("label", {}, "Image ", file), preview, answer);
}

// What the ingress saw of a service over its last hour, one point per interval:
// request and 5xx rates, latency percentiles, and the requests in flight and held
// (the queue of a service at zero replicas or at its containerConcurrency).
class TrafficCharts {
  readonly element: HTMLElement;
  private readonly note = h("p", { class: "muted" }, "");
  private readonly rate = new LineChart("Requests per second", "time", true);
  private readonly latency = new LineChart("Latency (ms)", "time", true);
  private readonly queue = new LineChart("In flight and held", "time", true);

  constructor(private readonly name: string) {
    this.element = h("div", { class: "traffic-charts" }, this.note, this.rate.element, this.latency.element, this.queue.element);
  }

  async refresh(): Promise<void> {
    const t = await api.traffic(this.name);
    if (t.points.length === 0) {
      this.note.textContent = `No requests through this ingress yet; a point is added every ${t.intervalSeconds} s.`;
      return;
    }
    this.note.textContent = `As this ingress saw it: one point every ${t.intervalSeconds} s, the last hour.`;
    const at = (p: api.TrafficPoint) => p.timeMs / 1000;
    // At least the last five minutes, so a few points are not stretched over years.
    const last = at(t.points[t.points.length - 1]);
    const window: [number, number] = [Math.min(at(t.points[0]), last - 300), last];
    const line = (label: string, points: api.TrafficPoint[], y: (p: api.TrafficPoint) => number) => ({
      label,
      points: points.map((p) => ({ x: at(p), y: y(p) })),
    });
    this.rate.update([line("requests", t.points, (p) => p.requestsPerSecond), line("5xx errors", t.points, (p) => p.errorsPerSecond)], window);
    const answered = t.points.filter((p) => p.latencyMs !== null);
    this.latency.update([
      line("p50", answered, (p) => p.latencyMs!.p50),
      line("p90", answered, (p) => p.latencyMs!.p90),
      line("p99", answered, (p) => p.latencyMs!.p99),
    ], window);
    this.queue.update([line("in flight", t.points, (p) => p.inFlight), line("held", t.points, (p) => p.held)], window);
  }

  destroy(): void {
    for (const chart of [this.rate, this.latency, this.queue]) chart.destroy();
  }
}

export async function servicePage(ctx: PageContext): Promise<void> {
  const name = ctx.params[0];
  const body = h("div", {});
  let seen = "";
  const show = (s: Service) => {
    if (JSON.stringify(s) === seen) return;  // the first snapshot
    seen = JSON.stringify(s);
    fill(
      body,
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Ready"),
        h("dd", {}, badge(readyOf(s))),
        h("dt", {}, "URL"),
        h("dd", {}, h("code", {}, s.url)),
        h("dt", {}, "Created"),
        h("dd", {}, `${age(s.createdAt)} ago`),
      ),
      section("Traffic", trafficBar(s)),
      section(
        "Revisions",
        table(
          ["Revision", "Format", "Storage", "Ready", "Age"],
          s.revisions.map((r) => [r.name, r.modelFormat, h("code", {}, r.storageUri), `${r.readyReplicas} / ${r.desiredReplicas}`, age(r.createdAt)]),
        ),
      ),
      section(
        "Replicas",
        table(
          ["Replica", "Revision", "State", "Node", "Port", "Message"],
          s.replicas.map((r) => [link(`/ui/jobs/${encodeURIComponent(r.name)}`, r.name), r.revision, badge(r.state), r.node, r.port ? String(r.port) : "", r.message]),
        ),
      ),
      section("Conditions", conditionsTable(s.conditions)),
      section("Events", eventsTable(s.events)),
    );
  };
  const charts = new TrafficCharts(name);
  fill(
    ctx.root,
    h("h1", {}, link("/ui/services", "Inference services"), " / ", name),
    section("Try it", tryIt(name)),
    section("Requests", charts.element),
    body,
  );
  show(await api.get<Service>("inferenceservices", name));
  await charts.refresh();
  ctx.every(5000, () => charts.refresh());
  ctx.onLeave(() => charts.destroy());
  ctx.onLeave(api.watch<Service>(api.objectPath("inferenceservices", name), show, (e) => showError(ctx.root, e)));
}
