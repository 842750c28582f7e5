// The cluster at a glance: nodes with what is allocated of them, the scheduling
// queues with what they hold of their quotas, how many objects of each kind are in
// each phase, and what started last.
import { list, listAll } from "../api";
import { badge, fill, h, link, section, table } from "../dom";
import { age, bytes } from "../format";
import type { PageContext } from "../main";
import type { ClusterNode, Experiment, Job, Notebook, Queue, Run, Service } from "../types";

const jobPage = 1000;  // jobs of each kind the overview reads

function bar(used: number, total: number, label: string): HTMLElement {
  const share = total > 0 ? Math.min(1, used / total) : 0;
  const fillBar = h("span", { class: "bar-fill" });
  // A property, not a style attribute: the page's policy allows no inline style.
  fillBar.style.width = `${(share * 100).toFixed(1)}%`;
  return h("div", { class: "bar", title: label }, fillBar, h("span", { class: "bar-label" }, label));
}

function gpuCount(n: ClusterNode): number {
  return n.gpus;
}

function gpuModels(n: ClusterNode): string {
  const models = new Map<string, number>();
  for (const m of n.gpuModels ?? []) models.set(m || "GPU", (models.get(m || "GPU") ?? 0) + 1);
  return [...models].map(([m, c]) => `${c}× ${m}`).join(", ");
}

// What a queue holds of one resource: a bar against its quota, or the amount when
// the quota leaves it unlimited.
function held(used: number, quota: number | null, text: (n: number) => string, unit = ""): HTMLElement {
  if (quota === null) return h("span", { class: "muted", title: "no quota" }, `${text(used)}${unit} / no limit`);
  return bar(used, quota, `${text(used)} / ${text(quota)}${unit}`);
}

function queuesSection(queues: Queue[]): HTMLElement {
  return section(
    "Queues",
    table(
      ["Queue", "Cohort", "CPU", "Memory", "GPUs", "Pending", "Admitted"],
      queues.map((q) => [
        q.borrowing ? [q.name, " ", h("span", { class: "muted", title: "holds more than its quota, lent by its cohort" }, "borrowing")] : q.name,
        q.cohort || h("span", { class: "muted" }, "none"),
        held(q.used.cpus, q.quota.cpus, String, " cores"),
        held(q.used.memory, q.quota.memory, bytes),
        held(q.used.gpus, q.quota.gpus, String),
        String(q.pending),
        String(q.admitted),
      ]),
      { id: "queues" },
    ),
  );
}

function counts(items: { phase?: string; state?: string }[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const i of items) {
    const p = i.phase ?? i.state ?? "Unknown";
    out.set(p, (out.get(p) ?? 0) + 1);
  }
  return out;
}

export async function overviewPage(ctx: PageContext): Promise<void> {
  const show = async () => {
    // Jobs may run to tens of thousands: the overview reads one page of each kind
    // (counts then say "1000+"), never the whole list every few seconds.
    const [nodes, queues, plainPage, trainPage, experiments, services, runs, notebooks] = await Promise.all([
      listAll<ClusterNode>("nodes"),
      listAll<Queue>("queues"),
      list<Job>("jobs", { limit: String(jobPage) }),
      list<Job>("trainjobs", { limit: String(jobPage) }),
      listAll<Experiment>("experiments"),
      listAll<Service>("inferenceservices"),
      listAll<Run>("runs"),
      listAll<Notebook>("notebooks"),
    ]);
    const plainJobs = plainPage.items;
    const trainJobs = trainPage.items;
    const jobs = [...plainJobs, ...trainJobs];
    const kinds: [string, string, { phase?: string; state?: string }[], boolean][] = [
      ["TrainJobs", "/ui/jobs", trainJobs, trainPage.continue !== null],
      ["Jobs", "/ui/jobs", plainJobs, plainPage.continue !== null],
      ["Experiments", "/ui/experiments", experiments, false],
      ["Inference services", "/ui/services", services.map((s) => ({ phase: s.ready ? "Ready" : "NotReady" })), false],
      ["Pipeline runs", "/ui/pipelines", runs, false],
      ["Notebooks", "/ui/notebooks", notebooks, false],
    ];
    const recent = [...jobs]
      .sort((a, b) => Date.parse(b.createdAt ?? "0") - Date.parse(a.createdAt ?? "0"))
      .slice(0, 10);
    fill(
      ctx.root,
      h("h1", {}, "Overview"),
      section(
        "Nodes",
        table(
          ["Node", "State", "CPU", "Memory", "GPUs", "Replicas", "Address", "Heartbeat"],
          nodes.map((n) => [
            n.name,
            n.unschedulable
              ? [badge(n.state), " ", h("span", { class: "muted", title: "cadre uncordon " + n.name }, "cordoned")]
              : badge(n.state),
            bar(n.allocated.cpus, n.cpus, `${n.allocated.cpus} / ${n.cpus} cores`),
            bar(n.allocated.memory, n.memory, `${bytes(n.allocated.memory)} / ${bytes(n.memory)}`),
            gpuCount(n) > 0
              ? [bar(n.allocated.gpus, gpuCount(n), `${n.allocated.gpus} / ${gpuCount(n)}`), h("div", { class: "muted" }, gpuModels(n))]
              : h("span", { class: "muted" }, "none"),
            String(n.replicas?.length ?? 0),
            n.address,
            age(n.lastHeartbeat) ? `${age(n.lastHeartbeat)} ago` : "",
          ]),
          { id: "nodes" },
        ),
      ),
      queuesSection(queues),
      section(
        "Workloads",
        h(
          "div",
          { class: "cards", id: "counts" },
          kinds.map(([title, path, items, more]) =>
            h(
              "div",
              { class: "card" },
              h("h3", {}, link(path, title), " ", h("span", { class: "muted" }, `${items.length}${more ? "+" : ""}`)),
              [...counts(items)].map(([phase, n]) => h("div", {}, badge(phase), ` ${n}${more ? "+" : ""}`)),
            ),
          ),
        ),
      ),
      section(
        "Recent jobs",
        table(
          ["Name", "Kind", "Phase", "Owner", "Age"],
          recent.map((j) => [link(`/ui/jobs/${encodeURIComponent(j.name)}`, j.name), j.kind, badge(j.phase), j.owner, age(j.createdAt)]),
        ),
      ),
    );
  };
  await show();
  ctx.every(3000, show);
}
