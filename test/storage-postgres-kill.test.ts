/**
 * Crash safety of the postgres backend's commit protocol without HTTP in between (so most kills
 * land inside a commit: pending row → object write → transaction): a child process adds versions
 * and creates datasets as fast as it can on a real PostgreSQL and a file:// store, and is killed
 * with SIGKILL at a random moment, 12 times. After each kill every acknowledged version must be
 * there with all its rows, every committed version's object must be whole in the store, and a sweep
 * must leave exactly the committed objects.
 */
import { spawn } from "node:child_process";
import { stat } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createObjectStore } from "../src/storage/object-store.ts";
import type { PostgresStorage } from "../src/storage/postgres.ts";
import { hasPostgres, makePostgresStorage } from "./helpers/postgres.ts";
import { rowsOf } from "./storage-contract.ts";
import { versionOf } from "./helpers/versions.ts";

const REPO = path.resolve(import.meta.dirname, "..");
const CYCLES = 12;

/** Writes forever; prints one JSON line per acknowledged write: {tag, rows, datasetId, version}. */
const CHILD = `
import pl from "nodejs-polars";
import { createPostgresStorage } from "./src/storage/postgres.ts";
import { versionOf } from "./test/helpers/versions.ts";
const [databaseUrl, objectStoreUrl, cacheDir, cycle] = process.argv.slice(1);
const storage = await createPostgresStorage({ databaseUrl, objectStoreUrl, budgetBytes: 64 * 1024 * 1024, orphanGraceMs: 3600000, objectCacheDir: cacheDir, sweepIntervalMs: 0, poolSize: 4 });
const shared = await storage.findByName("shared");
const frameOf = (tag, n) => pl.DataFrame([pl.Series("tag", Array(n).fill(tag), pl.String), pl.Series("i", Array.from({ length: n }, (_, i) => i), pl.Int64)]);
const source = (tag) => ({ filename: tag + ".csv", format: "csv", sizeBytes: 1, sha256: "0", sheet: null });
process.stdout.write("ready\\n");
const lane = async (laneNo) => {
  for (let k = 0; ; k++) {
    const tag = "c" + cycle + "l" + laneNo + "n" + k;
    const n = 1 + ((k * 7919 + laneNo * 104729) % 5000);
    const r = laneNo === 2
      ? await storage.createDataset({ name: tag, description: "" }, versionOf(frameOf(tag, n), source(tag), storage.stagingPath()))
      : await storage.addVersion(shared.id, versionOf(frameOf(tag, n), source(tag), storage.stagingPath()));
    process.stdout.write(JSON.stringify({ tag, rows: n, datasetId: r.dataset.id, version: r.version.version }) + "\\n");
  }
};
await Promise.all([0, 1, 2].map(lane));
`;

const rowsForTag = (tag: string): number => {
  if (tag === "shared") return 1;
  const [, laneNo, k] = (/^c\d+l(\d)n(\d+)$/.exec(tag) ?? []).map(Number);
  return 1 + (((k ?? 0) * 7919 + (laneNo ?? 0) * 104729) % 5000);
};

let made: Awaited<ReturnType<typeof makePostgresStorage>>;
let store: PostgresStorage;

beforeAll(async () => {
  if (!hasPostgres()) return;
  made = await makePostgresStorage({ kind: "file", budgetBytes: 1024 * 1024, orphanGraceMs: 3_600_000 });
  store = made.storage;
  const pl = (await import("nodejs-polars")).default;
  await store.createDataset({ name: "shared", description: "" }, versionOf(pl.DataFrame({ tag: ["shared"], i: [0] }), { filename: "shared.csv", format: "csv", sizeBytes: 1, sha256: "0", sheet: null }));
});

afterAll(async () => {
  if (hasPostgres()) await made.cleanup();
});

describe.skipIf(!hasPostgres())("postgres storage process killed with SIGKILL mid-commit", () => {
  it(`keeps every acknowledged write, never a version without its object, and sweeps what the kills left, over ${CYCLES} kills`, { timeout: 240_000 }, async () => {
    const acknowledged: { tag: string; rows: number; datasetId: string; version: number }[] = [];
    const checked = new Set<string>();
    const objects = createObjectStore(made.objectStoreUrl);
    const root = fileURLToPath(made.objectStoreUrl);
    const db = new pg.Client({ connectionString: made.databaseUrl });
    await db.connect();
    let leftByKills = 0;
    try {
      for (let cycle = 0; cycle < CYCLES; cycle++) {
        const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD, made.databaseUrl, made.objectStoreUrl, path.join(root, `kill-cache-${cycle}`), String(cycle)], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
        let stderr = "";
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        const lines = createInterface({ input: child.stdout });
        await new Promise<void>((resolve, reject) => {
          lines.on("line", (line) => {
            if (line === "ready") {
              setTimeout(() => child.kill("SIGKILL"), 150 + ((cycle * 37) % 20) * 25);
              return;
            }
            const ack = JSON.parse(line);
            acknowledged.push(ack);
          });
          void exited.then(() => (child.signalCode === "SIGKILL" ? resolve() : reject(new Error(`child exited: ${stderr}`))));
        });

        // Every committed version's object is whole in the store (the commit protocol's promise).
        for (const r of (await db.query<{ k: string; bytes: number }>("SELECT object_key AS k, object_bytes::int AS bytes FROM versions")).rows) {
          expect((await stat(path.join(root, r.k))).size, r.k).toBe(r.bytes);
        }
        leftByKills += (await db.query<{ n: number }>("SELECT count(*)::int AS n FROM pending_objects")).rows[0]!.n;

        const visible = new Set<string>();
        for (const d of (await store.listDatasets({ offset: 0, limit: 10_000 })).items) {
          for (const v of await store.listVersions(d.id)) {
            const key = `${d.id}/${v.version}`;
            visible.add(key);
            if (checked.has(key)) continue;
            checked.add(key);
            const rows = await rowsOf(store, d.id, v.version);
            const tag = rows[0]?.tag as string;
            expect(v.source.filename).toBe(`${tag}.csv`);
            expect(rows.length, `${d.name} v${v.version}`).toBe(v.rowCount);
            expect(rows.length, `${d.name} v${v.version}`).toBe(rowsForTag(tag));
          }
        }
        for (const a of acknowledged) expect(visible.has(`${a.datasetId}/${a.version}`), a.tag).toBe(true);
        const shared = await store.findByName("shared");
        const numbers = (await store.listVersions(shared!.id)).map((v) => v.version);
        expect(numbers).toEqual(Array.from({ length: numbers.length }, (_, i) => i + 1));

        // The sweep removes what the killed writer left and nothing committed.
        await store.sweep();
        const committed = new Set((await db.query<{ k: string }>("SELECT object_key AS k FROM versions")).rows.map((r) => r.k));
        const left: string[] = [];
        for await (const o of objects.list()) left.push(o.key);
        expect(left.sort()).toEqual([...committed].sort());
        expect((await db.query("SELECT * FROM pending_objects")).rows).toEqual([]);
      }
    } finally {
      await db.end();
      await objects.close();
    }
    console.log(`postgres kill test: ${acknowledged.length} acknowledged writes, ${checked.size} versions checked, ${leftByKills} pending records of interrupted commits cleaned up`);
    expect(acknowledged.length).toBeGreaterThan(CYCLES);
  });
});
