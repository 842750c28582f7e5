// An artifact's lineage (ML Metadata's view, as `cadre lineage` walks it): the steps
// that made it and what they were made from (upstream), or every step that used it
// and what came of that (downstream), across the runs of the caller's namespace.
import * as api from "../api";
import { graphView, type GraphNode } from "../charts/dag";
import { badge, fill, h, link, section, table } from "../dom";
import type { PageContext } from "../main";
import { navigate } from "../main";
import type { Lineage } from "../types";

// The dashboard path of an artifact's lineage page.
export function lineagePath(uri: string, downstream = false): string {
  const q = new URLSearchParams({ artifact: uri });
  if (downstream) q.set("direction", "downstream");
  return `/ui/lineage?${q}`;
}

// The artifact itself: the walk's edges name it "", which dagre cannot take as an id.
const artifactNode = "@artifact";
const node = (id: string) => (id === "" ? artifactNode : id);

function graph(l: Lineage): SVGElement {
  const nodes: GraphNode[] = [
    {
      id: artifactNode,
      title: l.artifact.slice(l.artifact.lastIndexOf("/") + 1) || l.artifact,
      subtitle: "artifact",
      tooltip: l.artifact,
      className: "task artifact selected",
      data: { node: "artifact" },
    },
    ...l.executions.map(
      (e): GraphNode => ({
        id: `${e.run}/${e.task}`,
        title: e.task,
        subtitle: `${e.state}${e.cached ? " · cached" : ""} · run ${e.run}`,
        tooltip: `run ${e.run}, step ${e.task} (${e.component}): ${e.state}`,
        className: `task state-${e.cached ? "cached" : e.state.toLowerCase()}`,
        data: { node: `${e.run}/${e.task}` },
        onSelect: () => navigate(`/ui/runs/${encodeURIComponent(e.run)}`),
      }),
    ),
  ];
  const edges = l.edges.map((e): [string, string] => [node(e.from), node(e.to)]);
  return graphView(nodes, edges, "lineage graph");
}

function artifacts(list: { name: string; uri: string }[]): HTMLElement {
  return h("div", {}, list.map((a) => h("div", {}, link(lineagePath(a.uri), h("code", {}, a.name || a.uri)))));
}

export async function lineagePage(ctx: PageContext): Promise<void> {
  const q = new URLSearchParams(location.search);
  const uri = q.get("artifact") ?? "";
  const downstream = q.get("direction") === "downstream";
  const header = h(
    "div",
    {},
    h("h1", {}, link("/ui/pipelines", "Pipelines"), " / lineage"),
    h("p", {}, "Artifact ", h("code", { id: "lineage-artifact" }, uri)),
    h(
      "p",
      { class: "tabs" },
      downstream ? link(lineagePath(uri), "Upstream") : h("strong", {}, "Upstream"),
      " · ",
      downstream ? h("strong", {}, "Downstream") : link(lineagePath(uri, true), "Downstream"),
    ),
  );
  if (!uri) {
    fill(ctx.root, header, h("p", { class: "muted" }, "Open an artifact from a run's step to see its lineage."));
    return;
  }
  const l = await api.lineage(uri, downstream);
  fill(
    ctx.root,
    header,
    section(downstream ? "What used it" : "Where it came from", h("div", { class: "dag-box", id: "lineage-graph" }, graph(l))),
    section(
      "Steps",
      table(
        ["Run", "Step", "Component", "State", "Inputs", "Outputs"],
        l.executions.map((e) => [
          link(`/ui/runs/${encodeURIComponent(e.run)}`, e.run),
          e.task,
          e.component,
          badge(e.cached ? "Cached" : e.state),
          artifacts(e.inputArtifacts),
          artifacts(e.outputArtifacts),
        ]),
        { id: "lineage-steps" },
      ),
    ),
  );
}
