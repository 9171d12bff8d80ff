/**
 * Diff benchmark (issue 14): a 1M-row pair of versions with 1% changes (0.4% edited, 0.3%
 * removed, 0.3% added), stored as Parquet like versions are. Measures, in this process:
 *   baseline  reading both versions (scanParquet + collect, both at once)
 *   keyed     diffFrames(from, to, ["id"]) — counts and every differing row's position (both
 *             versions are stored in id order, so this is the merge path of frame/diff.ts)
 *   multiset  diffFrames(from, to) — whole-row multiset comparison
 * and prints medians and ratios (ours ÷ baseline); the target is keyed ≤ 2× baseline.
 *
 *   npm run bench -- --diff [--rows N] [--reps N]
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pl from "nodejs-polars";
import { diffFrames } from "../src/frame/diff.ts";
import { median } from "./metrics.ts";

/** The pair as Parquet files (written by Polars sinks, off the event loop). */
async function writeVersions(rows: number, dir: string): Promise<{ from: string; to: string }> {
  const idx = pl.intRange(0, rows, 1, pl.Int64, true).alias("i");
  const base = pl.DataFrame([idx]).lazy().select(
    // Int64, as an uploaded CSV's id column is (a JS number literal would make it Float64)
    pl.col("i").add(pl.lit(1_000_000).cast(pl.Int64)).alias("id"),
    pl.concatString([pl.lit("customer-"), pl.col("i").modulo(5000).cast(pl.String)], "").alias("customer"),
    pl.col("i").mul(7919).modulo(100_000).cast(pl.Float64).div(100).alias("amount"),
    pl.col("i").modulo(17).alias("qty"),
    pl.lit(new Date(Date.UTC(2024, 0, 1))).cast(pl.Date).alias("day0"),
    pl.col("i").modulo(3).eq(0).alias("flag"),
    pl.col("i"),
  ).withColumns(pl.col("day0").add(pl.col("i").modulo(365).cast(pl.Duration("ms")).mul(86_400_000)).cast(pl.Date).alias("day")).drop("day0");
  const from = base.drop("i");
  // every 250th row edited (0.4%), every 333rd removed (0.3%), 0.3% new rows appended
  const kept = base.filter(pl.col("i").modulo(333).neq(5));
  const edited = kept.withColumns(pl.when(pl.col("i").modulo(250).eq(7)).then(pl.col("amount").add(1)).otherwise(pl.col("amount")).alias("amount")).drop("i");
  const added = base.head(Math.floor(rows * 0.003)).withColumns(pl.col("id").add(pl.lit(10_000_000).cast(pl.Int64))).drop("i");
  const to = pl.concat([edited, added], { how: "vertical" });
  const files = { from: path.join(dir, "from.parquet"), to: path.join(dir, "to.parquet") };
  await from.sinkParquet(files.from).collect();
  await to.sinkParquet(files.to).collect();
  return files;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

export async function runDiffBench({ rows, reps, log }: { rows: number; reps: number; log: (m: string) => void }): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "dataset-bench-diff-"));
  try {
    const files = await writeVersions(rows, dir);
    log(`diff bench: ${rows} rows, Parquet ${(statSync(files.from).size / 1e6).toFixed(1)} + ${(statSync(files.to).size / 1e6).toFixed(1)} MB`);
    const scan = (f: string) => pl.scanParquet(f, { glob: false, hivePartitioning: false });
    const read: number[] = [];
    const keyed: number[] = [];
    const multiset: number[] = [];
    let counts = "";
    for (let rep = 0; rep < reps; rep++) {
      read.push(await timed(() => Promise.all([scan(files.from).collect(), scan(files.to).collect()])));
      keyed.push(await timed(async () => {
        const r = await diffFrames(scan(files.from), scan(files.to), ["id"]);
        counts = JSON.stringify(r.rows);
      }));
      multiset.push(await timed(() => diffFrames(scan(files.from), scan(files.to))));
      log(`diff bench rep ${rep + 1}: read ${read.at(-1)?.toFixed(0)} ms, keyed ${keyed.at(-1)?.toFixed(0)} ms, multiset ${multiset.at(-1)?.toFixed(0)} ms`);
    }
    const b = median(read) ?? NaN;
    const k = median(keyed) ?? NaN;
    const m = median(multiset) ?? NaN;
    const row = (name: string, ms: number, target: string, met: string) => `| ${name} | ${ms.toFixed(0)} ms | read both ${b.toFixed(0)} ms | ${(ms / b).toFixed(2)}× | ${target} | ${met} |`;
    return [
      "| Measure | Ours | Baseline | Ratio (ours ÷ baseline) | Target | Status |",
      "| --- | --- | --- | --- | --- | --- |",
      row(`Diff by key, ${rows} rows, 1% changed`, k, "≤ 2.0× read both", k / b <= 2 ? "met" : "not met"),
      row(`Diff as whole-row multisets, ${rows} rows`, m, "—", "info"),
      "",
      `${rows} rows × 6 columns, medians of ${reps}, ${os.availableParallelism()} cores, Node ${process.version}; counts ${counts}`,
    ].join("\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
