/** Per-column statistics: figures by type, a histogram or top-values chart for each column. */
import { barChart, histogramChart } from "../charts.ts";
import { h, mount, type Child } from "../dom.ts";
import { count, isBoolean, isNumeric, isString, isTemporal, num, short } from "../format.ts";
import type { ColumnStats, Stats } from "../api.ts";
import { badge, emptyState } from "../ui.ts";

/**
 * A temporal value for an axis: ISO strings are shortened (midnight times dropped); numbers are
 * read as epoch milliseconds, or days for a Date column, in case the server sends them raw.
 */
export function temporalLabel(v: number | string | null, dtype: string): string {
  if (v === null) return "—";
  if (typeof v === "string") return v.replace("T", " ").replace(/(\.\d+)?(Z|[+-]\d\d:?\d\d)?$/, "").replace(/ 00:00(:00)?$/, "");
  const ms = /^Date$/i.test(dtype) ? v * 86_400_000 : v;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(v) : d.toISOString().slice(0, /^Date$/i.test(dtype) ? 10 : 16).replace("T", " ");
}

/**
 * Axis labels for a temporal histogram, as short as its span allows: times of day when every edge
 * is on one day, dates when the bins are a day or wider, else date and minutes.
 */
export function temporalAxis(edges: readonly (number | string | null)[], dtype: string): (e: number | string | null) => string {
  const full = edges.map((e) => temporalLabel(e, dtype));
  const days = new Set(full.map((t) => t.slice(0, 10)));
  const times = full.map((t) => t.slice(11));
  const ms = edges.map((e) => (typeof e === "string" ? Date.parse(e.replace(" ", "T").replace(/(\.\d{3})\d+/, "$1")) : NaN));
  const step = ms.length > 1 && Number.isFinite(ms[0]!) && Number.isFinite(ms[1]!) ? ms[1]! - ms[0]! : NaN;
  return (e) => {
    const t = temporalLabel(e, dtype);
    if (t.length <= 10) return t;
    if (days.size === 1) return t.slice(11, 16);
    if (step >= 86_400_000 || times.every((x) => x === "" || x.startsWith("00:00"))) return t.slice(0, 10);
    return t.slice(0, 16);
  };
}

function pct(part: number, whole: number): string {
  if (whole <= 0) return "";
  const p = (part / whole) * 100;
  return p === 0 ? " (0%)" : p < 0.1 ? " (<0.1%)" : ` (${p < 10 ? p.toFixed(1) : Math.round(p)}%)`;
}

function metric(label: string, value: Child, title?: string, wide = false): HTMLElement[] {
  // A <div> may group a term with its value inside <dl>; it keeps each pair in one grid cell.
  // The tooltip repeats the value, since a narrow card can cut it short.
  return [h("div", { class: wide ? "figure wide" : "figure" }, h("dt", null, label), h("dd", { title: title ?? (typeof value === "string" ? value : null) }, value))];
}

function figures(c: ColumnStats, rows: number): HTMLElement[] {
  const out: HTMLElement[] = [
    ...metric("Values", count(c.count)),
    ...metric("Nulls", c.nullCount > 0 ? `${count(c.nullCount)}${pct(c.nullCount, rows)}` : h("span", { class: "muted" }, "none")),
  ];
  if (c.distinctCount !== undefined && c.distinctCount !== null) out.push(...metric("Distinct", count(c.distinctCount)));
  if (isNumeric(c.dtype)) {
    // Four to a row: counts, then the range, then the quantiles, then the spread.
    out.push(...metric("Zeros", count(c.zeros)));
    out.push(...metric("Min", num(c.min)), ...metric("Median", num(c.median)), ...metric("Mean", num(c.mean)), ...metric("Max", num(c.max)));
    const q = c.quantiles;
    if (q) out.push(...metric("P5", num(q.p05)), ...metric("P25", num(q.p25)), ...metric("P75", num(q.p75)), ...metric("P95", num(q.p95)));
    out.push(...metric("Std dev", num(c.std)));
    if (c.nanCount) out.push(...metric("NaN", count(c.nanCount)));
  } else if (isTemporal(c.dtype)) {
    out.push(...metric("Earliest", temporalLabel(c.min ?? null, c.dtype), undefined, true), ...metric("Latest", temporalLabel(c.max ?? null, c.dtype), undefined, true));
  } else if (isString(c.dtype)) {
    out.push(...metric("Length", c.minLength === null || c.minLength === undefined ? "—" : `${count(c.minLength)} – ${count(c.maxLength)}`), ...metric("Avg length", num(c.meanLength)));
  } else if (isBoolean(c.dtype)) {
    out.push(...metric("True", `${count(c.trueCount)}${pct(c.trueCount ?? 0, rows)}`), ...metric("False", `${count(c.falseCount)}${pct(c.falseCount ?? 0, rows)}`));
  }
  return out;
}

function chart(c: ColumnStats, rows: number): Child {
  if (c.histogram && c.histogram.counts.length > 0) {
    const temporal = isTemporal(c.dtype);
    return h(
      "figure",
      { class: "chart-box" },
      histogramChart(c.histogram.edges, c.histogram.counts, {
        label: `Histogram of ${c.name}`,
        formatEdge: temporal ? temporalAxis(c.histogram.edges, c.dtype) : (e) => (typeof e === "number" ? short(e) : String(e ?? "—")),
      }),
      h("figcaption", null, "Distribution"),
    );
  }
  if (c.topValues && c.topValues.length > 0 && c.topValues.every((t) => t.count === 1)) {
    // Bars of equal height one tall say nothing; say it in words instead.
    return h("div", { class: "chart-empty" }, `Every value appears once${c.distinctCount ? ` (${count(c.distinctCount)} distinct)` : ""}.`);
  }
  if (c.topValues && c.topValues.length > 0) {
    const items = c.topValues.map((t) => ({ label: t.value === null ? "null" : t.value === "" ? "(empty)" : t.value, value: t.count, muted: t.value === null || t.value === "" }));
    return h("figure", { class: "chart-box" }, barChart(items, rows, `Most frequent values of ${c.name}`), h("figcaption", null, c.distinctCount && c.distinctCount > items.length ? `Top ${items.length} of ${count(c.distinctCount)} distinct values` : "Values"));
  }
  if (isBoolean(c.dtype) && (c.trueCount !== undefined || c.falseCount !== undefined)) {
    const items = [{ label: "true", value: c.trueCount ?? 0 }, { label: "false", value: c.falseCount ?? 0 }];
    if (c.nullCount > 0) items.push({ label: "null", value: c.nullCount });
    return h("figure", { class: "chart-box" }, barChart(items, rows, `True and false in ${c.name}`), h("figcaption", null, "Values"));
  }
  return h("div", { class: "chart-empty" }, c.count === 0 ? "No values to chart: every row is null." : "No chart for this type.");
}

function columnCard(c: ColumnStats, rows: number): HTMLElement {
  return h(
    "article",
    { class: "card stat-card", "data-column": c.name },
    h("header", { class: "stat-head" }, h("h3", { class: "stat-name", title: c.name }, c.name), badge(c.dtype, "badge-type")),
    chart(c, rows),
    h("dl", { class: "figures" }, figures(c, rows)),
  );
}

/** Renders `stats` as a grid of column cards with a box to find a column by name. */
export function statsView(stats: Stats, extra?: HTMLElement): HTMLElement {
  const grid = h("div", { class: "stat-grid" });
  const find = h("input", { type: "search", class: "search", placeholder: "Find a column", "aria-label": "Find a column", autocomplete: "off" });
  const show = () => {
    const q = find.value.trim().toLowerCase();
    const cols = q ? stats.columns.filter((c) => c.name.toLowerCase().includes(q)) : stats.columns;
    if (cols.length === 0) mount(grid, emptyState(stats.columns.length === 0 ? "No columns" : `No column matches “${find.value.trim()}”`));
    else mount(grid, cols.map((c) => columnCard(c, stats.rowCount)));
  };
  find.addEventListener("input", show);
  show();
  return h(
    "div",
    { class: "stats-view" },
    h("div", { class: "table-toolbar" }, h("div", { class: "table-summary" }, `Statistics of ${count(stats.columns.length)} columns over ${count(stats.rowCount)} rows`), h("div", { class: "toolbar-actions" }, stats.columns.length > 6 ? find : null, extra ?? null)),
    grid,
  );
}
