// How times, sizes and numbers read on the page.

export function age(time: string | null | undefined, now = Date.now()): string {
  if (!time) return "";
  const t = Date.parse(time);
  if (Number.isNaN(t)) return "";
  return duration(Math.max(0, now - t));
}

export function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60 ? `${s % 60}s` : ""}`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h${m % 60 ? `${m % 60}m` : ""}`;
  return `${Math.floor(hours / 24)}d`;
}

export function between(start: string | null | undefined, end: string | null | undefined): string {
  if (!start) return "";
  const a = Date.parse(start);
  const b = end ? Date.parse(end) : Date.now();
  return Number.isNaN(a) || Number.isNaN(b) ? "" : duration(Math.max(0, b - a));
}

export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

export function number(v: unknown): string {
  if (typeof v !== "number" || !Number.isFinite(v)) return v === null || v === undefined ? "" : String(v);
  if (Number.isInteger(v)) return String(v);
  const abs = Math.abs(v);
  return abs !== 0 && (abs < 1e-3 || abs >= 1e6) ? v.toExponential(3) : v.toPrecision(4).replace(/\.?0+$/, "");
}

export function params(p: Record<string, unknown> | undefined): string {
  if (!p) return "";
  return Object.entries(p)
    .map(([k, v]) => `${k}=${typeof v === "number" ? number(v) : String(v)}`)
    .join(" ");
}
