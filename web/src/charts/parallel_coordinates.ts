// Katib's main view: one vertical axis per parameter and one for the objective,
// one polyline per trial across them, coloured by its objective; the best trial
// drawn on top and thicker. Categorical parameters get evenly spaced ticks.
import { s } from "../dom";
import { number } from "../format";

export interface PcRow {
  name: string;
  values: Record<string, string | number | null>;
  best: boolean;
  failed: boolean;
}

interface Axis {
  key: string;
  numeric: boolean;
  min: number;
  max: number;
  categories: string[];
}

function axisOf(key: string, rows: PcRow[]): Axis {
  const raw = rows.map((r) => r.values[key]).filter((v) => v !== null && v !== undefined && v !== "");
  const nums = raw.map((v) => Number(v));
  const numeric = raw.length > 0 && nums.every((v) => Number.isFinite(v));
  if (numeric) {
    const min = Math.min(...nums);
    const max = Math.max(...nums);
    return { key, numeric, min, max: max === min ? min + 1 : max, categories: [] };
  }
  return { key, numeric: false, min: 0, max: 1, categories: [...new Set(raw.map(String))].sort() };
}

// 0 (bottom) .. 1 (top) on the axis, or null when the trial has no value.
function position(axis: Axis, v: string | number | null | undefined): number | null {
  if (v === null || v === undefined || v === "") return null;
  if (axis.numeric) return (Number(v) - axis.min) / (axis.max - axis.min);
  const i = axis.categories.indexOf(String(v));
  return axis.categories.length === 1 ? 0.5 : i / (axis.categories.length - 1);
}

// Blue (low) to red (high) for the objective's share of its range.
function colour(t: number): string {
  const hue = 230 - 230 * Math.max(0, Math.min(1, t));
  return `hsl(${hue.toFixed(0)}, 70%, 45%)`;
}

export function parallelCoordinates(keys: string[], objective: string, rows: PcRow[]): SVGElement {
  const axes = [...keys, objective].map((k) => axisOf(k, rows));
  const width = Math.max(640, 220 * axes.length);
  const height = 340;
  const top = 20;
  const bottom = 40;
  const left = 80;
  const step = axes.length > 1 ? (width - 2 * left) / (axes.length - 1) : 0;
  const y = (t: number) => top + (1 - t) * (height - top - bottom);
  const objectiveAxis = axes[axes.length - 1];
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "parallel", role: "img", "aria-label": "parallel coordinates" });
  const ordered = [...rows].sort((a, b) => Number(a.best) - Number(b.best));
  for (const row of ordered) {
    const points: string[] = [];
    axes.forEach((axis, i) => {
      const t = position(axis, row.values[axis.key]);
      if (t !== null) points.push(`${(left + i * step).toFixed(1)},${y(t).toFixed(1)}`);
    });
    const t = position(objectiveAxis, row.values[objective]);
    svg.appendChild(
      s(
        "polyline",
        {
          points: points.join(" "),
          fill: "none",
          stroke: row.best ? "#111827" : row.failed || t === null ? "#9ca3af" : colour(t),
          "stroke-width": row.best ? 3.5 : 1.5,
          "stroke-dasharray": row.failed ? "4 3" : null,
          opacity: row.best ? 1 : 0.8,
          "data-trial": row.name,
          class: row.best ? "best" : null,
        },
        s("title", {}, `${row.name}${row.best ? " (best)" : ""}`),
      ),
    );
  }
  axes.forEach((axis, i) => {
    const x = left + i * step;
    svg.appendChild(s("line", { x1: x, x2: x, y1: y(1), y2: y(0), stroke: "#374151" }));
    svg.appendChild(s("text", { x, y: height - 12, "text-anchor": "middle", class: "axis-name" }, axis.key));
    const ticks = axis.numeric
      ? [0, 0.5, 1].map((t) => [t, number(axis.min + t * (axis.max - axis.min))] as const)
      : axis.categories.map((c) => [position(axis, c) ?? 0, c] as const);
    for (const [t, label] of ticks) {
      svg.appendChild(s("text", { x: x - 6, y: y(t) + 4, "text-anchor": "end", class: "tick" }, label));
    }
  });
  return svg;
}
