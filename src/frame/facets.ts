/**
 * Facets: for chosen columns, the most frequent values among the rows that pass the filters and
 * the `q=` search, with counts, plus how many rows the listed values leave out (`otherCount`)
 * and how many distinct values there are (`distinctCount`). Numeric columns may instead be
 * counted in equal-width bins.
 *
 * Rules (documented in the README):
 * - null is a value like any other: it is listed (as `null`) when frequent enough and counted in
 *   `distinctCount`, so the listed counts plus `otherCount` always add up to the filtered rows;
 * - values are ordered by count, most frequent first, ties by value ascending (nulls last);
 * - values are JSON-exact, as in pages (integers beyond ±2^53 as strings, dates ISO, NaN null);
 * - bins: `k` equal-width bins from the smallest to the largest non-null, non-NaN value, each
 *   `[from, to)` except the last, which includes `to`; nulls and NaNs are a last entry with
 *   value null when there are any. All values equal: one bin `[v, v]`.
 * Runs in a query worker (its cost grows with the version).
 */
import pl from "nodejs-polars";
import { badRequest } from "../errors.ts";
import type { Version } from "../types.ts";
import { colExpr } from "./exprcache.ts";
import { jsonValue } from "./json.ts";
import { filtered, projection, schemaOf } from "./plan.ts";
import type { FrameSchema } from "./plan.ts";
import type { Filter } from "./query.ts";
import { frameSeries } from "./safe.ts";

export const MAX_FACET_LIMIT = 1000;
export const MAX_BINS = 1000;

export interface FacetQuery {
  columns: string[];
  /** Values listed per column (1 … MAX_FACET_LIMIT). */
  limit: number;
  filters?: Filter[];
  /** Column → bin count, for numeric columns counted in bins. */
  bins?: Map<string, number>;
}

const NUMERIC = /^(U?Int(8|16|32|64)|Float(32|64)|Decimal\(.*\))$/;

function isNumeric(dtype: string): boolean {
  return NUMERIC.test(dtype);
}

/**
 * Parses `bins=`: `bins=10` bins every numeric column asked for; `bins=price:10` (repeatable)
 * one column. 400 for a non-numeric or unlisted column, or a count outside 1 … MAX_BINS.
 */
export function parseBins(raw: string[], columns: string[], version: Version): Map<string, number> {
  const bins = new Map<string, number>();
  const count = (text: string, what: string): number => {
    if (!/^\d{1,4}$/.test(text) || Number(text) < 1 || Number(text) > MAX_BINS) {
      throw badRequest(`bins for ${what} must be a whole number from 1 to ${MAX_BINS}; got "${text.slice(0, 20)}".`, { parameter: "bins" });
    }
    return Number(text);
  };
  for (const item of raw) {
    const colon = item.lastIndexOf(":");
    if (colon === -1) {
      const k = count(item, "every numeric column");
      for (const c of columns) {
        const dtype = version.columns.find((x) => x.name === c)?.dtype ?? "";
        if (isNumeric(dtype) && !bins.has(c)) bins.set(c, k);
      }
      continue;
    }
    const column = item.slice(0, colon);
    if (!columns.includes(column)) throw badRequest(`bins names column "${column}", which is not in columns.`, { parameter: "bins", column });
    const dtype = version.columns.find((x) => x.name === column)?.dtype ?? "";
    if (!isNumeric(dtype)) throw badRequest(`bins applies to numeric columns; "${column}" is ${dtype}.`, { parameter: "bins", column });
    bins.set(column, count(item.slice(colon + 1), `"${column}"`));
  }
  return bins;
}

/** One column's facet as JSON text. */
async function topValues(rows: pl.LazyDataFrame, ref: string, name: string, dtype: pl.DataType, limit: number, total: number): Promise<string> {
  const v = colExpr(ref);
  const counts = rows
    .select(v.alias("v"))
    .groupBy("v")
    .agg(pl.len().alias("n"))
    .sort({ by: [pl.col("n"), pl.col("v")], descending: [true, false], nullsLast: true });
  const [top, distinct] = await Promise.all([
    counts.head(limit).select(jsonValue(pl.col("v"), dtype).alias("v"), pl.col("n").cast(pl.Float64).alias("n")).collect(),
    rows.select(v.nUnique().alias("d")).collect(),
  ]);
  const [texts, ns] = frameSeries(top).map((s) => s.toArray()) as [string[], number[]];
  const listed = ns.reduce((a, b) => a + b, 0);
  const values = texts.map((t, i) => `{"value":${t},"count":${ns[i]}}`).join(",");
  const distinctCount = Number(frameSeries(distinct)[0]?.toArray()[0] ?? 0);
  return `{"name":${JSON.stringify(name)},"values":[${values}],"otherCount":${total - listed},"distinctCount":${distinctCount}}`;
}

/** One numeric column counted in `k` equal-width bins, as JSON text. */
async function binned(rows: pl.LazyDataFrame, ref: string, name: string, k: number, total: number): Promise<string> {
  const x = colExpr(ref).cast(pl.Float64);
  const valid = x.isNotNull().and(x.isNan().not());
  const ranges = await rows
    .select(
      x.filter(valid).min().alias("lo"),
      x.filter(valid).max().alias("hi"),
      valid.sum().cast(pl.Float64).alias("n"),
      colExpr(ref).nUnique().alias("d"),
    )
    .collect();
  const [lo, hi, n, d] = frameSeries(ranges).map((s) => s.toArray()[0]) as [number | null, number | null, number, number | bigint];
  const entries: string[] = [];
  if (lo !== null && hi !== null && n > 0) {
    const width = (hi - lo) / k;
    const bins = width > 0 && Number.isFinite(width) ? k : 1;
    let byBin: Map<number, number>;
    if (bins === 1) byBin = new Map([[0, n]]);
    else {
      const index = x.sub(pl.lit(lo)).div(pl.lit(width)).floor().clip(0, bins - 1).cast(pl.Int64);
      const counted = await rows.filter(valid).select(index.alias("b")).groupBy("b").agg(pl.len().alias("c")).collect();
      const [bs, cs] = frameSeries(counted).map((s) => s.toArray()) as [(number | bigint)[], number[]];
      byBin = new Map(bs.map((b, i) => [Number(b), Number(cs[i])]));
    }
    for (let b = 0; b < bins; b++) {
      const from = bins === 1 ? lo : lo + width * b;
      const to = bins === 1 ? hi : b === bins - 1 ? hi : lo + width * (b + 1);
      entries.push(`{"value":{"from":${JSON.stringify(from)},"to":${JSON.stringify(to)}},"count":${byBin.get(b) ?? 0}}`);
    }
  }
  const missing = total - n;
  if (missing > 0) entries.push(`{"value":null,"count":${missing}}`);
  return `{"name":${JSON.stringify(name)},"bins":${entries.length - (missing > 0 ? 1 : 0)},"values":[${entries.join(",")}],"otherCount":0,"distinctCount":${Number(d)}}`;
}

function refOf(schema: FrameSchema, name: string): { ref: string; dtype: pl.DataType } {
  const i = schema.indexOf.get(name) as number;
  return { ref: schema.refs[i] as string, dtype: schema.dtypes[i] as pl.DataType };
}

/**
 * The facets body (`{"facets":[…],"totalRows":N}`) as JSON text. 400 for unknown or repeated
 * columns and a limit out of range.
 */
export async function computeFacets(lf: pl.LazyDataFrame, version: Version, q: FacetQuery): Promise<string> {
  if (!Number.isSafeInteger(q.limit) || q.limit < 1 || q.limit > MAX_FACET_LIMIT) {
    throw badRequest(`limit must be a whole number from 1 to ${MAX_FACET_LIMIT}, got ${q.limit}.`, { parameter: "limit" });
  }
  const schema = await schemaOf(lf, version);
  const names = projection(schema, q.columns);
  // one filtered frame, computed once and shared by every column's counts
  const rows = filtered(lf, schema, q.filters).cache();
  const count = await rows.select(pl.len().alias("n")).collect();
  const total = Number(frameSeries(count)[0]?.toArray()[0] ?? 0);
  const facets = await Promise.all(
    names.map((name) => {
      const { ref, dtype } = refOf(schema, name);
      const k = q.bins?.get(name);
      return k === undefined ? topValues(rows, ref, name, dtype, q.limit, total) : binned(rows, ref, name, k, total);
    }),
  );
  return `{"facets":[${facets.join(",")}],"totalRows":${total}}`;
}
