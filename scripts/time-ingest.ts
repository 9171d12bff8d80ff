/**
 * Times `parseUpload` (and, with `--inspect`, `inspectUpload`) in-process on one file, and prints
 * what it produced (dtypes, null counts, per-column sums of value hashes, the notes) so that two versions of the
 * ingest code can be compared for identical results as well as for speed.
 *
 *   PATH=$PWD/node_modules/.bin:$PATH node --import ./src/polars-fast.ts scripts/time-ingest.ts [file] [runs] [--inspect] [--child]
 *
 * Each run prints its stages (src/timing.ts); with `--child` it also runs what the parser child
 * does after the parse (render proof, data file write and checksum), so the stages match an upload's,
 * and the process's CPU time for the run (all threads).
 *
 * Default file: bench/data/bench-v1-2000000.csv (~185 MB, 2M rows × 10 columns). Runs default to 1.
 */
import { statSync } from "node:fs";
import path from "node:path";
import pl from "nodejs-polars";
import { frameColumnNames, frameHeight, frameSeries, lazyOf } from "../src/frame/safe.ts";
import { inspectUpload, parseUpload, sha256File } from "../src/ingest/index.ts";
import { DEFAULT_OPTIONS } from "../src/ingest/options.ts";
import { proveRenderable } from "../src/ingest/renderable.ts";
import { writeDataFile } from "../src/storage/data-file.ts";
import { beginStages, roundedTimes } from "../src/timing.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";

const args = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const inspect = process.argv.includes("--inspect");
const child = process.argv.includes("--child");
const out = mkdtempSync(path.join(tmpdir(), "time-ingest-"));
const file = path.resolve(args[0] ?? "bench/data/bench-v1-2000000.csv");
const runs = Number(args[1] ?? 1);
// Hashed before, as the API does while receiving: the parser child then does not hash (its stages match an upload's).
const upload = { path: file, originalName: path.basename(file), sizeBytes: statSync(file).size, sha256: await sha256File(file) };
const limits = { maxColumns: 10_000, maxRows: 100_000_000 };

for (let r = 0; r < runs; r++) {
  const stages = beginStages();
  const cpu0 = process.cpuUsage();
  const t = performance.now();
  const { frame, source } = await parseUpload(upload, { ...DEFAULT_OPTIONS }, limits);
  if (child) {
    await stages.time("proof", () => proveRenderable(frame));
    await writeDataFile(frame, path.join(out, `run${r}.parquet`), stages);
  }
  const ms = performance.now() - t;
  const cpu = process.cpuUsage(cpu0);
  // CPU time of every thread (Polars' pool included): less sensitive to other load than wall time
  console.log(`cpu ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms  stages ${JSON.stringify(roundedTimes(stages.times))}  cpu by stage ${JSON.stringify(roundedTimes(stages.cpu))}`);
  const series = frameSeries(frame);
  // Per column, a sum of value hashes: equal frames give equal sums.
  const names = frameColumnNames(frame);
  const hashed = await lazyOf(frame).select(names.map((n, i) => pl.col(n).hash(1, 2, 3, 4).cast(pl.Float64).sum().alias(`h${i}`))).collect();
  const hash = Object.values(hashed.toRecords()[0] as Record<string, number>).map((h) => h.toString(36)).join(":");
  console.log(`parseUpload ${(ms / 1000).toFixed(2)} s  rows ${frameHeight(frame)}  hash ${String(hash)}`);
  if (r === 0) {
    console.log(series.map((s) => `${s.name}: ${String(s.dtype)} (${s.nullCount()} null)`).join("\n"));
    console.log(`notes: ${JSON.stringify(source.notes ?? [])}`);
  }
}
if (inspect) {
  const t = performance.now();
  const report = await inspectUpload(upload, { ...DEFAULT_OPTIONS }, limits);
  console.log(`inspectUpload ${((performance.now() - t) / 1000).toFixed(2)} s`);
  console.log(JSON.stringify(report.columns));
}
rmSync(out, { recursive: true, force: true });
