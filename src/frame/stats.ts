/**
 * Column statistics per API.md "Statistics", computed with Polars off the event loop.
 *
 * Shape of the computation (why it is linear in cells with a small constant):
 * - every column is renamed to a positional alias `c0, c1, …`, so no user name can ever meet an
 *   internal one (`count`, `len`, `value_counts` fields, …): internal names never look like `c<n>`;
 * - columns are grouped by dtype, and each statistic is ONE expression per dtype over `pl.all()`
 *   of a frame holding only that group's columns, which Polars expands natively. The expressions
 *   never mention a version's columns, so they are built once per process (building one
 *   nodejs-polars Expr costs ~0.5 ms) and the JavaScript work per request is a few calls per group;
 * - histograms and top values are computed in the same select from the column's own min/max
 *   and value counts, so each column is read once (one select per dtype group, on disjoint
 *   columns, run concurrently, plus one for the row and null counts);
 * - frames with many columns and few rows ("wide") are unpivoted per group to long form and grouped
 *   by column instead: Polars' planning of a select costs per expanded expression, the long form
 *   per cell, and for short frames the latter is far cheaper. Both layouts use the same expression
 *   builders and give the same numbers (the generative suite checks that).
 *
 * Conventions (the contract leaves them open; also in the README):
 * - `count` = non-null values (NaN included); `distinctCount` = distinct non-null values.
 * - NaN is not a number: float statistics (min, max, mean, std, median, quantiles, zeros,
 *   histogram) leave it out and `nanCount` reports it; ±Infinity takes part except in histograms;
 *   any result that is NaN/±Infinity is `null` in JSON.
 * - `std` is the sample standard deviation (ddof 1); `median` and `quantiles` interpolate linearly.
 * - Int64/UInt64 `min`/`max` beyond ±2^53 are strings; Decimal `min`/`max` are strings (exact),
 *   their other statistics are computed in Float64.
 * - Histograms: numeric columns get 20 equal-width bins between the finite min and max, each bin
 *   `[edge_i, edge_i+1)` except the last, which is closed; integer columns get whole-number bins
 *   (a range of 1..3 gets one bin per value); NaN and ±Infinity are not binned; a constant column
 *   gets one bin `[v, v]`. Temporal columns get at most 20 bins of a whole number of time units
 *   (days for Date), edges rendered like page values. No values → `histogram: null`.
 * - `topValues`: at most 10, most frequent first, ties broken by value (ascending, bytewise).
 * - Categorical columns are treated as strings. List, Struct, Binary, Time, Duration and other
 *   types: `count`, `nullCount` and (except nested types) `distinctCount`; Time also `min`/`max`.
 */
import pl from "nodejs-polars";
import type { Version } from "../types.ts";
import { datetimeFormat, TEMPORAL_FORMATS, TIME_FORMAT } from "./json.ts";
import { cached } from "./exprcache.ts";
import { filtered, schemaOf } from "./plan.ts";
import type { FrameSchema } from "./plan.ts";
import type { Filter } from "./query.ts";
import { frameSeries, nativeSeries } from "./safe.ts";

export interface Histogram {
  edges: (number | string | null)[];
  counts: number[];
}

export interface TopValue {
  value: string;
  count: number;
}

export interface ColumnStats {
  name: string;
  dtype: string;
  count: number;
  nullCount: number;
  distinctCount: number | null;
  min?: number | string | null;
  max?: number | string | null;
  mean?: number | null;
  std?: number | null;
  median?: number | null;
  quantiles?: { p05: number | null; p25: number | null; p75: number | null; p95: number | null };
  histogram?: Histogram | null;
  zeros?: number;
  nanCount?: number;
  minLength?: number | null;
  maxLength?: number | null;
  meanLength?: number | null;
  topValues?: TopValue[];
  trueCount?: number;
  falseCount?: number;
}

export interface VersionStats {
  /** Rows in the (filtered) version. */
  rowCount: number;
  columns: ColumnStats[];
}

/** How the frame is laid out for the aggregation (see the module comment); tests force either. */
export type StatsLayout = "wide" | "long";

export interface StatsOptions {
  layout?: StatsLayout;
}

export const HISTOGRAM_BINS = 20;
export const TOP_VALUES = 10;
const EXACT_LIMIT = 2n ** 53n;
/** Long layout when a frame has at least this many columns and at most this many rows. */
const LONG_MIN_COLUMNS = 32;
const LONG_MAX_ROWS = 4096;

type Kind = "int" | "float" | "decimal" | "string" | "bool" | "temporal" | "time" | "nested" | "other";

function variantOf(dt: pl.DataType): string {
  return (dt as unknown as { variant: string }).variant;
}

function kindOf(dt: pl.DataType): Kind {
  const v = variantOf(dt);
  if (/^U?Int(8|16|32|64)$/.test(v)) return "int";
  if (v === "Float32" || v === "Float64") return "float";
  if (v === "Decimal") return "decimal";
  if (v === "Utf8" || v === "String" || v === "Categorical" || v === "Enum") return "string";
  if (v === "Bool") return "bool";
  if (v === "Date" || v === "Datetime") return "temporal";
  if (v === "Time") return "time";
  if (v === "List" || v === "FixedSizeList" || v === "Struct" || v === "Array") return "nested";
  return "other";
}

/** One statistic: its key and its expression over the column's values `v`. */
interface Stat {
  key: string;
  /** Built the same for a plain select (one row) and a group-by over long form. */
  build(v: pl.Expr): pl.Expr;
}

const stat = (key: string, build: (v: pl.Expr) => pl.Expr): Stat => ({ key, build });

/** Counts per bin index `idx`, as a list of `{b, n}` structs (one value per column in either context). */
function binCounts(idx: pl.Expr): pl.Expr {
  return idx.clip(0, HISTOGRAM_BINS - 1).cast(pl.Int32).valueCounts(false, false, "n").struct.renameFields(["b", "n"]).implode();
}

const QUANTILES = [
  ["p05", 0.05],
  ["p25", 0.25],
  ["p75", 0.75],
  ["p95", 0.95],
] as const;

/** The order statistics read from one sorted copy of a column: median, quantiles, distinct. */
const ORDER_KEYS = ["median", ...QUANTILES.map(([name]) => name), "sortedDistinct"] as const;

/**
 * Median, the four quantiles and the count of distinct values from ONE sort of the values `m`
 * (nulls dropped): Polars sorts per `quantile` call otherwise (five sorts per column). Inside
 * `lst.eval` the element is the sorted list, so each quantile reads it as sorted; the values are
 * the same as `m.quantile(q, "linear")`. Distinct = positions where a value differs from the one
 * before (IEEE equality: -0.0 equals 0.0 and ±Infinity equals itself, as `nUnique` counts).
 * One list per column: [median, p05, p25, p75, p95, distinct].
 */
function orderStats(m: pl.Expr): pl.Expr {
  const e = pl.element();
  const distinct = e.neq(e.shift(1)).sum().add(e.count().gt(pl.lit(0)).cast(pl.UInt32)).cast(pl.Float64);
  const quantiles = [0.5, ...QUANTILES.map(([, q]) => q)].map((q) => e.quantile(q, "linear"));
  return m.dropNulls().sort().implode().lst.eval(pl.concatList([...quantiles, distinct]).explode());
}

/**
 * The statistics of one dtype. Every expression is a function of the column's values only, so it
 * is built once per dtype group and expanded over the group's columns by Polars.
 */
function statsFor(kind: Kind, dt: pl.DataType): Stat[] {
  const out: Stat[] = [];
  // floats: distinct comes from the sorted copy (orderStats); integers keep the exact native count
  // (their sorted copy is Float64, which merges integers past 2^53)
  if (kind !== "nested" && kind !== "string" && kind !== "float") out.push(stat("distinct", (v) => v.dropNulls().nUnique()));
  switch (kind) {
    case "int":
    case "float":
    case "decimal": {
      // m: the values the moments are computed on (NaN left out, decimals and integers as Float64)
      const m = (v: pl.Expr) => (kind === "float" ? v.filter(v.isNotNan()).cast(pl.Float64) : v.cast(pl.Float64));
      // h: the values a histogram bins (finite only)
      const h = (v: pl.Expr) => (kind === "float" ? v.filter(v.isFinite()).cast(pl.Float64) : v.cast(pl.Float64).dropNulls());
      if (kind === "float") {
        out.push(stat("min", (v) => m(v).min()), stat("max", (v) => m(v).max()), stat("nanCount", (v) => v.isNan().sum()));
      } else {
        // through text: exact for Int64/UInt64 beyond 2^53 and for decimals
        out.push(stat("min", (v) => v.min().cast(pl.Utf8)), stat("max", (v) => v.max().cast(pl.Utf8)));
      }
      out.push(
        stat("mean", (v) => m(v).mean()),
        stat("std", (v) => m(v).std()),
        ...(kind === "decimal" ? [stat("median", (v) => m(v).median()), ...QUANTILES.map(([name, q]) => stat(name, (v) => m(v).quantile(q, "linear")))] : [stat("order", (v) => orderStats(m(v)))]),
        stat("zeros", (v) => m(v).eq(pl.lit(0)).sum()),
        stat("hmin", (v) => h(v).min()),
        stat("hmax", (v) => h(v).max()),
        stat("hcount", (v) => h(v).count()),
        stat("hwidth", (v) => numericWidth(h(v), kind === "int")),
        ...(kind === "int" ? [stat("hbins", (v) => integerBins(h(v)))] : []),
        stat("hist", (v) => {
          const x = h(v);
          const w = numericWidth(x, kind === "int");
          // a constant column has width 0: its one bin is made in JS, the counts here are unused
          const safe = pl.when(w.gt(pl.lit(0))).then(w).otherwise(pl.lit(1));
          return binCounts(x.sub(x.min()).div(safe).floor());
        }),
      );
      break;
    }
    case "string": {
      const s = (v: pl.Expr) => v.cast(pl.Utf8);
      const len = (v: pl.Expr) => s(v).str.lengths();
      out.push(
        stat("minLength", (v) => len(v).min()),
        stat("maxLength", (v) => len(v).max()),
        stat("meanLength", (v) => len(v).mean()),
        stat("top", (v) => topValues(s(v))),
      );
      break;
    }
    case "bool":
      out.push(stat("trueCount", (v) => v.sum()));
      break;
    case "temporal": {
      const fmt = variantOf(dt) === "Date" ? TEMPORAL_FORMATS.date : datetimeFormat(dt);
      out.push(
        stat("min", (v) => v.min().dt.strftime(fmt)),
        stat("max", (v) => v.max().dt.strftime(fmt)),
        stat("pmin", (v) => physical(v).min().cast(pl.Utf8)),
        stat("pmax", (v) => physical(v).max().cast(pl.Utf8)),
        // Int64 bins; columns whose span is too wide for them are binned again in Decimal (decimalTemporal)
        ...temporalStats(INT64_ARITH),
      );
      break;
    }
    case "time":
      out.push(stat("min", (v) => v.min().dt.strftime(TIME_FORMAT)), stat("max", (v) => v.max().dt.strftime(TIME_FORMAT)));
      break;
    default:
      break;
  }
  return out;
}

/**
 * The most frequent values of a string column and its distinct count, from one `valueCounts`:
 * a list of (−count, value) structs, most frequent first, ties by value (ascending), at most
 * TOP_VALUES, followed by ONE entry {k: distinct count, v: ""} (read off by `unpackTop`).
 * Sorting every (count, value) pair is what a high-cardinality column cannot afford (a million
 * distinct ids), so the pairs are cut first: t = the TOP_VALUES-th largest count; fewer than
 * TOP_VALUES values have a count above t (sorted in full), and of those at t only the smallest
 * values are needed (one sort of plain strings, no structs).
 * Built per element of the imploded counts: a struct over an expanded multi-column expression
 * would merge the columns.
 */
function topValues(v: pl.Expr): pl.Expr {
  const counts = v.dropNulls().valueCounts(false, false, "n").struct.renameFields(["v", "n"]);
  const e = pl.element();
  const n = e.struct.field("n");
  const value = e.struct.field("v");
  const t = n.sort(true).head(TOP_VALUES).min();
  const above = pl.struct([n.mul(pl.lit(-1)).alias("k"), value.alias("v")]).filter(n.gt(t)).sort().implode();
  const atT = pl.struct([t.mul(pl.lit(-1)).alias("k"), value.filter(n.eq(t)).sort().head(TOP_VALUES).alias("v")]).implode();
  const distinct = pl.struct([e.count().cast(pl.Int64).alias("k"), pl.lit("").alias("v")]).implode();
  const top = pl.concatList([above, atT]).explode().head(TOP_VALUES).implode();
  return counts.implode().lst.eval(pl.concatList([top, distinct]).explode());
}

/**
 * Bin width of a numeric histogram over finite values `x`: (max - min) / 20, or for integers a
 * whole number ≥ 1 so that every bin holds the same count of possible values.
 */
function numericWidth(x: pl.Expr, integral: boolean): pl.Expr {
  const range = x.max().sub(x.min());
  // a range past the largest double (−1e308 … 1e308) is computed from the twentieths instead
  const even = pl.when(range.isFinite()).then(range.div(pl.lit(HISTOGRAM_BINS))).otherwise(x.max().div(pl.lit(HISTOGRAM_BINS)).sub(x.min().div(pl.lit(HISTOGRAM_BINS))));
  if (!integral) return even;
  const w = range.add(pl.lit(1)).div(pl.lit(HISTOGRAM_BINS)).ceil().clip(1, Number.MAX_VALUE);
  return pl.when(range.lt(pl.lit(Number.MAX_SAFE_INTEGER))).then(w).otherwise(even);
}

/** Number of whole-number bins of an integer histogram (20 or fewer; float histograms have 20). */
function integerBins(x: pl.Expr): pl.Expr {
  const range = x.max().sub(x.min());
  return range.add(pl.lit(1)).div(numericWidth(x, true)).ceil();
}

/**
 * Exact integer arithmetic for temporal bins, in one of two types. Int64 is fast and exact while
 * the column's span (max − min of the physical values) is below 2^62: every intermediate below
 * stays under 21/20 of the span. Decimal(38, 0) is exact for any span (1677 to 2262 in ns is
 * 1.8·10^19, past Int64) but several times slower, so it is only used for the columns whose span
 * the first pass found too wide (`wideSpanColumns`).
 */
interface TemporalArith {
  /** Physical Int64 values in this type. */
  of(x: pl.Expr): pl.Expr;
  /** An integer-valued float (an estimate) in this type. */
  fromFloat(x: pl.Expr): pl.Expr;
  lit(n: number): pl.Expr;
}

const INT64_ARITH: TemporalArith = { of: (x) => x, fromFloat: (x) => x.cast(pl.Int64), lit: (n) => pl.lit(n).cast(pl.Int64) };
const DECIMAL_ARITH: TemporalArith = {
  of: (x) => x.cast(pl.Decimal(38, 0)),
  fromFloat: (x) => x.cast(pl.Int64).cast(pl.Decimal(38, 0)),
  lit: (n) => pl.lit(n).cast(pl.Decimal(38, 0)),
};
/** Spans from here on take the Decimal path. */
const INT64_SPAN_LIMIT = 2n ** 62n;

/**
 * Bin width of a temporal histogram over physical values `x` (already in `t`'s type): the least
 * whole number of units w ≥ 1 with 20·w ≥ max − min, exactly.
 */
function temporalWidth(x: pl.Expr, t: TemporalArith): pl.Expr {
  const span = x.max().sub(x.min());
  // ceil(span / 20) = q + ceil((span − 20·q) / 20) for any q; with q the float estimate the
  // remainder is small, so its float division is exact (in either direction)
  const estimate = t.fromFloat(span.cast(pl.Float64).div(pl.lit(HISTOGRAM_BINS)).ceil());
  const remainder = span.sub(estimate.mul(t.lit(HISTOGRAM_BINS)));
  const exact = estimate.add(t.fromFloat(remainder.cast(pl.Float64).div(pl.lit(HISTOGRAM_BINS)).ceil()));
  return pl.when(exact.gtEq(t.lit(1))).then(exact).otherwise(t.lit(1));
}

/** The bin of each value: floor((x − min) / w), from a float estimate corrected exactly by ±1. */
function temporalBin(x: pl.Expr, t: TemporalArith): pl.Expr {
  const w = temporalWidth(x, t);
  const d = x.sub(x.min());
  const m0 = t.fromFloat(d.cast(pl.Float64).div(w.cast(pl.Float64)).floor().clip(0, HISTOGRAM_BINS));
  const one = t.lit(1);
  return pl
    .when(m0.mul(w).gt(d))
    .then(m0.sub(one))
    .when(m0.add(one).mul(w).ltEq(d))
    .then(m0.add(one))
    .otherwise(m0)
    .cast(pl.Float64);
}

/** Physical temporal values, nulls dropped. */
const physical = (v: pl.Expr) => v.cast(pl.Int64).dropNulls();

/** The width and the bins of a temporal histogram in arithmetic `t`. */
const temporalStats = (t: TemporalArith): Stat[] => [
  stat("twidth", (v) => temporalWidth(t.of(physical(v)), t).cast(pl.Utf8)),
  stat("hist", (v) => binCounts(temporalBin(t.of(physical(v)), t))),
];

/** Temporal columns whose span the Int64 pass cannot bin exactly (far-apart or extreme values). */
function wideSpanColumns(schema: FrameSchema, results: Results): number[] {
  const out: number[] = [];
  schema.dtypes.forEach((dt, i) => {
    if (kindOf(dt) !== "temporal") return;
    const lo = results.get("pmin", i);
    const hi = results.get("pmax", i);
    if (typeof lo === "string" && typeof hi === "string" && BigInt(hi) - BigInt(lo) >= INT64_SPAN_LIMIT) out.push(i);
  });
  return out;
}

/** Recomputes the histogram of `indexes` (wide-span temporal columns) in Decimal(38, 0), one select. */
async function decimalTemporal(rows: pl.LazyDataFrame, indexes: number[], results: Results): Promise<void> {
  if (indexes.length === 0) return;
  await wideGroup(rows, { indexes, stats: temporalStats(DECIMAL_ARITH) }, "\u0000decimal-temporal", results);
}

/** A JSON-representable number, or null for NaN/±Infinity/missing. */
function num(x: unknown): number | null {
  if (x === null || x === undefined) return null;
  const n = Number(x);
  return Number.isFinite(n) ? n : null;
}

/** An exact integer from its text: a number within ±2^53, else the text. */
function exactInt(text: unknown): number | string | null {
  if (typeof text !== "string") return null;
  const b = BigInt(text);
  return b > EXACT_LIMIT || b < -EXACT_LIMIT ? text : Number(b);
}

/** A dtype group: columns (by index) of one dtype, and the statistics they all get. */
interface Group {
  indexes: number[];
  stats: Stat[];
}

/** The positional alias of column `i`: no internal name has this form. */
const ref = (i: number) => `c${i}`;

/** Result values by (statistic, column index). */
class Results {
  readonly #values = new Map<string, unknown>();
  set(key: string, i: number, value: unknown): void {
    this.#values.set(`${key}\u0000${i}`, value);
  }
  get(key: string, i: number): unknown {
    return this.#values.get(`${key}\u0000${i}`);
  }
}

function groupsOf(schema: FrameSchema): Group[] {
  const byType = new Map<string, number[]>();
  schema.dtypeNames.forEach((name, i) => {
    const list = byType.get(name);
    if (list) list.push(i);
    else byType.set(name, [i]);
  });
  return [...byType.values()].map((indexes) => {
    const dt = schema.dtypes[indexes[0] as number] as pl.DataType;
    return { indexes, stats: statsFor(kindOf(dt), dt) };
  });
}

/**
 * The built expressions of a dtype group, cached by dtype name: they are rooted in `pl.all()`
 * (wide: over a frame holding only the group's columns) or in the long form's `value`, never in
 * a version's column names, so they are built once per process (each nodejs-polars Expr costs
 * ~0.5 ms to build, and a statistic is tens of them).
 */
function groupExprs(layout: StatsLayout, dtypeName: string, stats: Stat[]): pl.Expr[] {
  // wide: each statistic packed into one struct with a field per column (named by its alias), so
  // the answer reaches JS as one value per statistic, not one Series per (statistic, column)
  return stats.map((s, k) =>
    cached(`stats\u0000${layout}\u0000${dtypeName}\u0000${s.key}`, () => (layout === "wide" ? pl.struct([s.build(pl.all())]) : s.build(pl.col("value"))).alias(`s${k}`)),
  );
}

const COUNTS = () => [
  cached("stats\u0000rows", () => pl.len().alias("rows")),
  cached("stats\u0000count", () => pl.struct([pl.all().count()]).alias("count")),
  cached("stats\u0000nulls", () => pl.struct([pl.all().nullCount()]).alias("nullCount")),
];

/** The single value of each column of a one-row result, by name. */
function oneRow(df: pl.DataFrame): Map<string, unknown> {
  return new Map(nativeSeries(df).map((s) => [s.name, s.toArray()[0]]));
}

/** Row count and per-column count/nullCount, in one select over every column. */
async function counts(rows: pl.LazyDataFrame, width: number, results: Results): Promise<number> {
  const row = oneRow(await rows.select(COUNTS()).collect());
  const count = (row.get("count") ?? {}) as Record<string, unknown>;
  const nulls = (row.get("nullCount") ?? {}) as Record<string, unknown>;
  for (let i = 0; i < width; i++) {
    results.set("count", i, count[ref(i)]);
    results.set("nullCount", i, nulls[ref(i)]);
  }
  return Number(row.get("rows") ?? 0);
}

/** Per group: one select over the group's columns, every statistic expanded over them by Polars. */
async function wideGroup(rows: pl.LazyDataFrame, g: Group, dtypeName: string, results: Results): Promise<void> {
  const row = oneRow(await rows.select(pl.col(g.indexes.map(ref))).select(groupExprs("wide", dtypeName, g.stats)).collect());
  g.stats.forEach((s, k) => {
    const fields = (row.get(`s${k}`) ?? {}) as Record<string, unknown>;
    for (const i of g.indexes) results.set(s.key, i, fields[ref(i)]);
  });
}

/** Per group: unpivot to (column, value) and aggregate by column. */
async function longGroup(rows: pl.LazyDataFrame, g: Group, dtypeName: string, results: Results): Promise<void> {
  const refs = g.indexes.map(ref);
  const out = await rows
    .select(pl.col(refs))
    .unpivot([], refs, { variableName: "variable", valueName: "value" })
    .groupBy("variable")
    .agg(...groupExprs("long", dtypeName, g.stats))
    .collect();
  const [variable, ...columns] = nativeSeries(out).map((s) => s.toArray());
  (variable ?? []).forEach((name, row) => {
    const i = Number(String(name).slice(1));
    g.stats.forEach((s, k) => results.set(s.key, i, columns[k]?.[row]));
  });
}

/** Every statistic of every column: counts in one select, each dtype group in its own (concurrently). */
async function aggregates(rows: pl.LazyDataFrame, schema: FrameSchema, groups: Group[], layout: StatsLayout, results: Results): Promise<number> {
  const perGroup = groups
    .filter((g) => g.stats.length > 0)
    .map((g) => (layout === "long" ? longGroup : wideGroup)(rows, g, schema.dtypeNames[g.indexes[0] as number] ?? "", results));
  const [rowCount] = await Promise.all([counts(rows, schema.names.length, results), ...perGroup]);
  return rowCount;
}

/** The values of a list result (a JS array, or a Series in some nodejs-polars paths). */
function listValues(x: unknown): unknown[] {
  if (Array.isArray(x)) return x;
  const series = x as { toArray?: () => unknown[] } | null;
  return typeof series?.toArray === "function" ? series.toArray() : [];
}

/** Splits each string column's `top` list (topValues) into its top values and its distinct count (the last entry). */
function unpackTop(results: Results, width: number): void {
  for (let i = 0; i < width; i++) {
    const top = results.get("top", i);
    if (top === undefined) continue;
    const entries = listValues(top) as { k: unknown; v: unknown }[];
    results.set("distinct", i, Number(entries.at(-1)?.k ?? 0));
    // a column without values gives one null entry (the tied-values struct broadcast over nothing)
    results.set("top", i, entries.slice(0, -1).filter((e) => e.v !== null && e.v !== undefined));
  }
}

/** Spreads each column's `order` list (orderStats) into its statistics; a float's NaN counts as one more distinct value. */
function unpackOrder(results: Results, width: number): void {
  for (let i = 0; i < width; i++) {
    const order = results.get("order", i);
    if (order === undefined) continue;
    const values = listValues(order);
    ORDER_KEYS.forEach((key, k) => results.set(key, i, values[k] ?? null));
    if (results.get("distinct", i) === undefined) {
      const nan = Number(results.get("nanCount", i) ?? 0);
      results.set("distinct", i, Number(values[ORDER_KEYS.indexOf("sortedDistinct")] ?? 0) + (nan > 0 ? 1 : 0));
    }
  }
}

/** Bin counts from the `{b, n}` list of a histogram aggregate; indexes past `bins` fold into the last. */
function countsOf(list: unknown, bins: number): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (const r of (list ?? []) as { b: number | null; n: number | bigint }[]) {
    if (r.b === null || r.b === undefined) continue;
    const bin = Math.min(bins - 1, Math.max(0, Number(r.b)));
    counts[bin] = (counts[bin] ?? 0) + Number(r.n);
  }
  return counts;
}

function numericHistogram(results: Results, i: number, integral: boolean): Histogram | null {
  const lo = num(results.get("hmin", i));
  const hi = num(results.get("hmax", i));
  const n = Number(results.get("hcount", i) ?? 0);
  if (lo === null || hi === null || n === 0) return null;
  if (lo === hi) return { edges: [lo, hi], counts: [n] };
  const w = Number(results.get("hwidth", i));
  const whole = integral && hi - lo < Number.MAX_SAFE_INTEGER;
  const bins = whole ? Number(results.get("hbins", i)) : HISTOGRAM_BINS;
  // Float bins: the first and last edges are the min and max themselves (lo + 20·w can round
  // past the max), inner edges are shown to 12 significant digits (1.7, not 1.7000000000000002).
  const edges = Array.from({ length: bins + 1 }, (_, k) => (whole || k === 0 ? lo + k * w : k === bins ? hi : Number((lo + k * w).toPrecision(12))));
  return { edges, counts: countsOf(results.get("hist", i), bins) };
}

/** A temporal histogram with its edges as physical values (formatted afterwards, per dtype). */
function temporalHistogram(results: Results, i: number, count: number): { edges: bigint[]; counts: number[] } | null {
  const pmin = results.get("pmin", i);
  const pmax = results.get("pmax", i);
  if (typeof pmin !== "string" || typeof pmax !== "string" || count === 0) return null;
  const lo = BigInt(pmin);
  const hi = BigInt(pmax);
  if (lo === hi) return { edges: [lo, hi], counts: [count] };
  const w = BigInt(String(results.get("twidth", i)));
  const bins = Number((hi - lo + w - 1n) / w);
  return { edges: Array.from({ length: bins + 1 }, (_, k) => lo + BigInt(k) * w), counts: countsOf(results.get("hist", i), bins) };
}

/** Temporal edges (physical integers) rendered like page values: one Polars call per dtype. */
async function formatEdges(edges: bigint[], dt: pl.DataType): Promise<string[]> {
  if (edges.length === 0) return [];
  const isDate = variantOf(dt) === "Date";
  const physical = pl.Series("e", edges.map(String), pl.Utf8).cast(pl.Int64);
  const typed = isDate ? physical.cast(pl.Int32).cast(pl.Date) : physical.cast(dt);
  const out = await pl
    .DataFrame([typed])
    .lazy()
    .select(pl.col("e").dt.strftime(isDate ? TEMPORAL_FORMATS.date : datetimeFormat(dt)))
    .collect();
  return (frameSeries(out)[0]?.toArray() ?? []) as string[];
}

function layoutFor(options: StatsOptions, width: number, rowsAtMost: number): StatsLayout {
  if (options.layout) return options.layout;
  return width >= LONG_MIN_COLUMNS && rowsAtMost <= LONG_MAX_ROWS ? "long" : "wide";
}

/**
 * Statistics of a version, or of the rows matching `filters` (from `parseFilters`). Never blocks
 * the event loop on data work; the result is JSON-ready.
 */
export async function computeStats(lf: pl.LazyDataFrame, version: Version, filters?: Filter[], options: StatsOptions = {}): Promise<VersionStats> {
  const schema: FrameSchema = await schemaOf(lf, version);
  const width = schema.names.length;
  // positional aliases for every column (rename takes names literally, in one call)
  const rows = filtered(lf, schema, filters).rename(Object.fromEntries(schema.refs.map((r, i) => [r, ref(i)])));
  const groups = groupsOf(schema);
  const results = new Results();
  const layout = layoutFor(options, width, version.rowCount);
  const rowCount = width === 0 ? version.rowCount : await aggregates(rows, schema, groups, layout, results);
  unpackOrder(results, width);
  unpackTop(results, width);
  await decimalTemporal(rows, wideSpanColumns(schema, results), results);

  // temporal edges: collected per dtype, formatted in one call each
  const temporal = new Map<string, { dt: pl.DataType; edges: bigint[]; owners: { h: Histogram; from: number; n: number }[] }>();
  const histogramOf = (i: number, kind: Kind, count: number): Histogram | null => {
    if (kind !== "temporal") return numericHistogram(results, i, kind === "int");
    const t = temporalHistogram(results, i, count);
    if (!t) return null;
    const name = schema.dtypeNames[i] ?? "";
    const entry = temporal.get(name) ?? { dt: schema.dtypes[i] as pl.DataType, edges: [], owners: [] };
    temporal.set(name, entry);
    const h: Histogram = { edges: [], counts: t.counts };
    entry.owners.push({ h, from: entry.edges.length, n: t.edges.length });
    entry.edges.push(...t.edges);
    return h;
  };

  const columns = schema.names.map((name, i): ColumnStats => {
    const dt = schema.dtypes[i] as pl.DataType;
    const get = (key: string) => results.get(key, i);
    const kind = kindOf(dt);
    const count = Number(get("count") ?? 0);
    const base: ColumnStats = {
      name,
      dtype: schema.dtypeNames[i] ?? "",
      count,
      nullCount: Number(get("nullCount") ?? 0),
      distinctCount: kind === "nested" ? null : Number(get("distinct") ?? 0),
    };
    switch (kind) {
      case "int":
      case "float":
      case "decimal":
        return {
          ...base,
          min: kind === "float" ? num(get("min")) : kind === "int" ? exactInt(get("min")) : ((get("min") as string | null) ?? null),
          max: kind === "float" ? num(get("max")) : kind === "int" ? exactInt(get("max")) : ((get("max") as string | null) ?? null),
          mean: num(get("mean")),
          std: num(get("std")),
          median: num(get("median")),
          quantiles: { p05: num(get("p05")), p25: num(get("p25")), p75: num(get("p75")), p95: num(get("p95")) },
          histogram: histogramOf(i, kind, count),
          zeros: Number(get("zeros") ?? 0),
          ...(kind === "float" ? { nanCount: Number(get("nanCount") ?? 0) } : {}),
        };
      case "string":
        return {
          ...base,
          minLength: num(get("minLength")),
          maxLength: num(get("maxLength")),
          meanLength: num(get("meanLength")),
          topValues: ((get("top") ?? []) as { k: unknown; v: unknown }[]).map((t) => ({ value: String(t.v), count: -Number(t.k) })),
        };
      case "bool": {
        const trueCount = Number(get("trueCount") ?? 0);
        return { ...base, trueCount, falseCount: count - trueCount };
      }
      case "temporal":
        return { ...base, min: (get("min") as string | null) ?? null, max: (get("max") as string | null) ?? null, histogram: histogramOf(i, kind, count) };
      case "time":
        return { ...base, min: (get("min") as string | null) ?? null, max: (get("max") as string | null) ?? null };
      default:
        return base;
    }
  });
  for (const { dt, edges, owners } of temporal.values()) {
    const text = await formatEdges(edges, dt);
    for (const o of owners) o.h.edges = text.slice(o.from, o.from + o.n);
  }
  return { rowCount, columns };
}
