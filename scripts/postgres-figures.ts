/**
 * Upload and cold-first-page figures of the postgres backend, beside the local backend, on this
 * machine: a real PostgreSQL (initdb/pg_ctl) and a real s3rver process, real server processes.
 * Prints a markdown table for docs/performance.md. Run:
 *   PATH=$PWD/node_modules/.bin:$PATH node scripts/postgres-figures.ts [rows=200000]
 * Times are medians of 3; only their ratios compare across machines.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import pl from "nodejs-polars";
import { ensureData } from "../bench/generate.ts";
import { startPostgres } from "../test/helpers/postgres.ts";
import { S3_BUCKET, S3_CREDENTIALS, startS3rver } from "../test/helpers/s3.ts";

const ROWS = Number(process.argv[2] ?? 200_000);
const REPS = 3;
const ROOT = path.resolve(import.meta.dirname, "..");
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function startServer(env: Record<string, string>): Promise<{ url: string; proc: ChildProcess; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, ["src/server.ts"], { cwd: ROOT, env: { ...process.env, PORT: "0", LOG_LEVEL: "info", RATE_LIMIT_READS: "0", RATE_LIMIT_UPLOADS: "0", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    proc.stdout!.on("data", () => {
      const m = /"url":"(http:[^"]+)"/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    proc.once("exit", () => reject(new Error(out)));
  });
  return {
    url,
    proc,
    stop: async () => {
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGTERM");
      await exited;
    },
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t = performance.now();
  const out = await fn();
  return [performance.now() - t, out];
}

const data = await ensureData(ROWS, (m) => console.error(m));
const csv = await readFile(data.csvPath);
const pgServer = await startPostgres();
if (!pgServer) throw new Error("PostgreSQL is not installed");
const s3 = await startS3rver();
const scratch = await mkdtemp(path.join(os.tmpdir(), "pg-figures-"));
let lastDb = "";
const results: { backend: string; upload: number; cold: number; warm: number; firstAfterStart: number }[] = [];

try {
  let n = 0;
  const backends: [string, () => Promise<Record<string, string>>][] = [
    ["local", async () => ({ STORAGE_BACKEND: "local", DATA_DIR: path.join(scratch, "local") })],
    ["postgres, file://", async () => ({ STORAGE_BACKEND: "postgres", DATABASE_URL: await newDb(), OBJECT_STORE_URL: pathToFileURL(path.join(scratch, `objects-${n++}`)).href })],
    ["postgres, s3:// (s3rver)", async () => ({ STORAGE_BACKEND: "postgres", DATABASE_URL: await newDb(), OBJECT_STORE_URL: `s3://${S3_BUCKET}/figures-${n++}`, S3_ENDPOINT: s3.endpoint, AWS_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey })],
  ];
  for (const [backend, envOf] of backends) {
    const env = { ...(await envOf()), UPLOAD_DIR: path.join(scratch, `up-${n}`), OBJECT_CACHE_DIR: path.join(scratch, `cache-${n}`) };
    let server = await startServer(env);
    const uploads: number[] = [];
    const ids: string[] = [];
    for (let i = 0; i < REPS; i++) {
      const form = new FormData();
      form.append("file", new Blob([csv]), "bench.csv");
      form.append("name", `bench ${i}`);
      const [ms, res] = await timed(() => fetch(`${server.url}/api/datasets/upload`, { method: "POST", body: form }));
      if (res.status !== 201) throw new Error(`${backend}: upload ${res.status} ${await res.text()}`);
      ids.push(((await res.json()) as { dataset: { id: string } }).dataset.id);
      uploads.push(ms);
    }
    // A fresh process: nothing in memory (and, for s3://, no local copy), so every first page is cold.
    await server.stop();
    await rm(env.OBJECT_CACHE_DIR, { recursive: true, force: true });
    server = await startServer(env);
    const page = (id: string) => timed(async () => {
      const res = await fetch(`${server.url}/api/datasets/${id}/versions/1/data?limit=100`);
      if (res.status !== 200) throw new Error(`${backend}: page ${res.status}`);
      await res.arrayBuffer();
    });
    const colds: number[] = [];
    const warms: number[] = [];
    let firstAfterStart = 0;
    for (const [i, id] of ids.entries()) {
      const [cold] = await page(id);
      if (i === 0) firstAfterStart = cold;
      colds.push(cold);
      await new Promise((r) => setTimeout(r, 1500)); // let the background load finish
      warms.push((await page(id))[0]);
    }
    await server.stop();
    results.push({ backend, upload: median(uploads), cold: median(colds), warm: median(warms), firstAfterStart });
  }

  // Alternative for s3://: Polars' own ranged reads of the object instead of a local copy.
  const db = new pg.Client({ connectionString: lastDb });
  await db.connect();
  const key = (await db.query<{ k: string }>("SELECT object_key AS k FROM versions LIMIT 1")).rows[0]!.k;
  await db.end();
  const prefix = `figures-${n - 1}`;
  const cloudOptions = { aws_endpoint_url: s3.endpoint, aws_access_key_id: S3_CREDENTIALS.accessKeyId, aws_secret_access_key: S3_CREDENTIALS.secretAccessKey, aws_region: "us-east-1", aws_allow_http: "true", aws_virtual_hosted_style_request: "false" };
  let ranged: string;
  try {
    const times: number[] = [];
    for (let i = 0; i < REPS; i++) times.push((await timed(() => pl.scanParquet(`s3://${S3_BUCKET}/${prefix}/${key}`, { cloudOptions }).slice(0, 100).collect()))[0]);
    ranged = `${median(times).toFixed(0)} ms`;
  } catch (error) {
    ranged = `failed: ${(error as Error).message.split("\n")[0]}`;
  }

  console.log(`\n${ROWS} rows, CSV ${(data.csvBytes / 1e6).toFixed(1)} MB, ${os.cpus().length} cores, Node ${process.version}, ${new Date().toISOString()}\n`);
  console.log("| backend | upload to 201 | cold first page (100 rows) | first page after the background load |");
  console.log("| --- | --- | --- | --- |");
  for (const r of results) console.log(`| ${r.backend} | ${r.upload.toFixed(0)} ms | ${r.cold.toFixed(0)} ms | ${r.warm.toFixed(1)} ms |`);
  console.log(`\nPolars ranged reads straight from s3rver (scanParquet s3://…, first 100 rows, no local copy): ${ranged}`);
} finally {
  pgServer.stop();
  await s3.stop();
  await rm(scratch, { recursive: true, force: true });
}

async function newDb(): Promise<string> {
  const name = `figures_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
  const c = new pg.Client({ connectionString: pgServer!.url });
  await c.connect();
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const url = new URL(pgServer!.url);
  url.pathname = `/${name}`;
  lastDb = url.toString();
  return lastDb;
}
