/** Charts drawn as inline SVG: a histogram with axes, and horizontal bars for top values. */
import { s } from "./dom.ts";
import { count, short } from "./format.ts";

/** Ticks from 0 to a round maximum ≥ `max`, about `n` steps. */
export function niceTicks(max: number, n = 4): number[] {
  if (max <= 0) return [0, 1];
  const raw = max / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / mag;
  const step = Math.max(1, (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * mag);
  const ticks: number[] = [];
  for (let t = 0; t < max + step; t += step) {
    ticks.push(t);
    if (t >= max) break;
  }
  return ticks;
}

export interface HistogramOptions {
  label: string;
  formatEdge: (edge: number | string | null) => string;
}

const W = 360;

/** A histogram: `counts[i]` rows fell in [edges[i], edges[i+1]). */
export function histogramChart(edges: (number | string | null)[], counts: number[], opts: HistogramOptions): SVGSVGElement {
  const H = 190;
  const m = { l: 46, r: 14, t: 10, b: 36 };
  const iw = W - m.l - m.r;
  const ih = H - m.t - m.b;
  const ticks = niceTicks(Math.max(0, ...counts));
  const top = ticks[ticks.length - 1]!;
  const y = (v: number) => m.t + ih - (v / top) * ih;
  const bw = iw / Math.max(1, counts.length);
  const gap = counts.length > 30 ? 0 : 1;

  const grid = ticks.map((t) =>
    s("g", { class: "tick" }, s("line", { x1: m.l, x2: W - m.r, y1: y(t), y2: y(t), class: t === 0 ? "axis" : "gridline" }), s("text", { x: m.l - 6, y: y(t), "text-anchor": "end", "dominant-baseline": "middle" }, short(t))),
  );
  const bars = counts.map((c, i) =>
    s(
      "rect",
      { class: "bar", x: m.l + i * bw + gap / 2, y: y(c), width: Math.max(0.5, bw - gap), height: Math.max(0, m.t + ih - y(c)) },
      s("title", null, `${opts.formatEdge(edges[i] ?? null)} – ${opts.formatEdge(edges[i + 1] ?? null)}: ${count(c)} rows`),
    ),
  );
  // Edge labels at the ends, and the middle one when it fits between them (long datetimes do not).
  const k = counts.length;
  const CHAR = 6.2; // px per character of the 10.5px axis font, a little generous
  const width = (i: number) => opts.formatEdge(edges[i] ?? null).length * CHAR;
  const mid = Math.round(k / 2);
  const midFits = k >= 2 && width(0) + width(mid) / 2 + 8 < mid * bw && width(k) + width(mid) / 2 + 8 < (k - mid) * bw;
  const labelAt = midFits ? [0, mid, k] : [0, k];
  const xLabels = labelAt.map((i, j) =>
    s("g", { class: "x-label" }, s("line", { class: "axis", x1: m.l + i * bw, x2: m.l + i * bw, y1: m.t + ih, y2: m.t + ih + 4 }), s("text", { x: m.l + i * bw, y: m.t + ih + 16, "text-anchor": j === 0 ? "start" : j === labelAt.length - 1 ? "end" : "middle" }, opts.formatEdge(edges[i] ?? null))),
  );

  return s(
    "svg",
    { class: "chart histogram", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": opts.label },
    s("title", null, opts.label),
    grid,
    bars,
    xLabels,
    s("text", { class: "axis-title", x: 12, y: m.t + ih / 2, "text-anchor": "middle", transform: `rotate(-90 12 ${m.t + ih / 2})` }, "rows"),
  );
}

export interface BarItem {
  label: string;
  value: number;
  muted?: boolean;
}

/** Horizontal bars, largest first as given, each labelled and counted; `total` sets the percentages. */
export function barChart(items: BarItem[], total: number, label: string): SVGSVGElement {
  const rowH = 22;
  const labelW = 118;
  const valueW = 84;
  const H = items.length * rowH + 4;
  const max = Math.max(1, ...items.map((i) => i.value));
  const bw = W - labelW - valueW - 8;
  const rows = items.map((it, i) => {
    const yy = 2 + i * rowH;
    const text = it.label.length > 18 ? `${it.label.slice(0, 17)}…` : it.label;
    const share = total > 0 ? (it.value / total) * 100 : null;
    const pct = share === null ? "" : ` · ${share > 0 && share < 1 ? "<1" : Math.round(share)}%`;
    return s(
      "g",
      { class: it.muted ? "bar-row muted" : "bar-row" },
      s("title", null, `${it.label}: ${count(it.value)} rows${pct ? ` (${pct.slice(3)} of all rows)` : ""}`),
      s("text", { class: "bar-label", x: labelW - 8, y: yy + rowH / 2, "text-anchor": "end", "dominant-baseline": "middle" }, text),
      s("rect", { class: "bar-bg", x: labelW, y: yy + 3, width: bw, height: rowH - 6, rx: 2 }),
      s("rect", { class: "bar", x: labelW, y: yy + 3, width: Math.max(it.value > 0 ? 1 : 0, (it.value / max) * bw), height: rowH - 6, rx: 2 }),
      s("text", { class: "bar-value", x: W - 2, y: yy + rowH / 2, "text-anchor": "end", "dominant-baseline": "middle" }, `${short(it.value)}${pct}`),
    );
  });
  return s("svg", { class: "chart bars", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label }, s("title", null, label), rows);
}

export interface SparkInput {
  histogram?: { counts: number[] } | null;
  topValues?: { value: string | null; count: number }[];
  trueCount?: number;
  falseCount?: number;
  nullCount: number;
  count: number;
}

/**
 * A column's distribution in a header, 64×16: histogram bars for numbers and times, a bar of the
 * most frequent values' shares (nulls in red) for text and booleans. `title` says it in words.
 */
export function sparkline(c: SparkInput, title: string): SVGSVGElement | null {
  const Wd = 64;
  const Ht = 16;
  const svg = (kids: SVGElement[]) => s("svg", { class: "spark", viewBox: `0 0 ${Wd} ${Ht}`, width: Wd, height: Ht, role: "img", "aria-label": title }, s("title", null, title), kids);
  const counts = c.histogram?.counts ?? [];
  if (counts.length > 0) {
    const max = Math.max(1, ...counts);
    const bw = Wd / counts.length;
    return svg(counts.map((n, i) => s("rect", { class: "spark-bar", x: i * bw + 0.3, width: Math.max(0.6, bw - 0.6), y: Ht - Math.max(n > 0 ? 1 : 0, (n / max) * Ht), height: Math.max(n > 0 ? 1 : 0, (n / max) * Ht) })));
  }
  const parts: { n: number; cls: string }[] = [];
  if (c.trueCount !== undefined || c.falseCount !== undefined) {
    parts.push({ n: c.trueCount ?? 0, cls: "spark-seg a" }, { n: c.falseCount ?? 0, cls: "spark-seg b" });
  } else if (c.topValues && c.topValues.length > 0) {
    const top = c.topValues.slice(0, 4);
    top.forEach((t, i) => parts.push({ n: t.count, cls: `spark-seg ${i % 2 === 0 ? "a" : "b"}` }));
    const rest = c.count - top.reduce((a, t) => a + t.count, 0);
    if (rest > 0) parts.push({ n: rest, cls: "spark-seg rest" });
  } else {
    return null;
  }
  if (c.nullCount > 0) parts.push({ n: c.nullCount, cls: "spark-seg nulls" });
  const total = parts.reduce((a, p) => a + p.n, 0);
  if (total <= 0) return null;
  let x = 0;
  const segs = parts.map((p) => {
    const w = (p.n / total) * Wd;
    const r = s("rect", { class: p.cls, x, y: 4, width: Math.max(0, w - 0.5), height: Ht - 8 });
    x += w;
    return r;
  });
  return svg(segs);
}
