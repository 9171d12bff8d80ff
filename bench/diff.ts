/**
 * Diff benchmark (issue 14): a 1M-row pair of versions with 1% changes (0.4% edited, 0.3%
 * removed, 0.3% added), stored as Parquet like versions are, in three row orders:
 *   key order   both versions stored in id order (the common case: uploads in key order)
 *   same order  both stored in one shuffled order (uploads not in key order, edited in place)
 *   reordered   `to` in another order than `from` (a re-sorted export)
 * Measures, in this process, per repetition and interleaved:
 *   baseline    reading both versions (scanParquet + collect, both at once)
 *   keyed       diffFrames(from, to, key) — counts and every differing row's position — for one
 *               Int64 key (id), a text key (sku) and a two-column key (grp, seq)
 *   multiset    diffFrames(from, to) — whole-row multiset comparison
 * and prints medians and ratios (ours ÷ baseline, each from its own order's files), by wall
 * clock and by the process's CPU time (user + system, every thread): on a shared machine the
 * CPU ratio says how much work the diff does, the wall ratio what a user waits. The target is
 * keyed ≤ 2× baseline.
 *
 *   npm run bench -- --diff [--rows N] [--reps N]
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pl from "nodejs-polars";
import { diffFrames } from "../src/frame/diff.ts";
import { median } from "./metrics.ts";

type Order = "key" | "same" | "reordered";
type Files = { from: string; to: string };

/** The pair as Parquet files in each row order (written by Polars sinks, off the event loop). */
async function writeVersions(rows: number, dir: string): Promise<Record<Order, Files>> {
  const int = (n: number) => pl.lit(n).cast(pl.Int64);
  const idx = pl.intRange(0, rows, 1, pl.Int64, true).alias("i");
  const base = pl.DataFrame([idx]).lazy().select(
    // Int64, as an uploaded CSV's id column is (a JS number literal would make it Float64)
    pl.col("i").add(int(1_000_000)).alias("id"),
    pl.concatString([pl.lit("SKU-"), pl.col("i").cast(pl.String)], "").alias("sku"),
    pl.col("i").modulo(int(1000)).alias("grp"),
    pl.col("i").sub(pl.col("i").modulo(int(1000))).cast(pl.Float64).div(1000).cast(pl.Int64).alias("seq"),
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
  const added = base
    .head(Math.floor(rows * 0.003))
    .withColumns(pl.col("id").add(int(10_000_000)), pl.concatString([pl.lit("NEW-"), pl.col("i").cast(pl.String)], "").alias("sku"), pl.col("seq").add(int(1_000_000)))
    .drop("i");
  const to = pl.concat([edited, added], { how: "vertical" });
  // a fixed pseudo-random order of the ids (multiplicative hash), and another one
  const shuffled = (lf: pl.LazyDataFrame, mul: number) => lf.withColumns(pl.col("id").mul(int(mul)).modulo(int(1_000_003)).alias("_s")).sort("_s").drop("_s");
  const files = {} as Record<Order, Files>;
  const write = async (order: Order, a: pl.LazyDataFrame, b: pl.LazyDataFrame) => {
    files[order] = { from: path.join(dir, `${order}-from.parquet`), to: path.join(dir, `${order}-to.parquet`) };
    await a.sinkParquet(files[order].from).collect();
    await b.sinkParquet(files[order].to).collect();
  };
  await write("key", from, to);
  await write("same", shuffled(from, 2654435761), shuffled(to, 2654435761));
  await write("reordered", from, shuffled(to, 40503));
  return files;
}

/** Wall-clock and process CPU milliseconds of one run. */
async function timed(fn: () => Promise<unknown>): Promise<{ wall: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const t = performance.now();
  await fn();
  const used = process.cpuUsage(cpu);
  return { wall: performance.now() - t, cpu: (used.user + used.system) / 1000 };
}

interface Case {
  name: string;
  order: Order;
  key: string[];
  /** Held to the ≤ 2× target (the multiset diff is reported only). */
  target: boolean;
}

const CASES: Case[] = [
  { name: "key id (Int64), versions in key order", order: "key", key: ["id"], target: true },
  { name: "key id (Int64), versions in one other order", order: "same", key: ["id"], target: true },
  { name: "key id (Int64), `to` reordered", order: "reordered", key: ["id"], target: true },
  { name: "key sku (text), versions in key order", order: "key", key: ["sku"], target: true },
  { name: "key grp, seq (two Int64 columns)", order: "key", key: ["grp", "seq"], target: true },
  { name: "no key: whole-row multisets", order: "key", key: [], target: false },
  { name: "no key: whole-row multisets, `to` reordered", order: "reordered", key: [], target: false },
];

export async function runDiffBench({ rows, reps, log }: { rows: number; reps: number; log: (m: string) => void }): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "dataset-bench-diff-"));
  try {
    const files = await writeVersions(rows, dir);
    log(`diff bench: ${rows} rows, Parquet ${(statSync(files.key.from).size / 1e6).toFixed(1)} + ${(statSync(files.key.to).size / 1e6).toFixed(1)} MB (key order)`);
    const scan = (f: string) => pl.scanParquet(f, { glob: false, hivePartitioning: false });
    const orders: Order[] = ["key", "same", "reordered"];
    const read: Record<Order, { wall: number; cpu: number }[]> = { key: [], same: [], reordered: [] };
    const runs = CASES.map(() => [] as { wall: number; cpu: number }[]);
    const counts = CASES.map(() => "");
    const load = os.loadavg()[0] ?? 0;
    for (let rep = 0; rep < reps; rep++) {
      for (const order of orders) read[order].push(await timed(() => Promise.all([scan(files[order].from).collect(), scan(files[order].to).collect()])));
      for (const [c, spec] of CASES.entries()) {
        const f = files[spec.order];
        runs[c]?.push(await timed(async () => {
          counts[c] = JSON.stringify((await diffFrames(scan(f.from), scan(f.to), spec.key)).rows);
        }));
      }
      log(`diff bench rep ${rep + 1}: read ${read.key.at(-1)?.wall.toFixed(0)} ms; ${CASES.map((spec, c) => `${spec.key.join(",") || "multiset"}/${spec.order} ${runs[c]?.at(-1)?.wall.toFixed(0)} ms`).join(", ")}`);
    }
    const med = (xs: { wall: number; cpu: number }[], k: "wall" | "cpu") => median(xs.map((x) => x[k])) ?? NaN;
    const lines = [
      "| Measure | Ours (wall / CPU) | Baseline: read both (wall / CPU) | Ratio wall | Ratio CPU | Target | Status |",
      "| --- | --- | --- | --- | --- | --- | --- |",
    ];
    for (const [c, spec] of CASES.entries()) {
      const r = read[spec.order];
      const ours = runs[c] ?? [];
      const wall = med(ours, "wall") / med(r, "wall");
      const cpu = med(ours, "cpu") / med(r, "cpu");
      const status = spec.target ? (wall <= 2 ? "met" : "not met") : "info";
      lines.push(`| Diff, ${spec.name}, ${rows} rows, 1% changed | ${med(ours, "wall").toFixed(0)} / ${med(ours, "cpu").toFixed(0)} ms | ${med(r, "wall").toFixed(0)} / ${med(r, "cpu").toFixed(0)} ms | ${wall.toFixed(2)}× | ${cpu.toFixed(2)}× | ${spec.target ? "≤ 2.0× read both" : "—"} | ${status} |`);
    }
    lines.push(
      "",
      `${rows} rows × 9 columns, medians of ${reps}, ${os.availableParallelism()} cores, load average ${load.toFixed(1)} → ${(os.loadavg()[0] ?? 0).toFixed(1)}, Node ${process.version}; counts (key order, id): ${counts[0]}`,
    );
    return lines.join("\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
