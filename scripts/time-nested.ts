/**
 * Times the first page, first `format=arrays` page and first CSV download of wide nested
 * (Struct) Parquet files through a real server, with /api/health sampled every 50 ms while each
 * runs (QA finding Q16). Not a test: it prints figures.
 *
 *   PATH=$PWD/node_modules/.bin:$PATH node scripts/time-nested.ts [port] [columns] [extra.parquet …]
 *
 * The generated file is QA's recipe: DuckDB writes one row of `columns` struct columns
 * `{min<i>: BIGINT, max<i>: BIGINT, cnt<i>: UBIGINT, v<i>: DOUBLE}` (field names differ per
 * column, so every column is a new struct schema).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";

const port = Number(process.argv[2] ?? 4400);
const columns = Number(process.argv[3] ?? 150);
const extra = process.argv.slice(4);
const base = `http://127.0.0.1:${port}`;
const dir = mkdtempSync(path.join(os.tmpdir(), "time-nested-"));

const duck = await (await DuckDBInstance.create(":memory:")).connect();
const file = path.join(dir, "st.parquet");
const cols = Array.from({ length: columns }, (_, i) => `{'min${i}': 0::BIGINT, 'max${i}': 0::BIGINT, 'cnt${i}': 0::UBIGINT, 'v${i}': 0.5::DOUBLE} AS c${i}`);
await duck.run(`COPY (SELECT ${cols.join(", ")}) TO '${file}' (FORMAT parquet)`);

const server = spawn("node", ["src/server.ts"], {
  env: { ...process.env, PORT: String(port), LOG_LEVEL: "warn", RATE_LIMIT_READS: "0", RATE_LIMIT_UPLOADS: "0" },
  stdio: "inherit",
});
try {
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/healthz`)).ok) break;
    } catch {
      if (i > 300) throw new Error("server did not start");
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Runs `work` while sampling /api/health every 50 ms; returns work's time and health's max latency. */
  async function timed(label: string, work: () => Promise<unknown>): Promise<void> {
    let done = false;
    let maxHealth = 0;
    let resets = 0;
    const sampler = (async () => {
      while (!done) {
        const t = performance.now();
        // a keep-alive connection the server closed while its loop was blocked resets: count it, keep sampling
        await fetch(`${base}/api/health`)
          .then((r) => r.arrayBuffer())
          .catch(() => resets++);
        maxHealth = Math.max(maxHealth, performance.now() - t);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const t0 = performance.now();
    await work();
    const ms = performance.now() - t0;
    done = true;
    await sampler;
    console.log(`${label.padEnd(44)} ${(ms / 1000).toFixed(2).padStart(7)} s   health max ${(maxHealth / 1000).toFixed(2).padStart(6)} s${resets ? ` (${resets} reset)` : ""}`);
  }

  async function upload(p: string): Promise<string> {
    const form = new FormData();
    form.append("file", new Blob([readFileSync(p)]), path.basename(p));
    const r = await fetch(`${base}/api/datasets/upload`, { method: "POST", body: form });
    const body = (await r.json()) as { dataset?: { id: string }; detail?: string };
    if (!body.dataset) throw new Error(`upload ${p}: ${r.status} ${body.detail}`);
    return body.dataset.id;
  }
  const get = async (url: string) => {
    const r = await fetch(base + url, { headers: { connection: "close" } });
    const text = await r.text();
    if (!r.ok) throw new Error(`${url}: ${r.status} ${text.slice(0, 300)}`);
    return text;
  };

  for (const p of [file, ...extra]) {
    console.log(`${path.basename(p)}`);
    let id = "";
    await timed("  upload", async () => (id = await upload(p)));
    const v = `/api/datasets/${id}/versions/1`;
    await timed("  first /data", () => get(`${v}/data`));
    await timed("  second /data", () => get(`${v}/data`));
    await timed("  first /data?format=arrays", () => get(`${v}/data?format=arrays`));
    await timed("  first download?format=csv", () => get(`${v}/download?format=csv`));
    await timed("  first download?format=ndjson", () => get(`${v}/download?format=ndjson`));
  }
} finally {
  server.kill("SIGTERM");
  duck.closeSync();
  rmSync(dir, { recursive: true, force: true });
}
