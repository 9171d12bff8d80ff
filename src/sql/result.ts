/**
 * A query's result, computed once into a Parquet file, then paged and downloaded from it.
 *
 * Why materialise: Polars SQL does not promise a row order without `ORDER BY` (its GROUP BY is
 * not order-stable), so running the query again for page 2 could repeat or skip rows. One file
 * per (query, versions) makes every page of one result come from the same rows, and gives
 * `totalRows` exactly. Worker-side code: computing and rendering run where a runaway query or a
 * value that cannot be formatted costs one job, never the API process.
 *
 * Rendering is the exact per-cell path (frame/json.ts): the same JSON conventions as `/data`
 * pages. Temporal values outside what the formatter handles (years beyond ±262,142) are
 * refused with a 400 naming the column instead of being formatted.
 */
import { rename, rm } from "node:fs/promises";
import pl from "nodejs-polars";
import { badRequest } from "../errors.ts";
import { dtypeName, seriesDtypeName } from "../frame/dtype.ts";
import { jsonMember, jsonRow, jsonValue } from "../frame/json.ts";
import { frameHeight, frameSeries } from "../frame/safe.ts";
import { scanDataFile } from "./execute.ts";

export type RowShape = "objects" | "arrays";

export interface ResultPage {
  columns: { name: string; dtype: string }[];
  /** JSON text of the `rows` array. */
  rowsJson: string;
  totalRows: number;
  rowCount: number;
}

/**
 * Writes the result to `file` (a spool path) via `${file}.part`, so a half-written file is never
 * read (the spool removes both when it releases the file).
 */
export async function materialize(lf: pl.LazyDataFrame, file: string): Promise<void> {
  const partial = `${file}.part`;
  try {
    // The streaming engine (sinks) cannot run an inequality join (`ON a.x < b.y` plans as an
    // IEJOIN; lowering it panics): such a query is computed in memory (QUERY_MEMORY_MB still caps
    // it), then written.
    const source = /\bIEJOIN\b/.test(lf.describeOptimizedPlan()) ? (await lf.collect()).lazy() : lf;
    await source.sinkParquet(partial, { compression: "zstd", maintainOrder: true }).collect();
    await rename(partial, file);
  } finally {
    await rm(partial, { force: true });
  }
}

// chrono's NaiveDate range (what Polars formats with): years -262143 ..= 262142
const MIN_DAY = daysFromCivil(-262143, 1, 1);
const MAX_DAY = daysFromCivil(262142, 12, 31);

function daysFromCivil(y: number, m: number, d: number): number {
  // Howard Hinnant's algorithm, exact for any proleptic Gregorian year
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const UNITS_PER_DAY: Record<string, bigint> = { ms: 86_400_000n, us: 86_400_000_000n, ns: 86_400_000_000_000n };

function variantOf(dt: pl.DataType): string {
  return (dt as unknown as { variant: string }).variant;
}

/**
 * 400 when a Date/Datetime column of `rows` holds a value the formatter cannot write (one pass
 * over the temporal columns' extremes, in their physical integers).
 */
export async function assertRenderable(rows: pl.LazyDataFrame): Promise<void> {
  const empty = await rows.limit(0).collect();
  const temporal = frameSeries(empty).flatMap((s, i) => {
    const v = variantOf(s.dtype);
    if (v !== "Date" && v !== "Datetime") return [];
    const unit = v === "Date" ? "day" : ((s.dtype as unknown as { inner: [string] }).inner?.[0] ?? "us");
    return [{ index: i, name: s.name, unit }];
  });
  if (temporal.length === 0) return;
  const positional = rows.rename(Object.fromEntries(frameSeries(empty).map((s, k) => [s.name, `p${k}`])));
  const extremes = await positional
    .select(temporal.flatMap((t) => {
      const phys = pl.col(`p${t.index}`).cast(t.unit === "day" ? pl.Int32 : pl.Int64);
      return [phys.min().alias(`lo${t.index}`), phys.max().alias(`hi${t.index}`)];
    }))
    .collect();
  const values = frameSeries(extremes).map((s) => s.toArray()[0] as number | bigint | null);
  temporal.forEach((t, k) => {
    const lo = values[2 * k];
    const hi = values[2 * k + 1];
    if (lo === null || lo === undefined || hi === null || hi === undefined) return;
    const perDay = t.unit === "day" ? 1n : (UNITS_PER_DAY[t.unit] ?? 86_400_000_000n);
    if (BigInt(lo) >= BigInt(MIN_DAY) * perDay && BigInt(hi) <= (BigInt(MAX_DAY) + 1n) * perDay - 1n) return;
    throw badRequest(`Column "${t.name}" of the result holds a ${t.unit === "day" ? "date" : "datetime"} outside the years -262143 to 262142, which cannot be written out; change the query so its values stay in range.`, { parameter: "query", column: t.name });
  });
}

/** The page's rows as JSON, exact for every dtype. Column names are taken literally. */
function pageJson(page: pl.DataFrame, names: string[], shape: RowShape): Promise<string> | string {
  if (frameHeight(page) === 0) return "[]";
  const series = frameSeries(page);
  const positional = page.lazy().rename(Object.fromEntries(series.map((s, k) => [s.name, `p${k}`])));
  const parts = series.map((s, k) => {
    const value = jsonValue(pl.col(`p${k}`), s.dtype);
    return shape === "objects" ? jsonMember(names[k] as string, value) : value;
  });
  return positional
    .select(jsonRow(parts, shape).str.concat(",").alias("rows"))
    .collect()
    .then((out) => `[${String(frameSeries(out)[0]?.toArray()[0] ?? "")}]`);
}

/** Rows `offset … offset + limit` of a materialised result. */
export async function resultPage(file: string, offset: number, limit: number, shape: RowShape): Promise<ResultPage> {
  const lf = scanDataFile(file);
  const [page, count] = await Promise.all([lf.slice(offset, limit).collect(), lf.select(pl.len().alias("n")).collect()]);
  await assertRenderable(page.lazy());
  const series = frameSeries(page);
  const names = series.map((s) => s.name);
  const rowsJson = await pageJson(page, names, shape);
  return {
    columns: series.map((s) => ({ name: s.name, dtype: seriesDtypeName(s) })),
    rowsJson,
    totalRows: Number(frameSeries(count)[0]?.toArray()[0] ?? 0),
    rowCount: frameHeight(page),
  };
}

/** The result's columns without reading rows (for downloads' headers and errors). */
export async function resultColumns(file: string): Promise<{ name: string; dtype: string }[]> {
  const empty = await scanDataFile(file).limit(0).collect();
  return frameSeries(empty).map((s) => ({ name: s.name, dtype: dtypeName(s.dtype) }));
}
