/**
 * The baselines, each run in a fresh child process on the same files as the server:
 * raw nodejs-polars (scan + collect, then describe-like stats) and DuckDB (load CSV, SUMMARIZE,
 * load Parquet), plus the Express hello-world server used by the page benchmark.
 */
import path from "node:path";
import { runJsonChild } from "./child.ts";
import type { BenchData } from "./generate.ts";
import type { Metrics } from "./metrics.ts";

const TASKS = path.join(import.meta.dirname, "tasks.ts");
/** Path of the hello-world server script. */
export const HELLO_SCRIPT = path.join(import.meta.dirname, "hello.ts");

/** Runs the polars and DuckDB children one after the other and returns their timings. */
export async function runBaselines(data: BenchData): Promise<Metrics> {
  const files = [data.csvPath, data.parquetPath];
  const pc = await runJsonChild<Record<string, number>>(TASKS, ["polars-csv", ...files], 180_000);
  const pp = await runJsonChild<Record<string, number>>(TASKS, ["polars-parquet", ...files], 180_000);
  const dd = await runJsonChild<Record<string, number>>(TASKS, ["duckdb", ...files], 300_000);
  return {
    polarsCsvLoadMs: pc.loadMs ?? null,
    polarsCsvTypedLoadMs: pc.typedLoadMs ?? null,
    polarsParquetLoadMs: pp.loadMs ?? null,
    polarsStatsMs: pc.statsMs ?? null,
    polarsFrameBytes: pc.bytes ?? null,
    duckdbCsvLoadMs: dd.csvLoadMs ?? null,
    duckdbParquetLoadMs: dd.parquetLoadMs ?? null,
    duckdbSummarizeMs: dd.summarizeMs ?? null,
  };
}
