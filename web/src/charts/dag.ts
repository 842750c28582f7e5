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

// One box of a graph: two lines of text, a class for its colour, a tooltip.
export interface GraphNode {
  id: string;
  title: string;
  subtitle: string;
  tooltip: string;
  className: string;
  data?: Record<string, string>;  // data-* attributes (tests find boxes by them)
  onSelect?: () => void;
}

const nodeWidth = 180;
const nodeHeight = 44;

const clip = (text: string) => (text.length > 24 ? `${text.slice(0, 23)}…` : text);

// Any directed graph, laid out top-down by dagre and drawn as SVG.
export function graphView(nodes: GraphNode[], edges: [string, string][], label: string): SVGElement {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "TB", nodesep: 30, ranksep: 40, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  const ids = new Set(nodes.map((n) => n.id));
  for (const n of nodes) g.setNode(n.id, { width: nodeWidth, height: nodeHeight });
  for (const [from, to] of edges) if (ids.has(from) && ids.has(to)) g.setEdge(from, to);
  dagre.layout(g);
  const graph = g.graph();
  const width = (graph.width ?? 200) + 20;
  const height = (graph.height ?? 100) + 20;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "dag", role: "img", "aria-label": label });
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
  for (const n of nodes) {
    const at = g.node(n.id);
    const attrs: Record<string, string | number> = { class: n.className, tabindex: 0, transform: `translate(${at.x - nodeWidth / 2},${at.y - nodeHeight / 2})` };
    for (const [k, v] of Object.entries(n.data ?? {})) attrs[`data-${k}`] = v;
    const box = s(
      "g",
      attrs,
      s("title", {}, n.tooltip),
      s("rect", { width: nodeWidth, height: nodeHeight, rx: 6 }),
      s("text", { x: 10, y: 18, class: "task-name" }, clip(n.title)),
      s("text", { x: 10, y: 35, class: "task-state" }, clip(n.subtitle)),
    );
    if (n.onSelect) {
      const select = n.onSelect;
      box.addEventListener("click", select);
      box.addEventListener("keydown", (e) => {
        if ((e as KeyboardEvent).key === "Enter") select();
      });
    }
    svg.appendChild(box);
  }
  return svg;
}

// A pipeline run's tasks, each below the tasks it waited for.
export function dagView(tasks: Task[], options: DagOptions): SVGElement {
  const nodes = tasks.map((t): GraphNode => {
    const state = t.cached ? "cached" : t.state.toLowerCase();
    return {
      id: t.id,
      title: t.name,
      subtitle: `${t.state}${t.cached ? " · cached" : ""}${t.kind !== "Container" ? ` · ${t.kind}` : ""}`,
      tooltip: `${t.id}: ${t.state}${t.cached ? " (cached)" : ""}`,
      className: `task state-${state}${options.selected === t.id ? " selected" : ""}${t.kind !== "Container" ? " group" : ""}`,
      data: { task: t.id, state: t.state },
      onSelect: () => options.onSelect(t),
    };
  });
  const edges = tasks.flatMap((t) => (t.upstream ?? []).map((u): [string, string] => [u, t.id]));
  return graphView(nodes, edges, "pipeline graph");
}
