/**
 * Memory of the API process over identical upload → read → delete cycles, in one server process:
 * the measurement behind README "Memory under load" (not part of `npm test`).
 *
 *   node scripts/memory-cycles.ts [--backend memory|local] [--cycles 30] [--rows 40000] [--port 4790]
 *        [--raw] [--trim] [--debug F]
 *   node scripts/memory-cycles.ts --ingest FILE [--backend memory] …
 *
 * Starts the server as `npm start` does (`node --import ./src/polars-fast.ts src/server.ts`;
 * `--raw` starts `node src/server.ts` with no flags and no MALLOC_ARENA_MAX, to check the fix holds
 * there too), then reads RSS (and `/proc/<pid>/smaps_rollup`'s anonymous memory):
 * - idle: after start-up, children loaded;
 * - warm idle: after one cycle and its delete (Polars' thread pool and one-time set-up are not a leak);
 * - after N cycles, everything deleted, 3 s later; and the growth per cycle from warm idle.
 * One cycle: upload a CSV, add a half-size version, plain/offset/sorted/filtered pages, stats and
 * filtered stats, three downloads, delete the version and the dataset. Environment variables the
 * caller sets (GLIBC_TUNABLES, MALLOC_ARENA_MAX, …) pass through to the server.
 * `--trim` then asks glibc to give back what it keeps (`malloc_trim(0)` through gdb, where
 * installed) and reads RSS again: what that frees was free memory glibc held, not live objects.
 * `--debug F` preloads F too (e.g. a module that writes V8 heap figures on SIGUSR2).
 * `--ingest FILE` measures issue 13's memory targets instead: RSS right after the upload's 201 and
 * its peak (VmHWM, reset before each upload), minus idle, against the frame's estimated size
 * (`/api/health` memory.dataBytes); once on the fresh server and once more after that upload was
 * deleted (against the warm idle).
 */
import { execFileSync, spawn } from "node:child_process";
import { openAsBlob, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { cycleCsv, procNumber, xorshift } from "./load-data.ts";

const { values: args } = parseArgs({
  options: {
    backend: { type: "string", default: "memory" },
    cycles: { type: "string", default: "30" },
    rows: { type: "string", default: "40000" },
    port: { type: "string", default: "4790" },
    raw: { type: "boolean", default: false },
    trim: { type: "boolean", default: false },
    debug: { type: "string", default: "" },
    ingest: { type: "string", default: "" },
  },
});
const ROOT = path.resolve(import.meta.dirname, "..");
const MB = 1e6;
const CYCLES = Number(args.cycles);
const ROWS = Number(args.rows);

const rss = (pid: number) => procNumber(pid, "status", "VmRSS") * 1024;
const anon = (pid: number) => procNumber(pid, "smaps_rollup", "Anonymous") * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "memory-cycles-"));
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: String(args.port),
    HOST: "127.0.0.1",
    LOG_LEVEL: "warn",
    STORAGE_BACKEND: String(args.backend),
    DATA_DIR: path.join(dir, "data"),
    UPLOAD_DIR: path.join(dir, "uploads"),
    RATE_LIMIT_READS: "0",
    RATE_LIMIT_UPLOADS: "0",
  };
  const flags = args.raw ? [] : ["--import", "./src/polars-fast.ts"];
  if (!args.raw) env.MALLOC_ARENA_MAX ??= "2";
  if (args.debug) flags.push("--import", String(args.debug));
  const server = spawn(process.execPath, [...flags, "src/server.ts"], { cwd: ROOT, env, stdio: ["ignore", "inherit", "inherit"] });
  process.once("exit", () => server.exitCode === null && server.kill("SIGKILL"));
  const base = `http://127.0.0.1:${args.port}`;
  for (let i = 0; ; i++) {
    if (await fetch(`${base}/api/health`).then((r) => r.ok, () => false)) break;
    if (i > 300 || server.exitCode !== null) throw new Error("server did not start");
    await sleep(100);
  }
  const pid = server.pid as number;
  await sleep(3000);

  const ok = async (r: Response, what: string) => {
    if (r.status >= 400) throw new Error(`${what}: ${r.status} ${await r.text()}`);
    return r;
  };
  const upload = async (url: string, content: string, name?: string) => {
    const form = new FormData();
    if (name) form.append("name", name);
    form.append("file", new Blob([content]), "cycle.csv");
    return (await (await ok(await fetch(`${base}${url}`, { method: "POST", body: form }), "upload")).json()) as { dataset: { id: string } };
  };
  const get = async (url: string) => (await ok(await fetch(`${base}${url}`), url)).arrayBuffer();
  const first = cycleCsv(ROWS, xorshift(7));
  const second = cycleCsv(Math.floor(ROWS / 2), xorshift(11));
  const cycle = async (n: number) => {
    const { dataset } = await upload("/api/datasets/upload", first, `cycle-${n}`);
    const id = dataset.id;
    await upload(`/api/datasets/${id}/versions`, second);
    const v = `/api/datasets/${id}/versions/1`;
    for (const q of ["", "?offset=20000&limit=100", "?sort=-price&limit=50", "?filter=qty:gt:50&sort=name", "?filter=name:startswith:name-1&format=arrays"]) await get(`${v}/data${q}`);
    await get(`${v}/stats`);
    await get(`${v}/stats?filter=flag:eq:true`);
    await get(`${v}/download?format=csv`);
    await get(`${v}/download?format=parquet&columns=id,price`);
    await get(`/api/datasets/${id}/versions/2/download?format=ndjson&filter=qty:lt:10`);
    await ok(await fetch(`${base}/api/datasets/${id}/versions/2`, { method: "DELETE" }), "delete version");
    await ok(await fetch(`${base}/api/datasets/${id}`, { method: "DELETE" }), "delete dataset");
  };
  const settle = async () => {
    await sleep(3000);
    return { rss: rss(pid), anon: anon(pid) };
  };
  const mb = (x: { rss: number; anon: number }) => `${(x.rss / MB).toFixed(1)} MB (anon ${(x.anon / MB).toFixed(1)})`;

  const idle = { rss: rss(pid), anon: anon(pid) };
  const heapNow = async () => {
    server.kill("SIGUSR2");
    await sleep(1000);
    return readFileSync(`/tmp/mem/dbg-${pid}.json`, "utf8");
  };
  if (args.ingest) {
    if (args.debug) console.log(`  heap at idle: ${await heapNow()}`);
    const file = String(args.ingest);
    const content = await openAsBlob(file);
    for (const round of ["fresh server", "after one upload made and deleted"]) {
      const before = { rss: rss(pid), anon: anon(pid) };
      writeFileSync(`/proc/${pid}/clear_refs`, "5"); // resets VmHWM
      const form = new FormData();
      form.append("file", content, path.basename(file));
      const t = performance.now();
      const r = await fetch(`${base}/api/datasets/upload`, { method: "POST", body: form });
      const ms = performance.now() - t;
      const body = (await (await ok(r, "upload")).json()) as { dataset: { id: string } };
      const after = { rss: rss(pid), anon: anon(pid) };
      const peak = procNumber(pid, "status", "VmHWM") * 1024;
      if (args.debug) console.log(`  heap after the 201: ${await heapNow()}`);
      const health = (await (await fetch(`${base}/api/health`)).json()) as { memory: { dataBytes: number } };
      const frame = health.memory.dataBytes;
      await sleep(6000);
      const settled = { rss: rss(pid), anon: anon(pid) };
      const x = (v: number) => `${((v - before.rss) / frame).toFixed(2)}×`;
      console.log(`${round}: idle ${mb(before)}; after the 201 (${ms.toFixed(0)} ms) ${mb(after)}; peak ${(peak / MB).toFixed(1)} MB; 6 s later ${mb(settled)}; frame ${(frame / MB).toFixed(1)} MB`);
      console.log(`  (RSS after − idle) ÷ frame ${x(after.rss)}, (peak − idle) ÷ frame ${x(peak)}, 6 s later ${x(settled.rss)}; anonymous after − idle ${((after.anon - before.anon) / MB).toFixed(1)} MB`);
      await ok(await fetch(`${base}/api/datasets/${body.dataset.id}`, { method: "DELETE" }), "delete");
      await sleep(3000);
    }
    console.log(`load ${os.loadavg()[0]?.toFixed(1)}; MALLOC_ARENA_MAX=${env.MALLOC_ARENA_MAX ?? ""}`);
    server.kill("SIGTERM");
    await new Promise((r) => server.once("exit", r));
    await rm(dir, { recursive: true, force: true });
    return;
  }
  await cycle(0);
  const warm = await settle();
  const heap = async () => {
    if (!args.debug) return "";
    server.kill("SIGUSR2");
    await sleep(1500);
    return readFileSync(`/tmp/mem/dbg-${pid}.json`, "utf8");
  };
  const warmHeap = await heap();
  const points: number[] = [];
  const started = Date.now();
  for (let n = 1; n <= CYCLES; n++) {
    await cycle(n);
    points.push(rss(pid));
  }
  const seconds = (Date.now() - started) / 1000;
  const after = await settle();
  console.log(`backend ${args.backend}${args.raw ? " (raw node src/server.ts)" : ""}, ${CYCLES} cycles of ${ROWS} rows in ${seconds.toFixed(0)} s, load ${os.loadavg()[0]?.toFixed(1)}`);
  console.log(`GLIBC_TUNABLES=${env.GLIBC_TUNABLES ?? ""} MALLOC_ARENA_MAX=${env.MALLOC_ARENA_MAX ?? ""}`);
  console.log(`idle ${mb(idle)}; warm idle ${mb(warm)}; peak during ${(Math.max(...points) / MB).toFixed(1)} MB; after ${CYCLES} cycles + 3 s ${mb(after)}`);
  console.log(`growth per cycle from warm idle: ${((after.rss - warm.rss) / CYCLES / 1024).toFixed(0)} KB`);
  if (args.trim) {
    try {
      execFileSync("gdb", ["-p", String(pid), "-batch", "-ex", "call (int) malloc_trim(0)"], { stdio: "ignore" });
      console.log(`after malloc_trim(0): ${mb({ rss: rss(pid), anon: anon(pid) })}`);
    } catch (error) {
      console.log(`malloc_trim through gdb failed: ${(error as Error).message}`);
    }
  }
  if (args.debug) console.log(`heap at warm idle: ${warmHeap}\nheap after: ${await heap()}`);
  server.kill("SIGTERM");
  await new Promise((r) => server.once("exit", r));
  await rm(dir, { recursive: true, force: true });
}

await main();
