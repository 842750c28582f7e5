// Experiments: the list, and one experiment's trials (sortable by any parameter
// or metric), the parallel-coordinates plot, the objective by trial and each
// trial's learning curve, the best trial marked everywhere.
import * as api from "../api";
import { LineChart } from "../charts/line_chart";
import { parallelCoordinates } from "../charts/parallel_coordinates";
import { badge, fill, h, link, section } from "../dom";
import { age, between, number } from "../format";
import type { PageContext } from "../main";
import { showError } from "../main";
import type { Experiment, Trial } from "../types";
import { conditionsTable, eventsTable } from "./jobs";

export async function experimentsPage(ctx: PageContext): Promise<void> {
  let seen = "";
  const show = async () => {
    const items = await api.listAll<Experiment>("experiments");
    if (JSON.stringify(items) === seen) return;
    seen = JSON.stringify(items);
    fill(
      ctx.root,
      h("h1", {}, "Experiments"),
      h(
        "table",
        { id: "experiments" },
        h("thead", {}, h("tr", {}, ["Name", "Phase", "Algorithm", "Objective", "Trials", "Best", "Age"].map((t) => h("th", {}, t)))),
        h(
          "tbody",
          {},
          items.map((e) =>
            h(
              "tr",
              {},
              h("td", {}, link(`/ui/experiments/${encodeURIComponent(e.name)}`, e.name)),
              h("td", {}, badge(e.phase)),
              h("td", {}, e.algorithm),
              h("td", {}, `${e.objective.type} ${e.objective.metric}`),
              h("td", {}, `${e.counts.trialsSucceeded ?? 0} / ${e.counts.trials ?? 0}`),
              h("td", {}, e.bestTrial ? `${e.bestTrial.name} (${number(e.bestTrial.objective)})` : ""),
              h("td", {}, age(e.createdAt)),
            ),
          ),
        ),
      ),
    );
  };
  await show();
  ctx.every(3000, show);
}

type SortKey = { column: string; descending: boolean };

const countNames: [string, string][] = [
  ["trialsRunning", "running"],
  ["trialsSucceeded", "succeeded"],
  ["trialsEarlyStopped", "early stopped"],
  ["trialsFailed", "failed"],
  ["trialMetricsUnavailable", "without metrics"],
  ["trialsKilled", "killed"],
];

function trialCounts(counts: Record<string, number>): string {
  const parts = countNames.filter(([k]) => (counts[k] ?? 0) > 0).map(([k, label]) => `${counts[k]} ${label}`);
  return `${counts.trials ?? 0}${parts.length ? `: ${parts.join(", ")}` : ""}`;
}

function cell(t: Trial, column: string): string | number | null {
  if (column === "name") return t.name;
  if (column === "phase") return t.phase;
  if (column === "objective") return t.objective;
  if (column === "epochs") return t.epochs;
  if (column.startsWith("p:")) {
    const v = t.parameters[column.slice(2)];
    return v !== undefined && v !== "" && Number.isFinite(Number(v)) ? Number(v) : (v ?? null);
  }
  if (column.startsWith("m:")) return t.metrics[column.slice(2)] ?? null;
  return null;
}

function compare(a: string | number | null, b: string | number | null): number {
  if (a === null) return b === null ? 0 : 1;
  if (b === null) return -1;
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b), undefined, { numeric: true });
}

function trialsTable(e: Experiment, trials: Trial[], sort: SortKey, resort: (column: string) => void): HTMLElement {
  const parameters = [...new Set(trials.flatMap((t) => Object.keys(t.parameters)))].sort();
  const metrics = [...new Set(trials.flatMap((t) => Object.keys(t.metrics)))].filter((m) => m !== e.objective.metric).sort();
  const columns: [string, string][] = [
    ["name", "Trial"],
    ["phase", "Phase"],
    ...parameters.map((p) => [`p:${p}`, p] as [string, string]),
    ["objective", e.objective.metric],
    ...metrics.map((m) => [`m:${m}`, m] as [string, string]),
    ["epochs", "Epochs"],
  ];
  const sorted = [...trials].sort((a, b) => {
    const c = compare(cell(a, sort.column), cell(b, sort.column));
    return sort.descending ? -c : c;
  });
  const best = e.bestTrial?.name;
  return h(
    "table",
    { id: "trials", class: "sortable" },
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        columns.map(([key, label]) =>
          h(
            "th",
            { "data-column": key, onclick: () => resort(key), title: "sort", class: sort.column === key ? "sorted" : null },
            label,
            sort.column === key ? (sort.descending ? " ▼" : " ▲") : "",
          ),
        ),
      ),
    ),
    h(
      "tbody",
      {},
      sorted.map((t) =>
        h(
          "tr",
          { class: t.name === best ? "best" : null, "data-trial": t.name },
          columns.map(([key]) => {
            if (key === "phase") return h("td", {}, badge(t.phase), t.reason ? h("span", { class: "muted" }, ` ${t.reason}`) : "");
            if (key === "name" && t.jobs.length > 0) return h("td", {}, link(`/ui/jobs/${encodeURIComponent(t.jobs[t.jobs.length - 1])}`, t.name));
            const v = cell(t, key);
            return h("td", {}, typeof v === "number" ? number(v) : (v ?? ""));
          }),
        ),
      ),
    ),
  );
}

export async function experimentPage(ctx: PageContext): Promise<void> {
  const name = ctx.params[0];
  let e = await api.get<Experiment>("experiments", name);
  let sort: SortKey = { column: "objective", descending: e.objective.type === "maximize" };
  const head = h("div", {});
  const plot = h("div", { id: "parallel" });
  const trialsBox = h("div", {});
  const objectiveChart = new LineChart(`${e.objective.metric} by trial`, "trial");
  const curves = new LineChart(`${e.objective.metric} by epoch (learning curves)`, "epoch");
  const conditions = h("div", {});
  const events = h("div", {});
  const show = () => {
    const trials = e.trials ?? [];
    const best = e.bestTrial;
    fill(
      head,
      h(
        "dl",
        { class: "facts" },
        h("dt", {}, "Phase"),
        h("dd", {}, badge(e.phase), " ", e.message),
        h("dt", {}, "Algorithm"),
        h("dd", {}, e.algorithm),
        h("dt", {}, "Objective"),
        h("dd", {}, `${e.objective.type} ${e.objective.metric}`),
        h("dt", {}, "Trials"),
        h("dd", {}, trialCounts(e.counts)),
        h("dt", {}, "Best trial"),
        h("dd", { id: "best" }, best ? `${best.name}: ${e.objective.metric}=${number(best.objective)} (${Object.entries(best.parameters).map(([k, v]) => `${k}=${v}`).join(" ")})` : "none yet"),
        h("dt", {}, "Duration"),
        h("dd", {}, between(e.createdAt, e.finishedAt)),
      ),
    );
    const parameters = [...new Set(trials.flatMap((t) => Object.keys(t.parameters)))].sort();
    fill(
      plot,
      parallelCoordinates(
        parameters,
        e.objective.metric,
        trials.map((t) => ({
          name: t.name,
          values: { ...t.parameters, [e.objective.metric]: t.objective },
          best: t.name === best?.name,
          failed: t.phase === "Failed" || t.phase === "MetricsUnavailable",
        })),
      ),
    );
    fill(trialsBox, trialsTable(e, trials, sort, (column) => {
      sort = { column, descending: sort.column === column ? !sort.descending : false };
      show();
    }));
    const ordered = [...trials].sort((a, b) => compare(a.createdAt, b.createdAt));
    objectiveChart.update([
      { label: e.objective.metric, points: ordered.flatMap((t, i) => (t.objective === null ? [] : [{ x: i + 1, y: t.objective }])) },
    ]);
    curves.update(
      trials
        .filter((t) => t.curve.length > 0)
        .map((t) => ({
          label: `${t.name}${t.name === best?.name ? " (best)" : ""}${t.phase === "EarlyStopped" ? " (early stopped)" : ""}`,
          points: t.curve.flatMap((p) => (p.value === null ? [] : [{ x: p.step, y: p.value }])),
        })),
    );
    fill(conditions, conditionsTable(e.conditions));
    fill(events, eventsTable(e.events));
  };
  fill(
    ctx.root,
    h("h1", {}, link("/ui/experiments", "Experiments"), " / ", name),
    head,
    section("Parameters against the objective", plot),
    section("Trials", trialsBox),
    section("Progress", h("div", { class: "charts" }, objectiveChart.element, curves.element)),
    section("Conditions", conditions),
    section("Events", events),
  );
  show();
  // Drawn again when the watch stream says something changed (a sorted table
  // keeps its order).
  ctx.onLeave(
    api.watch<Experiment>(
      api.objectPath("experiments", name),
      (next) => {
        if (JSON.stringify(next) === JSON.stringify(e)) return;  // the first snapshot
        e = next;
        show();
      },
      (err) => showError(ctx.root, err),
    ),
  );
}
