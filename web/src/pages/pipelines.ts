// Pipelines: the pipelines and their runs, Compare Runs, and a run's DAG drawn
// top-down with a side panel per task (inputs, outputs, artifacts, logs).
import * as api from "../api";
import { dagView } from "../charts/dag";
import { LineChart } from "../charts/line_chart";
import { badge, fill, h, link, section, table } from "../dom";
import { age, between, number } from "../format";
import type { PageContext } from "../main";
import { showError } from "../main";
import type { Pipeline, Run, Task } from "../types";
import { eventsTable } from "./jobs";
import { lineagePath } from "./lineage";

function json(v: unknown): string {
  return v === null || v === undefined ? "" : JSON.stringify(v, null, 1);
}

// A run's metrics: every number in the metadata of its tasks' system.Metrics
// artifacts, as "task.metric".
export function runMetrics(run: Run): Map<string, number> {
  const out = new Map<string, number>();
  for (const t of run.tasks ?? []) {
    for (const a of t.outputArtifacts) {
      if (a.type !== "system.Metrics" || typeof a.metadata !== "object" || a.metadata === null) continue;
      for (const [k, v] of Object.entries(a.metadata as Record<string, unknown>)) {
        if (typeof v === "number") out.set(`${t.name}.${k}`, v);
      }
    }
  }
  return out;
}

export async function pipelinesPage(ctx: PageContext): Promise<void> {
  const chosen = new Set<string>();
  const compareBox = h("div", { id: "compare" });
  const lists = h("div", {});
  const compare = async () => {
    const runs = await Promise.all([...chosen].sort().map((n) => api.get<Run>("runs", n)));
    const parameters = [...new Set(runs.flatMap((r) => Object.keys(r.parameters ?? {})))].sort();
    const metrics = runs.map(runMetrics);
    const names = [...new Set(metrics.flatMap((m) => [...m.keys()]))].sort();
    const rows = [
      ["pipeline", ...runs.map((r) => `${r.pipeline} v${r.pipelineVersion}`)],
      ["state", ...runs.map((r) => badge(r.state))],
      ["duration", ...runs.map((r) => between(r.startedAt ?? r.createdAt, r.finishedAt))],
      ...parameters.map((p) => [p, ...runs.map((r) => json((r.parameters ?? {})[p]))]),
      ...names.map((m) => [m, ...metrics.map((x) => number(x.get(m)))]),
    ];
    const metricSelect = h("select", { name: "metric" }, names.map((m) => h("option", { value: m }, m)));
    const chart = new LineChart("metric across runs", "run");
    const draw = () =>
      chart.update([
        {
          label: metricSelect.value,
          points: metrics.flatMap((m, i) => (m.has(metricSelect.value) ? [{ x: i + 1, y: m.get(metricSelect.value)! }] : [])),
        },
      ]);
    metricSelect.addEventListener("change", draw);
    fill(
      compareBox,
      section(
        "Compare runs",
        table(["", ...runs.map((r) => r.name)], rows, { id: "compare-table" }),
        names.length > 0 && [h("label", {}, "Chart ", metricSelect), chart.element],
      ),
    );
    if (names.length > 0) draw();
  };
  let seen = "";
  const show = async () => {
    const [pipelines, runs] = await Promise.all([api.listAll<Pipeline>("pipelines"), api.listAll<Run>("runs")]);
    if (JSON.stringify([pipelines, runs]) === seen) return;
    seen = JSON.stringify([pipelines, runs]);
    runs.sort((a, b) => Date.parse(b.createdAt ?? "0") - Date.parse(a.createdAt ?? "0"));
    fill(
      lists,
      section(
        "Pipelines",
        table(
          ["Pipeline", "Latest version", "Parameters", "Description", "Age"],
          pipelines.map((p) => [p.name, String(p.latestVersion), p.parameters.map((x) => x.name).join(", "), p.description, age(p.createdAt)]),
          { id: "pipelines" },
        ),
      ),
      section(
        "Runs",
        table(
          ["", "Run", "Pipeline", "State", "Steps", "Age", "Duration"],
          runs.map((r) => {
            const box = h("input", { type: "checkbox", "data-run": r.name, "aria-label": `compare ${r.name}` });
            box.checked = chosen.has(r.name);
            box.addEventListener("change", () => {
              if (box.checked) chosen.add(r.name);
              else chosen.delete(r.name);
              if (chosen.size >= 2) void compare();
              else fill(compareBox);
            });
            return [
              box,
              link(`/ui/runs/${encodeURIComponent(r.name)}`, r.name),
              `${r.pipeline} v${r.pipelineVersion}`,
              badge(r.state),
              `${r.steps.succeeded}/${r.steps.total}${r.steps.cached ? ` (${r.steps.cached} cached)` : ""}${r.steps.failed ? `, ${r.steps.failed} failed` : ""}`,
              age(r.createdAt),
              between(r.startedAt ?? r.createdAt, r.finishedAt),
            ];
          }),
          { id: "runs" },
        ),
        h("p", { class: "muted" }, "Tick two or more runs to compare them."),
      ),
    );
  };
  fill(ctx.root, h("h1", {}, "Pipelines"), lists, compareBox);
  await show();
  ctx.every(3000, show);
}

// What a step ran ("trainjob/r-2", "inferenceservice/fmnist"): its page, and the
// resource its log is read from. A tuning or deploy step has no log of its own
// (its trials and replicas do, on their pages).
function workloadOf(t: Task): { name: string; page: string; logs?: string } | null {
  const slash = t.workload ? t.workload.indexOf("/") : -1;
  if (slash < 0) return null;
  const kind = t.workload.slice(0, slash);
  const name = t.workload.slice(slash + 1);
  const at = (section: string) => `/ui/${section}/${encodeURIComponent(name)}`;
  if (kind === "experiment") return { name, page: at("experiments") };
  if (kind === "inferenceservice") return { name, page: at("services") };
  return { name, page: at("jobs"), logs: kind === "trainjob" ? "trainjobs" : "jobs" };
}

function taskPanel(run: Run, t: Task): HTMLElement {
  const logBox = h("pre", { class: "log", id: "task-log" });
  const workload = workloadOf(t);
  if (workload?.logs) {
    api
      .logs(workload.logs, workload.name, "", -64 * 1024)
      .then((piece) => logBox.append(document.createTextNode(piece.data || "(empty)")))
      .catch((e) => logBox.append(document.createTextNode(`(no log: ${e.message})`)));
  }
  return h(
    "aside",
    { class: "panel", id: "task-panel", "data-task": t.id },
    h("h3", {}, t.id),
    h(
      "dl",
      { class: "facts" },
      h("dt", {}, "State"),
      h("dd", {}, badge(t.state), t.cached ? ` cached from ${t.cachedFrom}` : ""),
      h("dt", {}, "Component"),
      h("dd", {}, t.component),
      h("dt", {}, "Duration"),
      h("dd", {}, between(t.startedAt, t.finishedAt)),
      h("dt", {}, "Attempts"),
      h("dd", {}, String(t.attempts)),
      h("dt", {}, "Ran"),
      h("dd", {}, workload ? link(workload.page, t.workload) : "—"),
      t.message && [h("dt", {}, "Message"), h("dd", {}, t.message)],
    ),
    h("h4", {}, "Inputs"),
    h("pre", {}, json(t.inputs)),
    h("h4", {}, "Outputs"),
    h("pre", {}, json(t.outputs)),
    h("h4", {}, "Artifacts"),
    table(
      ["Name", "Type", "URI", "Metadata", "Lineage"],
      t.outputArtifacts.map((a) => [
        a.name,
        a.type,
        h("code", {}, a.uri),
        json(a.metadata),
        h("span", {}, link(lineagePath(a.uri), "upstream"), " · ", link(lineagePath(a.uri, true), "downstream")),
      ]),
    ),
    workload?.logs && [h("h4", {}, "Log"), logBox],
    h("p", { class: "muted" }, `run ${run.name}`),
  );
}

export async function runPage(ctx: PageContext): Promise<void> {
  const name = ctx.params[0];
  let run = await api.get<Run>("runs", name);
  let level = "";
  let selected = "";
  const head = h("div", {});
  const crumbs = h("div", { class: "crumbs", id: "levels" });
  const graph = h("div", { class: "graph", id: "dag" });
  const panel = h("div", {});
  const events = h("div", {});
  const show = () => {
    const tasks = run.tasks ?? [];
    fill(
      head,
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "State"),
        h("dd", {}, badge(run.state), " ", run.message),
        h("dt", {}, "Pipeline"),
        h("dd", {}, `${run.pipeline} v${run.pipelineVersion}`),
        h("dt", {}, "Parameters"),
        h("dd", {}, h("code", {}, json(run.parameters))),
        h("dt", {}, "Steps"),
        h("dd", {}, `${run.steps.succeeded} of ${run.steps.total} succeeded, ${run.steps.cached} cached, ${run.steps.skipped} skipped, ${run.steps.failed} failed`),
        h("dt", {}, "Duration"),
        h("dd", {}, between(run.startedAt ?? run.createdAt, run.finishedAt)),
      ),
    );
    // The levels from the root to the DAG shown; each opens its level.
    const path = level ? level.split("/") : [];
    fill(
      crumbs,
      h("a", { href: "#", onclick: (e: Event) => { e.preventDefault(); level = ""; show(); } }, "root"),
      path.map((part, i) => [" / ", h("a", { href: "#", onclick: (e: Event) => { e.preventDefault(); level = path.slice(0, i + 1).join("/"); show(); } }, part)]),
    );
    const here = tasks.filter((t) => t.parent === level);
    fill(
      graph,
      here.length === 0
        ? h("p", { class: "muted" }, "No tasks yet.")
        : dagView(here, {
            selected,
            onSelect(t) {
              if (t.kind !== "Container") {
                level = t.id;
                selected = "";
              } else {
                selected = t.id;
              }
              show();
            },
          }),
    );
    const task = tasks.find((t) => t.id === selected);
    fill(panel, task ? taskPanel(run, task) : h("p", { class: "muted" }, "Click a step to see its inputs, outputs, artifacts and log; a sub-DAG or loop opens its own graph."));
    fill(events, eventsTable(run.events));
  };
  fill(
    ctx.root,
    h("h1", {}, link("/ui/pipelines", "Pipelines"), " / ", name),
    head,
    section("Graph", crumbs, h("div", { class: "split" }, graph, panel)),
    section("Events", events),
  );
  show();
  ctx.onLeave(
    api.watch<Run>(
      api.objectPath("runs", name),
      (next) => {
        if (JSON.stringify(next) === JSON.stringify(run)) return;  // the first snapshot
        run = next;
        show();
      },
      (e) => showError(ctx.root, e),
    ),
  );
}
