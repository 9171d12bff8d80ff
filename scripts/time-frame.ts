/**
 * Times the frame layer on wide and tall shapes of the same cell count (issues 11 and 13): full
 * statistics, filtered statistics, a 100-row page, a filtered page and a 7,900-value `in` filter,
 * with the longest event-loop stall seen during each, and DuckDB's SUMMARIZE of the same data as
 * the baseline. Not a test: it prints figures (medians of `runs`).
 *
 *   PATH=$PWD/node_modules/.bin:$PATH node scripts/time-frame.ts [runs]
 *
 * Shapes: 1000 columns × 2 rows (the frozen-server case), 1000 × 10,000 and 10 × 1,000,000 (the
 * same 10M cells): half Float64, a quarter Int64, a quarter String.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import pl from "nodejs-polars";
import { describeColumns } from "../src/frame/dtype.ts";
import { readPage } from "../src/frame/page.ts";
import { parseFilters } from "../src/frame/query.ts";
import { lazyOf } from "../src/frame/safe.ts";
import { computeStats } from "../src/frame/stats.ts";
import type { Version } from "../src/types.ts";

const runs = Number(process.argv[2] ?? 3);
const dir = mkdtempSync(path.join(os.tmpdir(), "time-frame-"));
const duck = await (await DuckDBInstance.create(":memory:")).connect();

function frame(cols: number, rows: number): pl.DataFrame {
  const series: pl.Series[] = [];
  for (let c = 0; c < cols; c++) {
    const name = `c${c}`;
    if (c % 4 === 3) series.push(pl.Series(name, Array.from({ length: rows }, (_, i) => `v${(i * (c + 1)) % 97}`), pl.Utf8));
    else if (c % 4 === 2) series.push(pl.Series(name, Float64Array.from({ length: rows }, (_, i) => (i * (c + 7)) % 1000)).cast(pl.Int64));
    else series.push(pl.Series(name, Float64Array.from({ length: rows }, (_, i) => Math.sin(i * (c + 1)) * 1000)));
  }
  return pl.DataFrame(series);
}

let id = 0;
function versionOf(df: pl.DataFrame): Version {
  const columns = describeColumns(df);
  id += 1;
  return { datasetId: `time-${id}`, version: 1, createdAt: "t", source: { filename: "x.parquet", format: "parquet", sizeBytes: 0, sha256: "", sheet: null }, rowCount: df.height, columnCount: columns.length, columns };
}

/** Median wall time and the longest event-loop stall over `runs` calls (a fresh version each: nothing cached). */
async function time(label: string, work: () => Promise<unknown>): Promise<number> {
  const walls: number[] = [];
  let stall = 0;
  for (let r = 0; r < runs; r++) {
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      stall = Math.max(stall, now - last - 5);
      last = now;
    }, 5);
    const t = performance.now();
    await work();
    walls.push(performance.now() - t);
    clearInterval(timer);
  }
  const median = walls.sort((a, b) => a - b)[Math.floor(walls.length / 2)] as number;
  console.log(`${label.padEnd(48)} ${median.toFixed(1).padStart(9)} ms   longest loop stall ${stall.toFixed(0).padStart(5)} ms`);
  return median;
}

const results: Record<string, number> = {};
for (const [cols, rows] of [
  [1000, 2],
  [1000, 10_000],
  [10, 1_000_000],
] as const) {
  const df = frame(cols, rows);
  const file = path.join(dir, `${cols}x${rows}.parquet`);
  df.writeParquet(file);
  const shape = `${cols} cols × ${rows} rows`;
  console.log(`\n${shape}`);
  results[`stats ${shape}`] = await time("full statistics (fresh version)", () => computeStats(lazyOf(df), versionOf(df)));
  await time("filtered statistics (c0:gt:0)", async () => {
    const v = versionOf(df);
    await computeStats(lazyOf(df), v, parseFilters(["c0:gt:0"], v));
  });
  await time("100-row page", () => readPage(lazyOf(df), versionOf(df), { offset: 0, limit: 100 }, "objects", df));
  await time("filtered + sorted page", async () => {
    const v = versionOf(df);
    await readPage(lazyOf(df), v, { offset: 0, limit: 100, filters: parseFilters(["c0:gt:0"], v), sort: [{ column: "c1", descending: true }] }, "objects", df);
  });
  await time("7,900-value in filter on an Int64 column", async () => {
    const v = versionOf(df);
    const values = Array.from({ length: 7900 }, (_, i) => String(i * 3)).join("|");
    await readPage(lazyOf(df), v, { offset: 0, limit: 100, filters: parseFilters([`c2:in:${values}`], v) }, "objects", df);
  });
  results[`duck ${shape}`] = await time("DuckDB SUMMARIZE of the same Parquet", () => duck.run(`SUMMARIZE SELECT * FROM read_parquet('${file}')`));
}
console.log("\nratios (same run)");
const wide = results["stats 1000 cols × 10000 rows"] as number;
const tall = results["stats 10 cols × 1000000 rows"] as number;
console.log(`stats 1000×10k ÷ stats 10×1M (same cells; target ≤ 3):        ${(wide / tall).toFixed(2)}`);
console.log(`stats 10×1M ÷ DuckDB SUMMARIZE (target ≤ 0.3):                 ${(tall / (results["duck 10 cols × 1000000 rows"] as number)).toFixed(2)}`);
console.log(`stats 1000×10k ÷ DuckDB SUMMARIZE:                             ${(wide / (results["duck 1000 cols × 10000 rows"] as number)).toFixed(2)}`);
rmSync(dir, { recursive: true, force: true });
