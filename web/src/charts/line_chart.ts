// Metric histories as line charts (uPlot: canvas, fast with tens of thousands of
// points). One chart per metric, one series per replica; x is the step (epoch),
// or the time in seconds since the epoch for a chart made with `time` (a
// service's traffic).
import uPlot from "uplot";
import { h } from "../dom";

export interface Series {
  label: string;
  points: { x: number; y: number }[];
}

const palette = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];

// uPlot wants one x array shared by all series: the union of their steps, with
// gaps (null) where a series has no point.
function aligned(series: Series[]): uPlot.AlignedData {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p.x)))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const y: (number | null)[] = new Array(xs.length).fill(null);
    for (const p of s.points) y[index.get(p.x)!] = p.y;
    return y;
  });
  return [xs, ...ys] as uPlot.AlignedData;
}

export class LineChart {
  readonly element: HTMLElement;
  private plot: uPlot | null = null;
  private labels = "";

  constructor(
    readonly title: string,
    private readonly xLabel = "step",
    private readonly time = false,
  ) {
    this.element = h("figure", { class: "chart", "data-chart": title }, h("figcaption", {}, title));
  }

  // Draws `series`; the same series names again only update the data. `xRange`
  // fixes the x axis (a time window) instead of fitting it to the points.
  update(series: Series[], xRange?: [number, number]): void {
    const labels = series.map((s) => s.label).join("\u0000");
    const data = aligned(series);
    if (this.plot && labels === this.labels) {
      this.plot.setData(data);
      if (xRange) this.plot.setScale("x", { min: xRange[0], max: xRange[1] });
      return;
    }
    this.plot?.destroy();
    this.labels = labels;
    const width = Math.max(320, Math.min(720, (this.element.parentElement?.clientWidth ?? 720) - 16));
    this.plot = new uPlot(
      {
        width,
        height: 240,
        scales: { x: { time: this.time } },
        axes: [{ label: this.xLabel }, {}],
        series: [
          { label: this.xLabel },
          ...series.map((s, i) => ({ label: s.label, stroke: palette[i % palette.length], width: 2, spanGaps: true })),
        ],
      },
      data,
      this.element,
    );
    if (xRange) this.plot.setScale("x", { min: xRange[0], max: xRange[1] });
  }

  destroy(): void {
    this.plot?.destroy();
    this.plot = null;
  }
}
