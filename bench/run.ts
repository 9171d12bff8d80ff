/**
 * `npm run bench [-- --quick] [--reps N] [--duration S] [--connections N] [--budget S] [--profile]
 *   [--log-level L] [--server F]`; `--diff` and `--stats` run only those benchmarks (bench/diff.ts, bench/stats.ts)
 *
 * Generates (or reuses) the data, then per repetition runs the baselines (raw polars, DuckDB),
 * one fresh server through every HTTP part, and the hello-world server; prints the medians as a
 * markdown table on stdout (progress goes to stderr) and writes everything as JSON to
 * bench/results/<timestamp>.json.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { runBaselines } from "./baselines.ts";
import { ensureData } from "./generate.ts";
import { medians, type Metrics } from "./metrics.ts";
import { hotSpots } from "./profile.ts";
import { buildRows, markdownTable, stageTable } from "./report.ts";
import { runHello, runService } from "./service.ts";

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    reps: { type: "string" },
    duration: { type: "string" },
    connections: { type: "string", default: "20" },
    profile: { type: "boolean", default: false },
    "log-level": { type: "string", default: "warn" },
    // Another entry point speaking the same API (e.g. a branch's build); default src/server.ts.
    server: { type: "string" },
    // Wall-clock budget in seconds: no new repetition starts when it would likely overrun it.
    budget: { type: "string" },
    // Only the diff benchmark (bench/diff.ts): a 1M-row pair with 1% changes; --rows overrides.
    diff: { type: "boolean", default: false },
    // Only the statistics benchmark (bench/stats.ts): 10 × N and 1000 × N/100 cells vs SUMMARIZE.
    stats: { type: "boolean", default: false },
    rows: { type: "string" },
  },
});

if (args.diff) {
  const { runDiffBench } = await import("./diff.ts");
  const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
  console.log(await runDiffBench({ rows: Number(args.rows ?? 1_000_000), reps: Number(args.reps ?? 3), log }));
  process.exit(0);
}

const quick = args.quick === true;
const rows = quick ? 200_000 : 2_000_000;
const reps = Number(args.reps ?? 3);
const durationSec = Number(args.duration ?? (quick ? 2 : 5));
const connections = Number(args.connections);
const warmupSec = 1;
const budgetSec = Number(args.budget ?? (quick ? 110 : 540));
const log = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

const resultsDir = path.join(import.meta.dirname, "results");
mkdirSync(resultsDir, { recursive: true });
const stamp = new Date().toISOString().replaceAll(":", "-").replace(/\.\d+Z$/, "Z");
const serverLog = path.join(resultsDir, `${stamp}-server.log`);
const profileDir = path.join(resultsDir, `${stamp}-profiles`);

// The service's defaults, except: no rate limits (the load test would trip them) and per-request
// logging off (the hello-world baseline does not log either); --log-level info puts it back.
// A private UPLOAD_DIR: the server empties its upload folder at start-up, so sharing the default
// with another instance on the machine (tests, a dev server) would delete uploads in flight.
const uploadDir = mkdtempSync(path.join(os.tmpdir(), "dataset-bench-uploads-"));
const serverEnv: Record<string, string> = {
  STORAGE_BACKEND: "memory",
  UPLOAD_DIR: uploadDir,
  RATE_LIMIT_READS: "0",
  RATE_LIMIT_UPLOADS: "0",
  LOG_LEVEL: args["log-level"] ?? "warn",
  // as `npm start` runs it: two malloc arenas (glibc otherwise keeps freed Polars memory in one arena per thread)
  MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? "2",
};
// as `npm start` runs the server (src/polars-fast.ts must load before nodejs-polars)
const nodeFlags = ["--import", path.join(import.meta.dirname, "..", "src", "polars-fast.ts"), ...(args.profile ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [])];

const serverScript = path.resolve(args.server ?? path.join(import.meta.dirname, "..", "src", "server.ts"));

if (args.stats) {
  const { runStatsBench } = await import("./stats.ts");
  const statsRows = Number(args.rows ?? (quick ? 200_000 : 1_000_000));
  console.log(await runStatsBench({ rows: statsRows, reps, serverScript, nodeFlags, env: serverEnv, logFile: serverLog, log }));
  rmSync(uploadDir, { recursive: true, force: true });
  process.exit(0);
}

const started = performance.now();
const data = await ensureData(rows, log);
log(`data: ${rows} rows, CSV ${(data.csvBytes / 1e6).toFixed(0)} MB, Parquet ${(data.parquetBytes / 1e6).toFixed(0)} MB`);

const perRep: Metrics[] = [];
// The machine may be shared: the 1-minute load average before each repetition goes into the JSON.
const loadAverages: number[] = [];
const notes: string[] = [];
for (let rep = 1; rep <= reps; rep++) {
  const elapsed = (performance.now() - started) / 1000;
  const perRepSec = rep > 1 ? elapsed / (rep - 1) : 0;
  if (rep > 1 && elapsed + perRepSec > budgetSec) {
    notes.push(`stopped after ${rep - 1} of ${reps} repetitions: another (~${perRepSec.toFixed(0)} s each) would overrun the ${budgetSec} s budget (--budget)`);
    log(notes.at(-1) ?? "");
    break;
  }
  const m: Metrics = {};
  const step = async (name: string, fn: () => Promise<void>) => {
    const t = performance.now();
    try {
      await fn();
    } catch (err) {
      notes.push(`rep ${rep} ${name}: ${err instanceof Error ? err.message : String(err)}`);
      log(`rep ${rep} ${name} FAILED: ${String(err)}`);
    }
    log(`rep ${rep}/${reps} ${name} done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  };
  loadAverages.push(os.loadavg()[0] ?? 0);
  await step("baselines", async () => {
    Object.assign(m, await runBaselines(data));
  });
  await step("server", async () => {
    const r = await runService({ serverScript, data, rep, logFile: serverLog, env: serverEnv, nodeFlags, connections, durationSec, warmupSec });
    Object.assign(m, r.metrics);
    notes.push(...r.notes.map((n) => `rep ${rep} server: ${n}`));
  });
  await step("hello-world", async () => {
    Object.assign(m, await runHello({ connections, durationSec, warmupSec }, serverLog));
  });
  perRep.push(m);
}

rmSync(uploadDir, { recursive: true, force: true });
const med = medians(perRep);
const table = buildRows(med, { rows, csvBytes: data.csvBytes, parquetBytes: data.parquetBytes, connections });
const cpus = os.cpus();
const meta = {
  date: new Date().toISOString(),
  mode: quick ? "quick" : "full",
  command: `npm run bench${quick ? " -- --quick" : ""}`,
  node: process.version,
  nproc: os.availableParallelism(),
  cpuModel: cpus[0]?.model ?? "unknown",
  totalMemBytes: os.totalmem(),
  rows,
  csvBytes: data.csvBytes,
  parquetBytes: data.parquetBytes,
  reps: perRep.length,
  repsRequested: reps,
  budgetSec,
  connections,
  durationSec,
  warmupSec,
  server: path.relative(process.cwd(), serverScript),
  serverEnv,
  helloWorld: "separate process: Express 5 GET /hello → res.json, same Node binary (the server has no hello route)",
  loadAverages,
  wallSeconds: (performance.now() - started) / 1000,
};
const jsonPath = path.join(resultsDir, `${stamp}.json`);
writeFileSync(jsonPath, `${JSON.stringify({ meta, medians: med, table, notes, reps: perRep }, null, 2)}\n`);

const uniqueNotes = [...new Set(notes)];
process.stdout.write(`\n${markdownTable(table)}\n\n`);
const stages = stageTable(med);
if (stages) process.stdout.write(`${stages}\n\n`);
process.stdout.write(`${meta.mode} mode, ${rows} rows, medians of ${perRep.length} repetitions, ${meta.nproc} cores, ${(meta.totalMemBytes / 2 ** 30).toFixed(0)} GiB RAM, Node ${meta.node}, ${meta.date}; load average before each repetition ${loadAverages.map((l) => l.toFixed(1)).join(", ")}; wall ${meta.wallSeconds.toFixed(0)} s\n`);
if (uniqueNotes.length > 0) process.stdout.write(`\nNotes:\n${uniqueNotes.map((n) => `- ${n}`).join("\n")}\n`);
if (args.profile) {
  // One profile per server process (one per repetition); show the hot spots of the first.
  const first = readdirSync(profileDir).filter((f) => f.endsWith(".cpuprofile")).sort()[0];
  if (first) {
    const file = path.join(profileDir, first);
    const spots = hotSpots(JSON.parse(readFileSync(file, "utf8")) as Parameters<typeof hotSpots>[0]).slice(0, 20);
    process.stdout.write(`\nServer CPU profile (${path.relative(process.cwd(), file)}), top self time:\n`);
    for (const s of spots) process.stdout.write(`${(s.share * 100).toFixed(1).padStart(5)}%  ${s.ms.toFixed(0).padStart(7)} ms  ${s.name}\n`);
  }
}
process.stdout.write(`\nJSON: ${path.relative(process.cwd(), jsonPath)}\n`);
