/**
 * Statistics benchmark (issue 13): full statistics of a version against DuckDB's SUMMARIZE of
 * the same file, and the cost's linearity in cells: the same number of cells as 10 columns × N
 * rows and as 1000 columns × N/100 rows.
 *
 *   npm run bench -- --stats [--rows N] [--reps N]      (default N = 1,000,000; --quick 200,000)
 *
 * "Ours" is the time the server's background statistics job took for a freshly uploaded
 * version: the delta of `ingest_stage_seconds{stage="stats"}` on /metrics, observed from the
 * commit to the stored statistics (queue wait in the query worker included). The upload itself is
 * not counted (it is measured by the main bench). The file is Parquet, so the server's parse is
 * short and the statistics job does not overlap with other work. DuckDB loads the same Parquet
 * file into an in-memory table first (not timed), then SUMMARIZE is timed. DuckDB's SUMMARIZE
 * estimates distinct counts (HyperLogLog) and quantiles (reservoir); ours are exact.
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pl from "nodejs-polars";
import { DuckDBInstance } from "@duckdb/node-api";
import { prng } from "../scripts/prng.ts";
import { upload } from "./http.ts";
import { median } from "./metrics.ts";
import { startServer, type ServerProc } from "./proc.ts";

/** One shape of the same cells. */
interface Shape {
  name: string;
  columns: number;
  rows: number;
  file: string;
}

const CATEGORIES = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu"];

/** Column j of a shape: ten kinds in turn (Int64 ×3, Float64 ×3 with 5% nulls, two strings, Boolean, Date). */
function column(j: number, rows: number, seed: number): pl.Series {
  const r = prng(seed * 7919 + j);
  const name = `c${j}`;
  switch (j % 10) {
    case 0:
    case 1:
    case 2: {
      const span = [100, 1_000_000, 2 ** 40][j % 10] as number;
      // whole numbers within 2^53, cast (a BigInt array would come out as nulls)
      return pl.Series(name, Array.from({ length: rows }, () => Math.floor(r() * span) - span / 4), pl.Float64).cast(pl.Int64);
    }
    case 3:
    case 4:
    case 5:
      return pl.Series(name, Array.from({ length: rows }, () => (r() < 0.05 ? null : Math.round(r() * 1e6) / 100)), pl.Float64);
    case 6:
      return pl.Series(name, Array.from({ length: rows }, () => CATEGORIES[Math.floor(r() * CATEGORIES.length)] as string), pl.Utf8);
    case 7:
      return pl.Series(name, Array.from({ length: rows }, () => Math.floor(r() * 36 ** 6).toString(36)), pl.Utf8);
    case 8:
      return pl.Series(name, Array.from({ length: rows }, () => r() < 0.5), pl.Bool);
    default:
      // days since the epoch, 2000–2030
      return pl.Series(name, Array.from({ length: rows }, () => 10_957 + Math.floor(r() * 10_957)), pl.Int32).cast(pl.Date);
  }
}

export function writeShape(dir: string, name: string, columns: number, rows: number): Shape {
  const file = path.join(dir, `${name}.parquet`);
  pl.DataFrame(Array.from({ length: columns }, (_, j) => column(j, rows, columns))).writeParquet(file);
  return { name, columns, rows, file };
}

/** The `ingest_stage_seconds{stage="stats"}` sum and count on /metrics. */
async function statsMetric(server: ServerProc): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const value = (suffix: string) => Number(new RegExp(`^ingest_stage_seconds_${suffix}\\{stage="stats"\\} (\\S+)$`, "m").exec(text)?.[1] ?? 0);
  return { sum: value("sum"), count: value("count") };
}

/** Uploads `shape` to a fresh dataset and returns how long its background statistics took (ms). */
async function serverStats(server: ServerProc, shape: Shape, rep: number): Promise<{ statsMs: number; firstGetMs: number }> {
  const before = await statsMetric(server);
  const up = await upload(`${server.url}/api/datasets/upload`, shape.file, { name: `stats-${shape.name}-${rep}` });
  if (up.status !== 201) throw new Error(`upload ${shape.name}: HTTP ${up.status} ${JSON.stringify(up.body).slice(0, 300)}`);
  const id = (up.body as { dataset: { id: string } }).dataset.id;
  // what a client sees: a GET right after the 201 waits for the background job
  const t = performance.now();
  const res = await fetch(`${server.url}/api/datasets/${id}/versions/1/stats`, { signal: AbortSignal.timeout(600_000) });
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`stats ${shape.name}: HTTP ${res.status}`);
  const firstGetMs = performance.now() - t;
  let after = await statsMetric(server);
  for (let i = 0; after.count <= before.count && i < 500; i++) {
    await new Promise((r) => setTimeout(r, 20));
    after = await statsMetric(server);
  }
  await fetch(`${server.url}/api/datasets/${id}`, { method: "DELETE" });
  return { statsMs: (after.sum - before.sum) * 1000, firstGetMs };
}

async function summarizeMs(file: string): Promise<number> {
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await instance.connect();
  try {
    await conn.run(`CREATE TABLE t AS SELECT * FROM read_parquet('${file.replaceAll("'", "''")}')`);
    const t = performance.now();
    await conn.runAndReadAll("SUMMARIZE t");
    return performance.now() - t;
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

export async function runStatsBench(o: { rows: number; reps: number; serverScript: string; nodeFlags: string[]; env: Record<string, string>; logFile: string; log: (m: string) => void }): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "dataset-bench-stats-"));
  mkdirSync(path.dirname(o.logFile), { recursive: true });
  try {
    const narrow = writeShape(dir, "narrow", 10, o.rows);
    const wide = writeShape(dir, "wide", 1000, Math.max(1, Math.floor(o.rows / 100)));
    o.log(`stats bench: ${narrow.columns} × ${narrow.rows} (${(statSync(narrow.file).size / 1e6).toFixed(1)} MB) and ${wide.columns} × ${wide.rows} (${(statSync(wide.file).size / 1e6).toFixed(1)} MB)`);
    const figures: Record<string, number[]> = {};
    const add = (k: string, v: number) => (figures[k] ??= []).push(v);
    for (let rep = 0; rep < o.reps; rep++) {
      for (const shape of [narrow, wide]) add(`duckdb:${shape.name}`, await summarizeMs(shape.file));
      const server = await startServer([...o.nodeFlags, o.serverScript], o.env, o.logFile);
      try {
        for (const shape of [narrow, wide]) {
          const r = await serverStats(server, shape, rep);
          add(`ours:${shape.name}`, r.statsMs);
          add(`get:${shape.name}`, r.firstGetMs);
        }
      } finally {
        await server.stop();
      }
      o.log(`stats bench rep ${rep + 1}: ${Object.entries(figures).map(([k, v]) => `${k} ${v.at(-1)?.toFixed(0)} ms`).join(", ")}`);
    }
    const m = (k: string) => median(figures[k] ?? []) ?? NaN;
    const ms = (v: number) => `${v.toFixed(0)} ms`;
    const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
    const status = (r: number, limit: number) => (Number.isFinite(r) ? (r <= limit ? "met" : "not met") : "n/a");
    const cells = `${(narrow.columns * narrow.rows / 1e6).toFixed(1)}M cells`;
    return [
      "| Measure | Ours | Baseline | Ratio (ours ÷ baseline) | Target | Status |",
      "| --- | --- | --- | --- | --- | --- |",
      `| Full statistics, ${narrow.columns} × ${narrow.rows} (background job) | ${ms(m("ours:narrow"))} | SUMMARIZE ${ms(m("duckdb:narrow"))} | ${ratio(m("ours:narrow"), m("duckdb:narrow"))} | ≤ 0.3× | ${status(m("ours:narrow") / m("duckdb:narrow"), 0.3)} |`,
      `| Full statistics, ${wide.columns} × ${wide.rows} (background job) | ${ms(m("ours:wide"))} | SUMMARIZE ${ms(m("duckdb:wide"))} | ${ratio(m("ours:wide"), m("duckdb:wide"))} | — | info |`,
      `| Same ${cells}: wide ÷ narrow | ${ms(m("ours:wide"))} | narrow ${ms(m("ours:narrow"))} | ${ratio(m("ours:wide"), m("ours:narrow"))} | ≤ 3× | ${status(m("ours:wide") / m("ours:narrow"), 3)} |`,
      `| First GET …/stats right after the 201, narrow | ${ms(m("get:narrow"))} | — | — | — | info |`,
      `| First GET …/stats right after the 201, wide | ${ms(m("get:wide"))} | — | — | — | info |`,
      "",
      `medians of ${o.reps}, ${os.availableParallelism()} cores, load ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}, Node ${process.version}; SUMMARIZE estimates distinct counts and quantiles, ours are exact`,
    ].join("\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
