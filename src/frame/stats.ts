/**
 * Column statistics per API.md "Statistics", computed with Polars expressions off the event loop:
 * one lazy pass for every scalar aggregate of every column, then one pass for all histograms run
 * concurrently with one small group-by per string column for its top values.
 *
 * Conventions (documented here because the contract leaves them open):
 * - `count` = non-null values; `distinctCount` = distinct non-null values (NaN counts as a value).
 * - Float statistics (min, max, mean, std, median, quantiles) ignore NaN, which `nanCount`
 *   reports; ±Infinity takes part, and any result that is NaN/±Infinity is `null` in JSON.
 * - `std` is the sample standard deviation (ddof 1); `median` and `quantiles` use linear
 *   interpolation between the closest ranks.
 * - Int64/UInt64 `min`/`max` beyond ±2^53 are strings; Decimal `min`/`max` are strings (exact),
 *   their other statistics are computed in Float64.
 * - Histograms: numeric columns get 20 equal-width bins between the finite min and max, each bin
 *   `[edge_i, edge_i+1)` except the last, which is closed; NaN and ±Infinity are not binned; a
 *   constant column gets one bin `[v, v]`. Temporal columns get at most 20 bins of a whole
 *   number of time units (days for Date), edges serialised like page values; the last bin is
 *   closed. No values → `histogram: null`.
 * - `topValues`: at most 10, most frequent first, ties broken by value (ascending, bytewise).
 * - Categorical columns are treated as strings. List, Struct, Time, Duration, Binary: only
 *   `count`, `nullCount` and (except nested types) `distinctCount`.
 */
import pl from "nodejs-polars";
import type { Version } from "../types.ts";
import { datetimeFormat, TEMPORAL_FORMATS } from "./json.ts";
import { cached, colExpr } from "./exprcache.ts";
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

export const HISTOGRAM_BINS = 20;
export const TOP_VALUES = 10;
const EXACT_LIMIT = 2n ** 53n;

type Kind = "int" | "float" | "decimal" | "string" | "bool" | "temporal" | "nested" | "other";

function kindOf(dt: pl.DataType): Kind {
  const v = (dt as unknown as { variant: string }).variant;
  if (/^U?Int(8|16|32|64)$/.test(v)) return "int";
  if (v === "Float32" || v === "Float64") return "float";
  if (v === "Decimal") return "decimal";
  if (v === "Utf8" || v === "String" || v === "Categorical" || v === "Enum") return "string";
  if (v === "Bool") return "bool";
  if (v === "Date" || v === "Datetime") return "temporal";
  if (v === "List" || v === "FixedSizeList" || v === "Struct" || v === "Array") return "nested";
  return "other";
}

const QUANTILES = [
  ["p05", 0.05],
  ["p25", 0.25],
  ["p75", 0.75],
  ["p95", 0.95],
] as const;

/** The pass-one aggregates of column `i`, each aliased `${i}:${stat}`. */
function aggregates(i: number, ref: string, dt: pl.DataType, dtypeName: string): pl.Expr[] {
  const kind = kindOf(dt);
  const key = (stat: string) => `stats\u0000${i}\u0000${ref}\u0000${dtypeName}\u0000${stat}`;
  const agg = (stat: string, build: (c: pl.Expr) => pl.Expr) => cached(key(stat), () => build(colExpr(ref)).alias(`${i}:${stat}`));
  const out = [agg("count", (c) => c.count()), agg("nullCount", (c) => c.nullCount())];
  // strings get their distinct count from the top-values group-by (one hash pass, not two)
  if (kind !== "nested" && kind !== "string") out.push(agg("distinct", (c) => c.dropNulls().nUnique()));
  switch (kind) {
    case "int":
    case "float":
    case "decimal": {
      // v: the values the moments are computed on (NaN left out, decimals as Float64)
      const v = (c: pl.Expr) => (kind === "float" ? c.filter(c.isNotNan()) : c.cast(pl.Float64));
      const finite = (c: pl.Expr) => (kind === "float" ? c.filter(c.isFinite()) : c.cast(pl.Float64));
      if (kind === "float") {
        out.push(agg("min", (c) => v(c).min()), agg("max", (c) => v(c).max()), agg("nanCount", (c) => c.isNan().sum()));
      } else {
        // through text: exact for Int64 beyond 2^53 and for decimals
        out.push(agg("min", (c) => c.min().cast(pl.Utf8)), agg("max", (c) => c.max().cast(pl.Utf8)));
      }
      out.push(
        agg("mean", (c) => v(c).mean()),
        agg("std", (c) => v(c).std()),
        agg("median", (c) => v(c).median()),
        ...QUANTILES.map(([name, q]) => agg(name, (c) => v(c).quantile(q, "linear"))),
        agg("zeros", (c) => c.cast(pl.Float64).eq(pl.lit(0)).sum()),
        agg("hmin", (c) => finite(c).min()),
        agg("hmax", (c) => finite(c).max()),
        agg("hcount", (c) => finite(c).count()),
      );
      break;
    }
    case "string": {
      const len = (c: pl.Expr) => c.cast(pl.Utf8).str.lengths();
      out.push(agg("minLength", (c) => len(c).min()), agg("maxLength", (c) => len(c).max()), agg("meanLength", (c) => len(c).mean()));
      break;
    }
    case "bool":
      out.push(agg("trueCount", (c) => c.sum()));
      break;
    case "temporal": {
      const fmt = (dt as unknown as { variant: string }).variant === "Date" ? TEMPORAL_FORMATS.date : datetimeFormat(dt);
      out.push(
        agg("min", (c) => c.min().dt.strftime(fmt)),
        agg("max", (c) => c.max().dt.strftime(fmt)),
        agg("pmin", (c) => c.cast(pl.Int64).min().cast(pl.Utf8)),
        agg("pmax", (c) => c.cast(pl.Int64).max().cast(pl.Utf8)),
      );
      break;
    }
    default:
      break;
  }
  return out;
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

/** The single-row results of a pass, by output name. */
function rowOf(df: pl.DataFrame): Map<string, unknown> {
  return new Map(nativeSeries(df).map((s) => [s.name, s.toArray()[0]]));
}

interface BinPlan {
  i: number;
  ref: string;
  kind: "numeric" | "temporal";
  lo: number | bigint;
  width: number | bigint;
  bins: number;
}

/** The bin index expression of a planned histogram (pass two). */
function binCounts(p: BinPlan, dt: pl.DataType): pl.Expr {
  const c = colExpr(p.ref);
  let idx: pl.Expr;
  if (p.kind === "numeric") {
    const v = kindOf(dt) === "float" ? c.filter(c.isFinite()) : c.cast(pl.Float64).dropNulls();
    idx = v.sub(pl.lit(Number(p.lo))).div(pl.lit(Number(p.width))).floor();
  } else {
    // exact integer arithmetic: (x - lo) - (x - lo) % width is a multiple m·width with m ≤ 20,
    // so the float division is within rounding of m and round() recovers it
    const diff = c.cast(pl.Int64).dropNulls().sub(pl.lit(String(p.lo)).cast(pl.Int64));
    const width = pl.lit(String(p.width)).cast(pl.Int64);
    idx = diff.sub(diff.rem(width)).cast(pl.Float64).div(width.cast(pl.Float64)).round(0);
  }
  return idx.clip(0, p.bins - 1).cast(pl.Int32).valueCounts().implode().alias(`h${p.i}`);
}

/** Plans a numeric histogram from the finite min/max, or a one-bin/empty histogram. */
function numericPlan(i: number, ref: string, row: Map<string, unknown>, integral: boolean): BinPlan | Histogram | null {
  const lo = num(row.get(`${i}:hmin`));
  const hi = num(row.get(`${i}:hmax`));
  const n = Number(row.get(`${i}:hcount`) ?? 0);
  if (lo === null || hi === null || n === 0) return null;
  if (lo === hi) return { edges: [lo, hi], counts: [n] };
  if (integral && hi - lo < Number.MAX_SAFE_INTEGER) {
    // Whole-number bins for integers: every bin holds the same count of possible values, and a
    // small range gets one bin per value (1..3 → [1,2) [2,3) [3,4]) instead of 20 mostly empty ones.
    const width = Math.max(1, Math.ceil((hi - lo + 1) / HISTOGRAM_BINS));
    return { i, ref, kind: "numeric", lo, width, bins: Math.ceil((hi - lo + 1) / width) };
  }
  return { i, ref, kind: "numeric", lo, width: (hi - lo) / HISTOGRAM_BINS, bins: HISTOGRAM_BINS };
}

function temporalPlan(i: number, ref: string, row: Map<string, unknown>, count: number): BinPlan | { lo: bigint; edges: bigint[]; counts: number[] } | null {
  const pmin = row.get(`${i}:pmin`);
  const pmax = row.get(`${i}:pmax`);
  if (typeof pmin !== "string" || typeof pmax !== "string" || count === 0) return null;
  const lo = BigInt(pmin);
  const hi = BigInt(pmax);
  if (lo === hi) return { lo, edges: [lo, hi], counts: [count] };
  const span = hi - lo;
  const width = (span + BigInt(HISTOGRAM_BINS) - 1n) / BigInt(HISTOGRAM_BINS);
  const bins = Number((span + width - 1n) / width);
  return { i, ref, kind: "temporal", lo, width, bins };
}

/** Temporal edges (physical integers) formatted like page values, through Polars. */
async function formatEdges(edges: bigint[], dt: pl.DataType): Promise<string[]> {
  const isDate = (dt as unknown as { variant: string }).variant === "Date";
  const physical = pl.Series("e", edges.map(String), pl.Utf8).cast(pl.Int64);
  const typed = isDate ? physical.cast(pl.Int32).cast(pl.Date) : physical.cast(dt);
  const out = await pl
    .DataFrame([typed])
    .lazy()
    .select(pl.col("e").dt.strftime(isDate ? TEMPORAL_FORMATS.date : datetimeFormat(dt)))
    .collect();
  return (frameSeries(out)[0]?.toArray() ?? []) as string[];
}

function countsOf(plan: BinPlan, rows: unknown): number[] {
  const counts = new Array<number>(plan.bins).fill(0);
  for (const r of (rows ?? []) as Record<string, unknown>[]) {
    const values = Object.values(r);
    const bin = Number(values[0]);
    if (bin >= 0 && bin < plan.bins) counts[bin] = Number(values[1] ?? 0);
  }
  return counts;
}

/** The most frequent values of a string column and its number of distinct non-null values. */
async function topValues(lf: pl.LazyDataFrame, ref: string): Promise<{ top: TopValue[]; distinct: number }> {
  const out = await lf
    .select(colExpr(ref).cast(pl.Utf8).alias("v"))
    .dropNulls()
    .groupBy("v")
    .agg(pl.len().alias("n"))
    // the number of groups, broadcast before the head keeps only 10 of them
    .withColumns(pl.len().alias("groups"))
    .sort(["n", "v"], [true, false])
    .head(TOP_VALUES)
    .collect();
  const [values, counts, groups] = nativeSeries(out).map((s) => s.toArray());
  return {
    top: (values ?? []).map((v, k) => ({ value: String(v), count: Number(counts?.[k] ?? 0) })),
    distinct: Number(groups?.[0] ?? 0),
  };
}

/**
 * Statistics of a version, or of the rows matching `filters` (from `parseFilters`). Never blocks
 * the event loop on data work; the result is JSON-ready.
 */
export async function computeStats(lf: pl.LazyDataFrame, version: Version, filters?: Filter[]): Promise<VersionStats> {
  const schema: FrameSchema = await schemaOf(lf, version);
  const rows = filtered(lf, schema, filters);
  const exprs = schema.dtypes.flatMap((dt, i) => aggregates(i, schema.refs[i] as string, dt, schema.dtypeNames[i] ?? ""));
  const stringColumns = schema.dtypes.map((dt, i) => (kindOf(dt) === "string" ? i : -1)).filter((i) => i >= 0);
  // top values need nothing from the first pass: start them together
  const topsPending = Promise.all(stringColumns.map((i) => topValues(rows, schema.refs[i] as string)));
  topsPending.catch(() => undefined);
  const first = rowOf(await rows.select(pl.len().alias("rows"), ...exprs).collect());
  const rowCount = Number(first.get("rows") ?? 0);

  const plans: BinPlan[] = [];
  const histograms = new Map<number, Histogram | null>();
  const temporalEdges = new Map<number, bigint[]>();
  schema.dtypes.forEach((dt, i) => {
    const kind = kindOf(dt);
    if (kind === "int" || kind === "float" || kind === "decimal") {
      const p = numericPlan(i, schema.refs[i] as string, first, kind === "int");
      if (p && "bins" in p) plans.push(p);
      else histograms.set(i, p);
    } else if (kind === "temporal") {
      const p = temporalPlan(i, schema.refs[i] as string, first, Number(first.get(`${i}:count`) ?? 0));
      if (p === null) histograms.set(i, null);
      else if ("bins" in p) plans.push(p);
      else {
        temporalEdges.set(i, p.edges);
        histograms.set(i, { edges: [], counts: p.counts });
      }
    }
  });

  const [binned, tops] = await Promise.all([
    plans.length > 0 ? rows.select(...plans.map((p) => binCounts(p, schema.dtypes[p.i] as pl.DataType))).collect().then(rowOf) : Promise.resolve(new Map<string, unknown>()),
    topsPending,
  ]);
  for (const p of plans) {
    const counts = countsOf(p, binned.get(`h${p.i}`));
    if (p.kind === "numeric") {
      const lo = Number(p.lo);
      const w = Number(p.width);
      const hi = num(first.get(`${p.i}:hmax`));
      const integral = kindOf(schema.dtypes[p.i] as pl.DataType) === "int";
      // Float bins: the last edge is the max itself, not lo + 20·w, which can round past it, and
      // edges are shown to 12 significant digits (1.7, not 1.7000000000000002).
      const edges = Array.from({ length: p.bins + 1 }, (_, k) => (integral ? lo + k * w : k === p.bins ? hi : Number((lo + k * w).toPrecision(12))));
      histograms.set(p.i, { edges, counts });
    } else {
      const lo = p.lo as bigint;
      const w = p.width as bigint;
      temporalEdges.set(p.i, Array.from({ length: p.bins + 1 }, (_, k) => lo + BigInt(k) * w));
      histograms.set(p.i, { edges: [], counts });
    }
  }
  for (const [i, edges] of temporalEdges) {
    const h = histograms.get(i);
    if (h) h.edges = await formatEdges(edges, schema.dtypes[i] as pl.DataType);
  }

  const topByColumn = new Map(stringColumns.map((i, k) => [i, tops[k]]));
  const columns = schema.names.map((name, i) => {
    const dt = schema.dtypes[i] as pl.DataType;
    const get = (stat: string) => first.get(`${i}:${stat}`);
    const kind = kindOf(dt);
    const count = Number(get("count") ?? 0);
    const base: ColumnStats = {
      name,
      dtype: schema.dtypeNames[i] ?? "",
      count,
      nullCount: Number(get("nullCount") ?? 0),
      distinctCount: kind === "nested" ? null : kind === "string" ? (topByColumn.get(i)?.distinct ?? 0) : Number(get("distinct") ?? 0),
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
          histogram: histograms.get(i) ?? null,
          zeros: Number(get("zeros") ?? 0),
          ...(kind === "float" ? { nanCount: Number(get("nanCount") ?? 0) } : {}),
        };
      case "string":
        return {
          ...base,
          minLength: num(get("minLength")),
          maxLength: num(get("maxLength")),
          meanLength: num(get("meanLength")),
          topValues: topByColumn.get(i)?.top ?? [],
        };
      case "bool": {
        const trueCount = Number(get("trueCount") ?? 0);
        return { ...base, trueCount, falseCount: count - trueCount };
      }
      case "temporal":
        return { ...base, min: (get("min") as string | null) ?? null, max: (get("max") as string | null) ?? null, histogram: histograms.get(i) ?? null };
      default:
        return base;
    }
  });
  return { rowCount, columns };
}
