// Jobs and TrainJobs: the list with filters, and one job with its replicas,
// conditions, metric charts, logs per replica (followed while it runs) and events,
// suspended and resumed from its page.
import * as api from "../api";
import { LineChart, type Series } from "../charts/line_chart";
import { badge, fill, h, link, section, table, type Child } from "../dom";
import { age, between, number } from "../format";
import type { PageContext } from "../main";
import { showError } from "../main";
import type { ClusterEvent, Condition, Job } from "../types";

const phases = ["", "Queued", "Running", "Restarting", "Succeeded", "Failed", "Suspended"];

// Suspend or resume, for a user's own job that has not finished (a trial's, a
// step's, a service replica's or a notebook server's job is its owner's to run).
function suspendButton(kind: string, job: Job, act: (action: "suspend" | "resume") => void): Child {
  if (job.owner || job.phase === "Succeeded" || job.phase === "Failed") return null;
  const action = job.phase === "Suspended" ? "resume" : "suspend";
  return h("button", { type: "button", "data-action": action, onclick: () => act(action) }, action);
}

export function conditionsTable(conditions: Condition[]): HTMLElement {
  return table(
    ["Type", "Status", "Reason", "Message", "Since"],
    conditions.map((c) => [c.type, c.status, c.reason, c.message, age(c.lastTransitionTime)]),
  );
}

export function eventsTable(events: ClusterEvent[] | undefined): HTMLElement {
  return table(
    ["Age", "Type", "Reason", "Message"],
    [...(events ?? [])].reverse().map((e) => [age(e.time), e.type, e.reason, e.message]),
    { class: "events" },
  );
}

// One paged table of a kind ("jobs" or "trainjobs"), refreshed in place.
class JobList {
  readonly element = h("div", {});
  private after: string | null = null;
  private readonly previous: (string | null)[] = [];
  private seen = "";  // what the table shows, to draw it again only when it changes

  constructor(
    private readonly kind: string,
    private readonly filters: () => Record<string, string>,
  ) {}

  restart(): void {
    this.seen = "";
    this.after = null;
    this.previous.length = 0;
  }

  async show(): Promise<void> {
    const query: Record<string, string> = { limit: "200", ...this.filters() };
    if (this.after) query.continue = this.after;
    const page = await api.list<Job>(this.kind, query);
    const seen = JSON.stringify([query, page]);
    if (seen === this.seen) return;
    this.seen = seen;
    fill(
      this.element,
      table(
        ["Name", "Phase", "Replicas", "Node", "Restarts", "Owner", "Age", "Duration"],
        page.items.map((j) => [
          link(`/ui/jobs/${encodeURIComponent(j.name)}`, j.name),
          badge(j.phase),
          String(j.replicas.length),
          j.node,
          String(j.restarts),
          j.owner,
          age(j.createdAt),
          between(j.startedAt, j.finishedAt),
        ]),
        { id: this.kind },
      ),
      h(
        "div",
        { class: "pager" },
        this.previous.length > 0 &&
          h("button", { type: "button", onclick: () => { this.after = this.previous.pop() ?? null; void this.show(); } }, "← previous"),
        page.continue &&
          h("button", { type: "button", onclick: () => { this.previous.push(this.after); this.after = page.continue; void this.show(); } }, "next →"),
      ),
    );
  }
}

export async function jobsPage(ctx: PageContext): Promise<void> {
  const params = new URLSearchParams(location.search);
  const phase = h("select", { name: "phase" }, phases.map((p) => h("option", { value: p }, p || "any phase")));
  phase.value = params.get("phase") ?? "";
  const prefix = h("input", { name: "prefix", placeholder: "name starts with", value: params.get("prefix") ?? "" });
  const mine = h("input", { type: "checkbox", name: "own" });
  mine.checked = params.get("owner") === "";
  const filters = () => {
    const q: Record<string, string> = {};
    if (phase.value) q.phase = phase.value;
    if (prefix.value) q.prefix = prefix.value;
    if (mine.checked) q.owner = "";
    return q;
  };
  const lists = [new JobList("trainjobs", filters), new JobList("jobs", filters)];
  const show = async () => {
    await Promise.all(lists.map((l) => l.show()));
  };
  const problem = h("div", {});
  const refilter = () => {
    for (const l of lists) l.restart();
    const q = new URLSearchParams(filters());
    history.replaceState(null, "", `/ui/jobs${q.toString() ? `?${q}` : ""}`);
    fill(problem);
    show().catch((e) => showError(problem, e));
  };
  phase.addEventListener("change", refilter);
  prefix.addEventListener("input", refilter);
  mine.addEventListener("change", refilter);
  fill(
    ctx.root,
    h("h1", {}, "Jobs"),
    h("form", { class: "filters", onsubmit: (e: Event) => e.preventDefault() }, phase, prefix, h("label", {}, mine, " users' own only")),
    problem,
    section("TrainJobs", lists[0].element),
    section("Jobs", lists[1].element),
  );
  await show();
  ctx.every(2000, show);
}

// Which kind a name is: names are unique across Jobs and TrainJobs. Asked as a
// one-item list, which answers 200 either way (no failed request to show).
async function kindOf(name: string): Promise<string> {
  const [jobs, trainjobs] = await Promise.all([
    api.list<Job>("jobs", { prefix: name, limit: "1" }),
    api.list<Job>("trainjobs", { prefix: name, limit: "1" }),
  ]);
  if (trainjobs.items[0]?.name === name) return "trainjobs";
  if (jobs.items[0]?.name === name) return "jobs";
  throw new Error(`no job or trainjob named ${name}`);
}

function replicasTable(job: Job): HTMLElement {
  return table(
    ["Replica", "Type", "Rank", "State", "Node", "Port", "GPUs", "Restarts", "Exit", "Reason"],
    job.replicas.map((r) => [
      r.name,
      r.type,
      String(r.rank),
      badge(r.state),
      r.node,
      r.port ? String(r.port) : "",
      r.gpuIndices.join(","),
      String(r.restarts),
      r.exitCode === null ? "" : String(r.exitCode),
      r.reason,
    ]),
    { id: "replicas" },
  );
}

// A replica instance as a legend names it: "worker-1 #3" for the uid
// "<job>-<incarnation>-worker-1-3" (uids of older jobs lack the incarnation).
export function instanceLabel(job: string, uid: string): string {
  if (!uid.startsWith(job + "-")) return uid;
  const parts = uid.slice(job.length + 1).split("-");
  if (parts.length === 4) parts.shift();
  if (parts.length !== 3) return uid;
  return `${parts[0]}-${parts[1]} #${parts[2]}`;
}

// Metric charts: one per metric name, one line per replica instance.
class MetricCharts {
  readonly element = h("div", { class: "charts", id: "charts" });
  private charts = new Map<string, LineChart>();

  async refresh(kind: string, name: string): Promise<void> {
    const { points } = await api.metrics(kind, name);
    const byMetric = new Map<string, Map<string, Series>>();
    for (const p of points) {
      // The step itself, when a line names it (epoch=3 ...), is the x axis, not a chart.
      if (p.name === "epoch" || p.name === "step") continue;
      const series = byMetric.get(p.name) ?? new Map<string, Series>();
      byMetric.set(p.name, series);
      const s = series.get(p.replica) ?? { label: instanceLabel(name, p.replica), points: [] };
      series.set(p.replica, s);
      s.points.push({ x: p.step, y: p.value });
    }
    if (byMetric.size === 0 && this.charts.size === 0) {
      fill(this.element, h("p", { class: "muted" }, "No metrics reported yet (lines like epoch=1 loss=0.3 accuracy=0.9)."));
      return;
    }
    for (const [metric, series] of [...byMetric].sort(([a], [b]) => a.localeCompare(b))) {
      let chart = this.charts.get(metric);
      if (!chart) {
        if (this.charts.size === 0) fill(this.element);
        chart = new LineChart(metric);
        this.charts.set(metric, chart);
        this.element.appendChild(chart.element);
      }
      chart.update([...series.values()]);
    }
  }
}

// A replica's log, read from where the last read ended while the replica runs.
class LogView {
  readonly element: HTMLElement;
  private readonly pre = h("pre", { class: "log", id: "log" });
  private readonly select = h("select", { name: "replica" });
  private offset = -64 * 1024;
  private finished = false;
  private replica = "";

  constructor(
    private readonly kind: string,
    private readonly name: string,
  ) {
    this.select.addEventListener("change", () => {
      this.replica = this.select.value;
      this.offset = -64 * 1024;
      this.finished = false;
      this.pre.textContent = "";
      void this.refresh();
    });
    this.element = h("div", {}, h("label", {}, "Replica ", this.select), this.pre);
  }

  setReplicas(names: string[]): void {
    const current = [...this.select.options].map((o) => o.value).join(",");
    if (current === names.join(",")) return;
    fill(this.select, names.map((n) => h("option", { value: n }, n)));
    this.select.value = this.replica || names[0] || "";
    this.replica = this.select.value;
  }

  async refresh(): Promise<void> {
    // Nothing to read before a replica has started (and no failed request to show).
    if (this.finished || this.select.options.length === 0) return;
    const replica = this.replica;
    const piece = await api.logs(this.kind, this.name, replica, this.offset);
    if (replica !== this.replica) return;
    const atBottom = this.pre.scrollTop + this.pre.clientHeight >= this.pre.scrollHeight - 4;
    // Appended as text: a log line is never markup.
    this.pre.append(document.createTextNode(piece.data));
    this.offset = piece.nextOffset;
    this.finished = piece.finished;
    if (atBottom) this.pre.scrollTop = this.pre.scrollHeight;
  }
}

export async function jobPage(ctx: PageContext): Promise<void> {
  const name = ctx.params[0];
  const kind = await kindOf(name);
  let job = await api.get<Job>(kind, name);
  const head = h("div", {});
  const replicas = h("div", {});
  const conditions = h("div", {});
  const events = h("div", {});
  const charts = new MetricCharts();
  const logs = new LogView(kind, name);
  const message = h("div", { id: "job-message", role: "status" });
  const act = async (action: "suspend" | "resume") => {
    fill(message);
    try {
      const reply = await api.jobAction(kind, name, action);
      fill(message, h("div", { class: "ok" }, `${name} ${reply.changed ? (action === "suspend" ? "suspended" : "resumed") : `already ${reply.phase}`}`));
    } catch (e) {
      showError(message, e);
    }
  };
  const showHead = () => {
    const facts: [string, Child][] = [
      ["Kind", job.kind],
      ["Phase", badge(job.phase)],
      ["Reason", job.reason],
      ["Message", job.message],
      ["Owner", job.owner || "—"],
      ["Created", job.createdAt ? `${age(job.createdAt)} ago` : ""],
      ["Duration", between(job.startedAt, job.finishedAt)],
      ["Restarts", String(job.restarts)],
      // Its schedulingPolicy: where it queues, and what it may preempt.
      ["Priority", String(job.priority)],
      ["Queue", job.queue],
      ["Latest metrics", Object.entries(job.metrics).map(([k, v]) => `${k}=${number(v)}`).join(" ")],
    ];
    fill(
      head,
      h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])),
      h("div", { class: "actions" }, suspendButton(kind, job, (action) => void act(action))),
      message,
    );
    fill(replicas, replicasTable(job));
    fill(conditions, conditionsTable(job.conditions));
    fill(events, eventsTable(job.events));
    logs.setReplicas(job.replicas.filter((r) => r.startedAt).map((r) => r.name));
  };
  fill(
    ctx.root,
    h("h1", {}, link("/ui/jobs", "Jobs"), " / ", h("span", { id: "job-name" }, name)),
    head,
    section("Metrics", charts.element),
    section("Replicas", replicas),
    section("Conditions", conditions),
    section("Logs", logs.element),
    section("Events", events),
  );
  showHead();
  await Promise.all([charts.refresh(kind, name), logs.refresh().catch(() => undefined)]);
  // The job itself comes from a watch stream (its phase changes as it happens);
  // its metrics and log are read on while it runs.
  ctx.onLeave(
    api.watch<Job>(
      api.objectPath(kind, name),
      (next) => {
        if (JSON.stringify(next) === JSON.stringify(job)) return;  // the first snapshot
        job = next;
        showHead();
      },
      (e) => showError(ctx.root, e),
    ),
  );
  ctx.every(2000, async () => {
    await Promise.all([charts.refresh(kind, name), logs.refresh()]);
  });
}
