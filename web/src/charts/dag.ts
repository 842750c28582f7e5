// A pipeline run's graph, drawn top-down: dagre lays it out, SVG draws it. One
// box per task of the DAG being shown (sub-DAGs and loops are boxes that open
// their own level), coloured by state, with cached and skipped tasks marked.
import dagre from "@dagrejs/dagre";
import { s } from "../dom";
import type { Task } from "../types";

export interface DagOptions {
  onSelect(task: Task): void;
  selected?: string;
}

const nodeWidth = 180;
const nodeHeight = 44;

export function dagView(tasks: Task[], options: DagOptions): SVGElement {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "TB", nodesep: 30, ranksep: 40, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(tasks.map((t) => t.id));
  for (const t of tasks) g.setNode(t.id, { width: nodeWidth, height: nodeHeight });
  for (const t of tasks) {
    for (const u of t.upstream ?? []) if (ids.has(u)) g.setEdge(u, t.id);
  }
  dagre.layout(g);
  const graph = g.graph();
  const width = (graph.width ?? 200) + 20;
  const height = (graph.height ?? 100) + 20;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "dag", role: "img", "aria-label": "pipeline graph" });
  svg.appendChild(
    s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: "auto" }, s("path", { d: "M0,0 L10,5 L0,10 z", fill: "#6b7280" }))),
  );
  for (const e of g.edges()) {
    const points = g.edge(e).points ?? [];
    svg.appendChild(
      s("polyline", {
        points: points.map((p: { x: number; y: number }) => `${p.x},${p.y}`).join(" "),
        fill: "none",
        stroke: "#6b7280",
        "stroke-width": 1.5,
        "marker-end": "url(#arrow)",
      }),
    );
  }
  for (const t of tasks) {
    const n = g.node(t.id);
    const x = n.x - nodeWidth / 2;
    const y = n.y - nodeHeight / 2;
    const state = t.cached ? "cached" : t.state.toLowerCase();
    const box = s(
      "g",
      {
        class: `task state-${state}${options.selected === t.id ? " selected" : ""}${t.kind !== "Container" ? " group" : ""}`,
        "data-task": t.id,
        "data-state": t.state,
        tabindex: 0,
        transform: `translate(${x},${y})`,
      },
      s("title", {}, `${t.id}: ${t.state}${t.cached ? " (cached)" : ""}`),
      s("rect", { width: nodeWidth, height: nodeHeight, rx: 6 }),
      s("text", { x: 10, y: 18, class: "task-name" }, t.name.length > 24 ? `${t.name.slice(0, 23)}…` : t.name),
      s("text", { x: 10, y: 35, class: "task-state" }, `${t.state}${t.cached ? " · cached" : ""}${t.kind !== "Container" ? ` · ${t.kind}` : ""}`),
    );
    box.addEventListener("click", () => options.onSelect(t));
    box.addEventListener("keydown", (e) => {
      if ((e as KeyboardEvent).key === "Enter") options.onSelect(t);
    });
    svg.appendChild(box);
  }
  return svg;
}
