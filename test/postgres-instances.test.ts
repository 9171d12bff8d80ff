/**
 * Three real server processes (`node src/server.ts`, STORAGE_BACKEND=postgres) on one PostgreSQL
 * database and one object store (s3:// on a real s3rver process): concurrent uploads to one
 * dataset through all three get distinct gap-free numbers, every instance serves every version,
 * a rename or delete on one is seen by the others at once, and kill -9 of an instance in the
 * middle of uploads loses nothing committed and leaves no committed version without its object.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createObjectStore } from "../src/storage/object-store.ts";
import { createPostgresStorage } from "../src/storage/postgres.ts";
import { hasPostgres, postgresTestEnv } from "./helpers/postgres.ts";
import { s3TestOptions } from "./helpers/s3.ts";

const ROOT = path.resolve(import.meta.dirname, "..");

interface Instance {
  name: string;
  proc: ChildProcess;
  url: string;
  exited: Promise<void>;
}

let env: Record<string, string>;
let cleanupEnv: () => Promise<void>;
let scratch: string;
const running: Instance[] = [];

async function startInstance(name: string): Promise<Instance> {
  const dirs = { UPLOAD_DIR: path.join(scratch, `${name}-uploads`), OBJECT_CACHE_DIR: path.join(scratch, `${name}-cache`) };
  const proc = spawn(process.execPath, ["src/server.ts"], {
    cwd: ROOT,
    env: { ...process.env, ...env, ...dirs, STORAGE_BACKEND: "postgres", PORT: "0", LOG_LEVEL: "info", RATE_LIMIT_READS: "0", RATE_LIMIT_UPLOADS: "0", PARSE_WORKERS: "2", MEMORY_BUDGET_BYTES: String(256 * 1024 * 1024) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  proc.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${out}`)), 60_000);
    proc.stdout!.on("data", () => {
      const m = /"url":"(http:[^"]+)"/.exec(out);
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    void exited.then(() => reject(new Error(`${name} exited: ${out}`)));
  });
  const instance = { name, proc, url, exited };
  running.push(instance);
  return instance;
}

async function kill9(instance: Instance): Promise<void> {
  instance.proc.kill("SIGKILL");
  await instance.exited;
  running.splice(running.indexOf(instance), 1);
}

function csvOf(tag: string, rows: number): string {
  let out = "tag,i,value\n";
  for (let i = 0; i < rows; i++) out += `${tag},${i},${(i * 0.5).toFixed(1)}\n`;
  return out;
}

async function post(url: string, tag: string, rows: number, fields: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append("file", new Blob([csvOf(tag, rows)]), `${tag}.csv`);
  const res = await fetch(url, { method: "POST", body: form });
  return { status: res.status, body: await res.json() };
}

async function json(url: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text === "" ? null : JSON.parse(text) };
}

/** Every row of a version through one instance, as [tag, i] pairs. */
async function rowsVia(instance: Instance, datasetId: string, version: number): Promise<{ total: number; tags: Set<string> }> {
  const res = await json(`${instance.url}/api/datasets/${datasetId}/versions/${version}/data?limit=10000&columns=tag`);
  expect(res.status, `${instance.name} v${version}: ${JSON.stringify(res.body)}`).toBe(200);
  return { total: res.body.totalRows, tags: new Set(res.body.rows.map((r: { tag: string }) => r.tag)) };
}

beforeAll(async () => {
  if (!hasPostgres()) return;
  scratch = await mkdtemp(path.join(os.tmpdir(), "ds-instances-"));
  ({ env, cleanup: cleanupEnv } = await postgresTestEnv("s3"));
});

afterAll(async () => {
  for (const instance of running.splice(0)) {
    instance.proc.kill("SIGKILL");
    await instance.exited;
  }
  if (!hasPostgres()) return;
  await cleanupEnv();
  await rm(scratch, { recursive: true, force: true });
});

describe.skipIf(!hasPostgres())("three postgres-backend server processes on one database and one object store", () => {
  let a: Instance;
  let b: Instance;
  let c: Instance;

  beforeAll(async () => {
    [a, b, c] = await Promise.all([startInstance("a"), startInstance("b"), startInstance("c")]);
  });

  it("number concurrent uploads through all three gap-free, serve every version everywhere, and see renames and deletes at once", { timeout: 180_000 }, async () => {
    const created = await post(`${a.url}/api/datasets/upload`, "first", 3, { name: "Shared" });
    expect(created.status).toBe(201);
    const id: string = created.body.dataset.id;

    const uploads = await Promise.all(
      Array.from({ length: 15 }, (_, i) => post(`${[a, b, c][i % 3]!.url}/api/datasets/${id}/versions`, `u${i}`, 10 + i)),
    );
    for (const u of uploads) expect(u.status, JSON.stringify(u.body)).toBe(201);
    const numbers = uploads.map((u) => u.body.version.version as number).sort((x, y) => x - y);
    expect(numbers).toEqual(Array.from({ length: 15 }, (_, i) => i + 2));

    for (const instance of [a, b, c]) {
      const list = await json(`${instance.url}/api/datasets/${id}/versions`);
      expect(list.body.items.map((v: { version: number }) => v.version)).toEqual(Array.from({ length: 16 }, (_, i) => i + 1));
      for (const u of uploads) {
        const i = Number(u.body.version.source.filename.slice(1, -4));
        expect(await rowsVia(instance, id, u.body.version.version)).toEqual({ total: 10 + i, tags: new Set([`u${i}`]) });
      }
    }

    // A rename on b is what a and c answer next.
    expect((await json(`${b.url}/api/datasets/${id}`, { method: "PATCH", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "Renamed" }) })).status).toBe(200);
    for (const instance of [a, c]) {
      expect((await json(`${instance.url}/api/datasets/${id}`)).body.name).toBe("Renamed");
      expect((await json(`${instance.url}/api/datasets?name=renamed`)).body.total).toBe(1);
      expect((await json(`${instance.url}/api/datasets?name=shared`)).body.total).toBe(0);
    }
    // The old name is free on every instance, the new one taken.
    expect((await post(`${c.url}/api/datasets/upload`, "x", 1, { name: "RENAMED" })).status).toBe(409);

    // A deleted version (cached in memory on a and b by the reads above) is gone everywhere.
    expect((await json(`${c.url}/api/datasets/${id}/versions/16`, { method: "DELETE" })).status).toBe(204);
    for (const instance of [a, b]) {
      expect((await json(`${instance.url}/api/datasets/${id}/versions/16/data`)).status).toBe(404);
      expect((await json(`${instance.url}/api/datasets/${id}/versions/latest`)).body.version).toBe(15);
    }
    expect((await post(`${a.url}/api/datasets/${id}/versions`, "after", 2)).body.version.version).toBe(17);

    expect((await json(`${a.url}/api/datasets/${id}`, { method: "DELETE" })).status).toBe(204);
    for (const instance of [b, c]) {
      expect((await json(`${instance.url}/api/datasets/${id}`)).status).toBe(404);
      expect((await json(`${instance.url}/api/datasets/${id}/versions/2/data`)).status).toBe(404);
    }
  });

  it("lose nothing committed when one instance is killed with SIGKILL in the middle of uploads, three times", { timeout: 300_000 }, async () => {
    const created = await post(`${b.url}/api/datasets/upload`, "base", 1, { name: "kill target" });
    const id: string = created.body.dataset.id;
    const acknowledged = new Map<number, { tag: string; rows: number }>([[1, { tag: "base", rows: 1 }]]);
    let stop = false;
    let seq = 0;
    let interrupted = 0;
    /** Uploads one after another through `instance` until told to stop; connection errors end the lane (its instance died). */
    const lane = async (instance: Instance, rows: number) => {
      while (!stop) {
        const tag = `${instance.name}${seq++}`;
        let res;
        try {
          res = await post(`${instance.url}/api/datasets/${id}/versions`, tag, rows);
        } catch {
          interrupted++;
          return;
        }
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        acknowledged.set(res.body.version.version, { tag, rows });
      }
    };
    const survivors = [lane(b, 50), lane(c, 50)];
    for (let cycle = 0; cycle < 3; cycle++) {
      // The victim runs small uploads and one large one (~9 MB: its parse takes a while) at once.
      const victimLanes = [lane(a, 20), lane(a, 20), post(`${a.url}/api/datasets/${id}/versions`, `big${cycle}`, 400_000).then(
        (res) => void (res.status === 201 && acknowledged.set(res.body.version.version, { tag: `big${cycle}`, rows: 400_000 })),
        () => void interrupted++,
      )];
      await new Promise((resolve) => setTimeout(resolve, 600 + cycle * 400));
      await kill9(a);
      await Promise.all(victimLanes);
      a = await startInstance("a");
    }
    stop = true;
    await Promise.all(survivors);
    expect(interrupted, "uploads cut off by the kills").toBeGreaterThanOrEqual(3);

    // Every acknowledged version is there on every instance, whole; numbers have no gaps.
    const list = (await json(`${c.url}/api/datasets/${id}/versions`)).body.items as { version: number; rowCount: number; source: { filename: string } }[];
    expect(list.map((v) => v.version)).toEqual(Array.from({ length: list.length }, (_, i) => i + 1));
    for (const [version, { rows }] of acknowledged) expect(list.find((v) => v.version === version)?.rowCount, `v${version}`).toBe(rows);
    for (const v of list) {
      const tag = v.source.filename.slice(0, -4);
      const instance = [a, b, c][v.version % 3]!;
      if (v.rowCount <= 10_000) expect(await rowsVia(instance, id, v.version)).toEqual({ total: v.rowCount, tags: new Set([tag]) });
      else expect((await json(`${instance.url}/api/datasets/${id}/versions/${v.version}/data?limit=1&offset=${v.rowCount - 1}`)).body.rows).toEqual([{ tag, i: v.rowCount - 1, value: (v.rowCount - 1) * 0.5 }]);
    }

    // Every committed version's object is in the store, whole; after a sweep nothing else is.
    const db = new pg.Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    const committed = (await db.query<{ k: string; bytes: string }>("SELECT object_key AS k, object_bytes AS bytes FROM versions")).rows;
    const crashed = (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pending_objects")).rows[0]!.n;
    await db.end();
    const store = createObjectStore(env.OBJECT_STORE_URL!, s3TestOptions());
    const sweeper = await createPostgresStorage({ databaseUrl: env.DATABASE_URL!, objectStoreUrl: env.OBJECT_STORE_URL!, objectStore: s3TestOptions(), budgetBytes: 1, orphanGraceMs: 3_600_000, objectCacheDir: path.join(scratch, "sweeper-cache"), sweepIntervalMs: 0 });
    try {
      for (const { k, bytes } of committed) expect((await store.stat(k))?.bytes, k).toBe(Number(bytes));
      let result = await sweeper.sweep();
      while (result === null) result = await sweeper.sweep(); // a restarted instance may be sweeping
      console.log(`kill test: ${acknowledged.size} acknowledged of ${list.length} committed versions, ${interrupted} uploads cut off by kills; ${crashed} pending objects before the final sweep, ${result.removedObjects} removed by it`);
      // (Objects of the dataset the first test deleted stay for ORPHAN_GRACE_MS, by design.)
      const mine = (key: string) => key.startsWith(`datasets/${id}/`);
      const left: string[] = [];
      for await (const o of store.list()) if (mine(o.key)) left.push(o.key);
      expect(left.sort()).toEqual(committed.map((r) => r.k).filter(mine).sort());
    } finally {
      await sweeper.close();
      await store.close();
    }
  });
});
