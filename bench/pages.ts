/**
 * `node bench/pages.ts [--reps N] [--duration S] [--connections N] [--profile]` — the page part of
 * the benchmark alone (issue 13's page targets), faster than the whole `npm run bench`.
 *
 * Per repetition, in one run: a fresh server (memory backend, the settings of bench/run.ts), the
 * quick CSV (200,000 rows) uploaded once, then autocannon on 100-row pages at seeded random offsets,
 * the same with filter + sort; then the
 * hello-world (`/hello`, 17 bytes) and the hello-world sending a page-sized body (`/body`: the
 * bytes of a real page, so the ratio against it shows what the body itself costs).
 * Prints medians and the load average; `--profile` writes the server's CPU profile of the page
 * loads only (node --cpu-prof) and prints the inclusive time per request of the main pieces.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { HELLO_SCRIPT } from "./baselines.ts";
import { ensureData, prng } from "./generate.ts";
import { load, timedGet, upload, type LoadResult } from "./http.ts";
import { childrenSettled, startServer } from "./proc.ts";
import { inclusive } from "./profile.ts";

const { values: args } = parseArgs({
  options: {
    reps: { type: "string", default: "3" },
    duration: { type: "string", default: "2" },
    connections: { type: "string", default: "20" },
    profile: { type: "boolean", default: false },
    rows: { type: "string", default: "200000" },
    // Offsets only within the first N rows (default: the whole version): N small → rendered rows
    // are all cached, which shows the request path's own cost.
    span: { type: "string" },
    // Servers to compare in the same run (entry points, comma-separated; default src/server.ts),
    // each measured in every repetition, in turn, before the hello-worlds.
    servers: { type: "string" },
  },
});
const reps = Number(args.reps);
const durationSec = Number(args.duration);
const connections = Number(args.connections);
const rows = Number(args.rows);
const log = (msg: string) => process.stderr.write(`[pages ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

const tmp = mkdtempSync(path.join(os.tmpdir(), "dataset-bench-pages-"));
const serverLog = path.join(tmp, "server.log");
const profileDir = path.join(tmp, "profiles");
const serverEnv: Record<string, string> = {
  STORAGE_BACKEND: "memory",
  UPLOAD_DIR: path.join(tmp, "uploads"),
  RATE_LIMIT_READS: "0",
  RATE_LIMIT_UPLOADS: "0",
  LOG_LEVEL: "warn",
  MALLOC_ARENA_MAX: "2",
};
const servers = (args.servers ?? path.join(import.meta.dirname, "..", "src", "server.ts")).split(",").map((s) => path.resolve(s));
const label = (k: number) => (servers.length > 1 ? `s${k}:` : "");

const data = await ensureData(rows, log);
const PAGE = 100;
const pagePaths = (base: string, span: number, seed: number, extra = "") => {
  const r = prng(seed);
  return () => `${base}?offset=${Math.floor(r() * Math.max(1, span - PAGE))}&limit=${PAGE}${extra}`;
};

/** Requests sent to the server under test, warm-ups included (to turn profile times into µs per request). */
let sent = 0;
async function measured(origin: string, nextPath: () => string): Promise<LoadResult> {
  const warm = await load({ origin, nextPath, connections, durationSec: 1 });
  const r = await load({ origin, nextPath, connections, durationSec });
  sent += warm.requests + r.requests;
  return r;
}

type Row = Record<string, number>;
const perRep: Row[] = [];
const loads: number[] = [];
let pageBytes = 0;
let body = "";
async function serverRun(serverScript: string, rep: number, k: number): Promise<Row> {
  const m: Row = {};
  // src/polars-fast.ts of the same checkout must load before nodejs-polars
  const flags = ["--import", path.join(path.dirname(serverScript), "polars-fast.ts"), ...(args.profile && rep === 1 && k === 0 ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [])];
  const server = await startServer([...flags, serverScript], serverEnv, serverLog);
  try {
    await childrenSettled(server.pid);
    const up = await upload(`${server.url}/api/datasets/upload`, data.csvPath, { name: `pages-${rep}` });
    if (up.status !== 201) throw new Error(`upload: ${up.status} ${JSON.stringify(up.body).slice(0, 300)}`);
    const id = (up.body as { dataset: { id: string } }).dataset.id;
    const base = `/api/datasets/${id}/versions/1/data`;
    const first = await fetch(`${server.url}${base}?offset=1234&limit=${PAGE}`);
    body = await first.text();
    pageBytes = Buffer.byteLength(body);
    // background statistics of the upload: let them finish before measuring
    await timedGet(`${server.url}/api/datasets/${id}/versions/1/stats`);
    const r1 = await measured(server.url, pagePaths(base, Number(args.span ?? data.rows), 1000 + rep));
    Object.assign(m, { pageRps: r1.reqPerSec, pageP50: r1.p50Ms, pageP99: r1.p99Ms, pageBad: r1.non2xx + r1.errors });
    const filter = `&filter=${data.filterColumn}:gt:${data.filterValue}&sort=-${data.sortColumn}`;
    await timedGet(`${server.url}${base}?limit=1${filter}`);
    const r2 = await measured(server.url, pagePaths(base, Math.floor(data.rows / 2), 2000 + rep, filter));
    Object.assign(m, { filterRps: r2.reqPerSec, filterP99: r2.p99Ms, filterBad: r2.non2xx + r2.errors });
  } finally {
    await server.stop();
  }
  return Object.fromEntries(Object.entries(m).map(([key, v]) => [`${label(k)}${key}`, v]));
}

for (let rep = 1; rep <= reps; rep++) {
  loads.push(os.loadavg()[0] ?? 0);
  const m: Row = {};
  for (const [k, script] of servers.entries()) {
    if (rep === 1 && k === 0) sent = 0;
    Object.assign(m, await serverRun(script, rep, k));
    if (rep === 1 && k === 0) m.profiledRequests = sent;
  }
  const bodyFile = path.join(tmp, "body.json");
  writeFileSync(bodyFile, body);
  const hello = await startServer([HELLO_SCRIPT], { BODY_FILE: bodyFile }, serverLog);
  try {
    // the body route first, then the plain one: in a first version the plain hello-world, measured
    // right after the server stopped, came out at 0.4–0.8× the page-sized one (the stopped server's
    // children still exiting); a pause and this order keep that out of the baseline
    await new Promise((r) => setTimeout(r, 2000));
    const hb = await measured(hello.url, () => "/body");
    const h = await measured(hello.url, () => "/hello");
    Object.assign(m, { helloRps: h.reqPerSec, helloP99: h.p99Ms, helloBodyRps: hb.reqPerSec, helloBodyP99: hb.p99Ms });
  } finally {
    await hello.stop();
  }
  log(`rep ${rep}: ${JSON.stringify(m)}`);
  perRep.push(m);
}

const median = (k: string) => {
  const v = perRep.map((m) => m[k]).filter((x): x is number => typeof x === "number").sort((a, b) => a - b);
  return v.length === 0 ? NaN : v.length % 2 ? (v[(v.length - 1) / 2] as number) : ((v[v.length / 2 - 1] as number) + (v[v.length / 2] as number)) / 2;
};
const f = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const ratio = (a: string, b: string) => (median(a) / median(b)).toFixed(3);
console.log(`| measure | value | ratio |`);
console.log(`| --- | --- | --- |`);
for (const [k, script] of servers.entries()) {
  const l = label(k);
  const who = servers.length > 1 ? ` (${path.relative(process.cwd(), script)})` : "";
  console.log(`| 100-row pages, ${connections} connections${who} | ${f(median(`${l}pageRps`))} req/s, p50 ${median(`${l}pageP50`)} ms, p99 ${median(`${l}pageP99`)} ms | ${ratio(`${l}pageRps`, "helloRps")}× hello, ${ratio(`${l}pageRps`, "helloBodyRps")}× hello+body |`);
  console.log(`| pages with filter + sort${who} | ${f(median(`${l}filterRps`))} req/s, p99 ${median(`${l}filterP99`)} ms | ${ratio(`${l}filterRps`, "helloRps")}× hello |`);
}
console.log(`| hello-world (17 B) | ${f(median("helloRps"))} req/s, p99 ${median("helloP99")} ms | — |`);
console.log(`| hello-world sending the page's ${pageBytes} B | ${f(median("helloBodyRps"))} req/s, p99 ${median("helloBodyP99")} ms | ${ratio("helloBodyRps", "helloRps")}× hello |`);
console.log(`\nmedians of ${perRep.length}; load average before each repetition ${loads.map((l) => l.toFixed(1)).join(", ")}; non-2xx: ${perRep.map((m) => Object.entries(m).filter(([key]) => key.endsWith("Bad")).map(([, v]) => v).join("/")).join(", ")}; ${new Date().toISOString()}`);
if (args.profile) {
  const file = readdirSync(profileDir).find((x) => x.endsWith(".cpuprofile"));
  if (file) {
    const prof = JSON.parse(readFileSync(path.join(profileDir, file), "utf8")) as Parameters<typeof inclusive>[0];
    const n = perRep[0]?.profiledRequests ?? 0;
    console.log(`\nServer CPU profile (rep 1, whole server run; ${n} page requests): inclusive time by function, and per page request`);
    for (const s of inclusive(prof).slice(0, 90)) console.log(`${s.ms.toFixed(0).padStart(7)} ms ${((s.ms * 1000) / Math.max(1, n)).toFixed(1).padStart(8)} µs/req  ${s.name}`);
  }
}
rmSync(tmp, { recursive: true, force: true });
