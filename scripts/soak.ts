/**
 * Soak: N minutes of mixed load against a real server process, its memory sampled, and a report
 * of how memory grew (not part of `npm test`).
 *
 *   node scripts/soak.ts [--minutes 10] [--backend memory|local] [--budget BYTES] [--workers 4] [--json out.json] [--trim]
 *
 * The server is plain `node src/server.ts` (no flags, no MALLOC_ARENA_MAX unless the caller sets
 * it: memory must come back however the server is started) on a free loopback port, in temp
 * folders. Each worker repeats one *cycle*: upload a CSV (1k–40k rows), add a version, read pages
 * (plain, sorted, filtered, by cursor), stats and filtered stats, download CSV and Parquet, send
 * bad requests (unknown column, bad filter, random bytes, oversized header, unknown dataset), and
 * delete what it made, so the stored data stays bounded and every cycle ends where it began. RSS
 * of the API process (and of its parser children) is sampled every second; /api/health latency
 * is measured all along. At the end every dataset is deleted and RSS is read again after a pause:
 * memory must come back.
 *
 * Before the load, one cycle is run and deleted: "warm idle" (Polars' thread pool, the pages of its
 * 120 MB library that ran, one-time set-up) is what memory must come back to. Growth per cycle is
 * the least-squares slope of API RSS against completed cycles, over the run after its first fifth.
 * RSS counts file-backed pages (code) too, so anonymous memory (smaps_rollup) is reported beside
 * it. `--trim` (diagnosis) then calls glibc's malloc_trim(0) in the server through gdb: what that
 * gives back was free memory the allocator kept, not live objects.
 */
import { execFileSync, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { cycleCsv, procNumber, xorshift } from "./load-data.ts";

const { values: args } = parseArgs({
  options: {
    minutes: { type: "string", default: "10" },
    backend: { type: "string", default: "memory" },
    budget: { type: "string", default: "" },
    workers: { type: "string", default: "4" },
    json: { type: "string", default: "" },
    trim: { type: "boolean", default: false },
  },
});
const MINUTES = Number(args.minutes);
const WORKERS = Number(args.workers);
const ROOT = path.resolve(import.meta.dirname, "..");
const MB = 1e6;
/** Wait before the warm idle and the after-delete readings: the last version deleted can stay referenced ~10 s before a collection frees it. */
const SETTLE_MS = 15_000;

const rssOf = (pid: number) => procNumber(pid, "status", "VmRSS") * 1024;
/** Anonymous (heap, not file-backed) bytes: RSS also counts the pages of Polars' 120 MB library that ran once. */
const anonOf = (pid: number) => procNumber(pid, "smaps_rollup", "Anonymous") * 1024;
const threadsOf = (pid: number) => procNumber(pid, "status", "Threads");

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "soak-"));
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    STORAGE_BACKEND: String(args.backend),
    DATA_DIR: path.join(dir, "data"),
    UPLOAD_DIR: path.join(dir, "uploads"),
    RATE_LIMIT_READS: "0",
    RATE_LIMIT_UPLOADS: "0",
  };
  if (args.budget) env.MEMORY_BUDGET_BYTES = String(args.budget);
  const port = await freePort();
  env.PORT = String(port);
  const proc = spawn(process.execPath, ["src/server.ts"], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  // never leave the server behind, however this script ends
  const stopServer = () => proc.exitCode === null && proc.kill("SIGKILL");
  process.once("exit", stopServer);
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => process.exit(130));
  let log = "";
  proc.stdout.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
  proc.stderr.on("data", (d: Buffer) => (log = (log + d.toString()).slice(-20_000)));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/api/health`)).ok) break;
    } catch {
      // not up yet
    }
    if (i > 300 || proc.exitCode !== null) throw new Error(`server did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const pid = proc.pid as number;
  await new Promise((r) => setTimeout(r, 2000));
  const idleRss = rssOf(pid);
  const idleAnon = anonOf(pid);

  const statuses: Record<string, number> = {};
  const count = (s: number | string) => (statuses[String(s)] = (statuses[String(s)] ?? 0) + 1);
  const samples: { t: number; cycles: number; rss: number; anon: number; children: number }[] = [];
  const healthMs: number[] = [];
  let cycles = 0;
  // set when the load starts, after the warm-up cycle
  let started = Infinity;
  let deadline = Infinity;

  const sample = () => samples.push({ t: (Date.now() - started) / 1000, cycles, rss: rssOf(pid), anon: anonOf(pid), children: childrenOf(pid).reduce((sum, c) => sum + rssOf(c), 0) });
  const healthLoop = async () => {
    while (Date.now() < deadline) {
      const t = performance.now();
      try {
        const r = await fetch(`${base}/api/health`, { signal: AbortSignal.timeout(10_000) });
        await r.arrayBuffer();
        if (!r.ok) count(`health ${r.status}`);
      } catch {
        count("health error");
      }
      healthMs.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  const call = async (pathname: string, init?: RequestInit): Promise<Response | null> => {
    try {
      const r = await fetch(`${base}${pathname}`, { ...init, signal: AbortSignal.timeout(120_000) });
      count(r.status);
      return r;
    } catch (err) {
      count(`error ${(err as Error).name}`);
      return null;
    }
  };
  const drain = async (r: Response | null) => (r ? await r.arrayBuffer().catch(() => null) : null);
  const uploadCsv = async (pathname: string, name: string, content: string, extra: Record<string, string> = {}) => {
    const form = new FormData();
    for (const [k, v] of Object.entries(extra)) form.append(k, v);
    form.append("file", new Blob([content]), name);
    return call(pathname, { method: "POST", body: form });
  };

  const cycle = async (w: number, rand: () => number) => {
    {
      const rows = 1000 + Math.floor(rand() * 39_000);
      const up = await uploadCsv("/api/datasets/upload", `soak-${w}.csv`, cycleCsv(rows, rand), { name: `soak-${w}-${cycles}-${Math.floor(rand() * 1e9)}` });
      const body = up && up.status === 201 ? ((await up.json()) as { dataset: { id: string } }) : (await drain(up), null);
      if (body) {
        const id = body.dataset.id;
        await drain(await uploadCsv(`/api/datasets/${id}/versions`, "v2.csv", cycleCsv(Math.floor(rows / 2), rand)));
        const v = `/api/datasets/${id}/versions/1`;
        for (const q of ["", `?offset=${Math.floor(rand() * rows)}&limit=100`, "?sort=-price&limit=50", "?filter=qty:gt:50&sort=name", "?filter=name:startswith:name-1&format=arrays", `?filter=day:gte:2024-06-01&columns=id,day`]) {
          const page = await call(`${v}/data${q}`);
          const next = page && page.status === 200 ? ((await page.json()) as { next: string | null }).next : (await drain(page), null);
          if (next) await drain(await call(`${v}/data?cursor=${encodeURIComponent(next)}`));
        }
        await drain(await call(`${v}/stats`));
        await drain(await call(`${v}/stats?filter=flag:eq:true`));
        await drain(await call(`${v}/download?format=csv`));
        await drain(await call(`${v}/download?format=parquet&columns=id,price`));
        await drain(await call(`/api/datasets/${id}/versions/2/download?format=ndjson&filter=qty:lt:10`));
        // bad requests
        await drain(await call(`${v}/data?columns=nope`));
        await drain(await call(`${v}/data?filter=price:gt:abc`));
        await drain(await call(`${v}/data?sort=-nope`));
        await drain(await call(`/api/datasets/00000000-0000-4000-8000-000000000000/versions/1/stats`));
        await drain(await call(`${v}/data`, { headers: { "x-big": "a".repeat(20_000) } }));
        await drain(await call(`/api/datasets/${id}/versions/2`, { method: "DELETE" }));
        await drain(await call(`/api/datasets/${id}`, { method: "DELETE" }));
      }
      const junk = Buffer.alloc(4096);
      for (let i = 0; i < junk.length; i++) junk[i] = Math.floor(rand() * 256);
      await drain(await uploadCsv("/api/datasets/upload", "junk.csv", junk.toString("latin1")));
    }
  };
  const worker = async (w: number) => {
    const rand = xorshift(1000 + w);
    while (Date.now() < deadline) {
      await cycle(w, rand);
      cycles += 1;
    }
  };

  // Warm idle: one cycle made and deleted (Polars' thread pool, code pages and one-time set-up are not growth).
  await cycle(99, xorshift(99));
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const warmRss = rssOf(pid);
  const warmAnon = anonOf(pid);
  const warmThreads = threadsOf(pid);

  started = Date.now();
  deadline = started + MINUTES * 60_000;
  const sampler = setInterval(sample, 1000);
  const health = healthLoop();
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  await health;
  const endRss = rssOf(pid);
  const endAnon = anonOf(pid);
  // whatever is left (a refused delete, say): delete it, then give memory a moment to come back
  const left = (await (await fetch(`${base}/api/datasets?limit=1000`)).json()) as { items: { id: string }[] };
  for (const d of left.items) await drain(await call(`/api/datasets/${d.id}`, { method: "DELETE" }));
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const afterDeleteRss = rssOf(pid);
  const afterDeleteAnon = anonOf(pid);
  const afterDeleteThreads = threadsOf(pid);
  // what the server says it still holds (cached frames, data bytes) once everything is deleted
  const healthAfter = (await (await fetch(`${base}/api/health`)).json()) as Record<string, unknown>;
  clearInterval(sampler);
  // --trim (diagnosis): what glibc's malloc_trim(0) gives back was free memory the allocator kept, not live objects
  let trimmed: { rss: number; anon: number } | null = null;
  let mallocStats: { systemBytes: number; inUseBytes: number } | null = null;
  if (args.trim) {
    try {
      // malloc_stats() prints each arena's "system bytes" (held from the OS) and "in use bytes" (live) to the server's stderr
      execFileSync("gdb", ["-p", String(pid), "-batch", "-ex", "call (void) malloc_stats()", "-ex", "call (int) malloc_trim(0)"], { stdio: "ignore", timeout: 60_000 });
      trimmed = { rss: rssOf(pid), anon: anonOf(pid) };
      await new Promise((r) => setTimeout(r, 200));
      const totals = /Total \(incl\. mmap\):\s*system bytes\s*=\s*(\d+)\s*in use bytes\s*=\s*(\d+)/.exec(log);
      if (totals) mallocStats = { systemBytes: Number(totals[1]), inUseBytes: Number(totals[2]) };
    } catch (error) {
      console.error(`malloc_trim through gdb failed: ${(error as Error).message}`);
    }
  }
  proc.kill("SIGTERM");
  await new Promise((r) => proc.once("exit", r));
  await rm(dir, { recursive: true, force: true });

  const warm = samples.filter((s) => s.t >= (MINUTES * 60) / 5);
  const slope = regression(warm.map((s) => s.cycles), warm.map((s) => s.rss));
  const anonSlope = regression(warm.map((s) => s.cycles), warm.map((s) => s.anon));
  const peak = Math.max(...samples.map((s) => s.rss));
  const childPeak = Math.max(0, ...samples.map((s) => s.children));
  const sortedHealth = [...healthMs].sort((a, b) => a - b);
  const fiveXX = Object.entries(statuses).filter(([k]) => /^5\d\d$/.test(k)).reduce((n, [, v]) => n + v, 0);
  const report = {
    backend: args.backend,
    minutes: MINUTES,
    workers: WORKERS,
    budgetBytes: args.budget || "default",
    cycles,
    idleRssMB: round(idleRss / MB),
    warmIdleRssMB: round(warmRss / MB),
    idleAnonMB: round(idleAnon / MB),
    warmIdleAnonMB: round(warmAnon / MB),
    endAnonMB: round(endAnon / MB),
    afterDeleteAllAnonMB: round(afterDeleteAnon / MB),
    warmIdleThreads: warmThreads,
    afterDeleteAllThreads: afterDeleteThreads,
    afterTrimRssMB: trimmed ? round(trimmed.rss / MB) : null,
    afterTrimAnonMB: trimmed ? round(trimmed.anon / MB) : null,
    mallocSystemMB: mallocStats ? round(mallocStats.systemBytes / MB) : null,
    mallocInUseMB: mallocStats ? round(mallocStats.inUseBytes / MB) : null,
    peakRssMB: round(peak / MB),
    endRssMB: round(endRss / MB),
    afterDeleteAllRssMB: round(afterDeleteRss / MB),
    rssAtFifthMB: round((warm[0]?.rss ?? 0) / MB),
    growthPerCycleKB: round(slope / 1024),
    // what stayed for good: after deleting everything, over the warm idle, per cycle run
    netGrowthPerCycleKB: round((afterDeleteRss - warmRss) / Math.max(1, cycles) / 1024),
    anonGrowthPerCycleKB: round(anonSlope / 1024),
    parserChildrenPeakRssMB: round(childPeak / MB),
    healthP50Ms: round(sortedHealth[Math.floor(sortedHealth.length / 2)] ?? 0),
    healthP99Ms: round(sortedHealth[Math.floor(sortedHealth.length * 0.99)] ?? 0),
    healthMaxMs: round(sortedHealth[sortedHealth.length - 1] ?? 0),
    fiveXX,
    statuses,
    rssTimelineMB: samples.filter((_, i) => i % 30 === 0).map((s) => [Math.round(s.t), s.cycles, round(s.rss / MB)]),
  };
  console.log(`\nsoak: ${report.backend} backend, ${MINUTES} min, ${WORKERS} workers, budget ${report.budgetBytes}`);
  console.log(`| cycles | idle RSS | warm idle | RSS at 1/5 | peak RSS | end RSS | after deleting all | growth per cycle (slope / net) | parser children peak | health p50 / p99 / max | 5xx |`);
  console.log(`| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |`);
  console.log(`| ${cycles} | ${report.idleRssMB} MB | ${report.warmIdleRssMB} MB | ${report.rssAtFifthMB} MB | ${report.peakRssMB} MB | ${report.endRssMB} MB | ${report.afterDeleteAllRssMB} MB | ${report.growthPerCycleKB} / ${report.netGrowthPerCycleKB} KB | ${report.parserChildrenPeakRssMB} MB | ${report.healthP50Ms} / ${report.healthP99Ms} / ${report.healthMaxMs} ms | ${fiveXX} |`);
  console.log(`anonymous memory (RSS without file-backed pages): idle ${report.idleAnonMB} MB, warm idle ${report.warmIdleAnonMB} MB, end ${report.endAnonMB} MB, after deleting all ${report.afterDeleteAllAnonMB} MB, growth per cycle ${report.anonGrowthPerCycleKB} KB; threads ${warmThreads} at warm idle, ${afterDeleteThreads} after deleting all${trimmed ? `; after malloc_trim(0): RSS ${report.afterTrimRssMB} MB, anonymous ${report.afterTrimAnonMB} MB` : ""}${mallocStats ? `; glibc malloc before the trim: ${report.mallocSystemMB} MB held from the OS, ${report.mallocInUseMB} MB in use` : ""}`);
  console.log(`health after deleting all: ${JSON.stringify(healthAfter)}`);
  console.log(`load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`);
  console.log(`statuses: ${JSON.stringify(statuses)}`);
  console.log(`RSS timeline [s, cycles, MB]: ${JSON.stringify(report.rssTimelineMB)}`);
  if (fiveXX > 0) console.log(`server log tail:\n${log.slice(-4000)}`);
  if (args.json) writeFileSync(String(args.json), JSON.stringify(report, null, 2));
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** Least-squares slope of y over x (0 when x does not vary). */
function regression(x: number[], y: number[]): number {
  const n = x.length;
  if (n < 2) return 0;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += ((x[i] as number) - mx) * ((y[i] as number) - my);
    den += ((x[i] as number) - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

await main();
