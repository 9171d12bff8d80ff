/**
 * Child-process entry for the baselines: `node bench/tasks.ts <task> <csv> <parquet>`.
 * Prints one JSON line of timings in milliseconds. Only the work itself is timed (not process
 * start-up or library loading), as the server's figures exclude its start-up too.
 */
import pl from "nodejs-polars";
import { DuckDBInstance } from "@duckdb/node-api";
import { estimatedBytes, frameHeight } from "../src/frame/safe.ts";

function ms(t0: number): number {
  return performance.now() - t0;
}

/**
 * Raw nodejs-polars: lazy scan + collect with default options (off the event loop, all cores), then
 * describe-like stats; for CSV also a second load with `parseDates`, which types the ISO datetimes
 * as DuckDB does (and costs Polars noticeably more).
 */
async function polars(file: string, kind: "csv" | "parquet"): Promise<Record<string, number>> {
  let t = performance.now();
  const lf = kind === "csv" ? pl.scanCSV(file) : pl.scanParquet(file);
  const df = await lf.collect();
  const loadMs = ms(t);
  const rows = frameHeight(df);
  const bytes = estimatedBytes(df);
  // What the issue calls "describe + distinct + nulls": one lazy pass for nulls and distincts,
  // plus describe() for the numeric summary.
  t = performance.now();
  await df.lazy().select(pl.all().nullCount().suffix("_nulls"), pl.all().nUnique().suffix("_distinct")).collect();
  df.describe();
  const statsMs = ms(t);
  let typedLoadMs = loadMs;
  if (kind === "csv") {
    t = performance.now();
    await pl.scanCSV(file, { parseDates: true }).collect();
    typedLoadMs = ms(t);
  }
  return { loadMs, typedLoadMs, statsMs, rows, bytes };
}

/** DuckDB (in-memory database, default threads = cores): load CSV, SUMMARIZE, load Parquet. */
async function duckdb(csv: string, parquet: string): Promise<Record<string, number>> {
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await instance.connect();
  const quote = (p: string) => `'${p.replaceAll("'", "''")}'`;
  let t = performance.now();
  await conn.run(`CREATE TABLE c AS SELECT * FROM read_csv(${quote(csv)})`);
  const csvLoadMs = ms(t);
  t = performance.now();
  const summary = await conn.runAndReadAll("SUMMARIZE c");
  const summarizeMs = ms(t);
  t = performance.now();
  await conn.run(`CREATE TABLE p AS SELECT * FROM read_parquet(${quote(parquet)})`);
  const parquetLoadMs = ms(t);
  const count = await conn.runAndReadAll("SELECT count(*)::INTEGER AS n FROM c");
  const rows = Number(count.getRows()[0]?.[0]);
  conn.closeSync();
  instance.closeSync();
  return { csvLoadMs, summarizeMs, parquetLoadMs, rows, summaryRows: summary.currentRowCount };
}

const [task, csv, parquet] = process.argv.slice(2);
if (!task || !csv || !parquet) throw new Error("usage: node bench/tasks.ts <polars-csv|polars-parquet|duckdb> <csv> <parquet>");
let result: Record<string, number>;
switch (task) {
  case "polars-csv":
    result = await polars(csv, "csv");
    break;
  case "polars-parquet":
    result = await polars(parquet, "parquet");
    break;
  case "duckdb":
    result = await duckdb(csv, parquet);
    break;
  default:
    throw new Error(`unknown task ${task}`);
}
console.log(JSON.stringify(result));
