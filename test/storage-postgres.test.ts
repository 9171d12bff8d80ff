/**
 * What only the postgres backend promises, against a real PostgreSQL and real object stores:
 * migrations applied once by instances starting together, several instances on one database
 * (names, numbering, renames and deletions seen at once), the sweep of orphaned objects, and
 * damaged objects refused.
 */
import { cp, mkdtemp, readdir, rm, truncate, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { createObjectStore, uniqueObjectKey } from "../src/storage/object-store.ts";
import { migrate, MIGRATIONS_DIR } from "../src/storage/postgres-migrate.ts";
import { createPostgresStorage, type PostgresStorage } from "../src/storage/postgres.ts";
import { createTestDatabase, hasPostgres, makePostgresStorage } from "./helpers/postgres.ts";
import { apiErrorOf, newVersion, rowsOf, sampleFrame } from "./storage-contract.ts";

const BUDGET = 64 * 1024 * 1024;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** `n` instances (separate pools, caches and liveness locks) on one database and one store. */
async function instances(n: number, kind: "file" | "s3" = "file", orphanGraceMs = 3_600_000): Promise<{ all: PostgresStorage[]; databaseUrl: string; objectStoreUrl: string }> {
  const first = await makePostgresStorage({ kind, budgetBytes: BUDGET, orphanGraceMs });
  cleanups.push(first.cleanup);
  const all = [first.storage];
  for (let i = 1; i < n; i++) {
    const cacheDir = await mkdtemp(path.join(os.tmpdir(), "ds-object-cache-"));
    const other = await createPostgresStorage({ databaseUrl: first.databaseUrl, objectStoreUrl: first.objectStoreUrl, objectStore: first.objectStore, budgetBytes: BUDGET, orphanGraceMs, objectCacheDir: cacheDir, sweepIntervalMs: 0, poolSize: 4 });
    cleanups.push(async () => {
      await other.close();
      await rm(cacheDir, { recursive: true, force: true });
    });
    all.push(other);
  }
  return { all, databaseUrl: first.databaseUrl, objectStoreUrl: first.objectStoreUrl };
}

/** Connections still closing when the database is dropped report an error that is no concern here. */
function quiet(pool: pg.Pool): pg.Pool {
  pool.on("error", () => undefined);
  return pool;
}

async function sql<T extends pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

describe.skipIf(!hasPostgres())("postgres backend", () => {
  describe("migrations", () => {
    it("are applied exactly once when several instances start at the same moment", async () => {
      const db = await createTestDatabase();
      cleanups.push(db.drop);
      const pools = Array.from({ length: 4 }, () => quiet(new pg.Pool({ connectionString: db.url, max: 2 })));
      cleanups.push(async () => void (await Promise.all(pools.map((p) => p.end()))));
      const files = (await readdir(MIGRATIONS_DIR)).filter((f) => f.endsWith(".sql")).sort();
      expect(files[0]).toBe("001_registry.sql");
      const applied = await Promise.all(pools.map((p) => migrate(p)));
      expect(applied.flat().sort()).toEqual(files); // each once, by one of the four
      const rows = await sql<{ name: string }>(db.url, "SELECT name FROM schema_migrations ORDER BY version");
      expect(rows.map((r) => r.name)).toEqual(files);
      expect(await migrate(pools[0]!)).toEqual([]);
    });

    it("refuse to start on a migration changed after it was applied, or on a newer schema", async () => {
      const db = await createTestDatabase();
      cleanups.push(db.drop);
      const pool = quiet(new pg.Pool({ connectionString: db.url, max: 1 }));
      cleanups.push(() => pool.end());
      await migrate(pool);
      const dir = await mkdtemp(path.join(os.tmpdir(), "migrations-"));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      await cp(MIGRATIONS_DIR, dir, { recursive: true });
      await writeFile(path.join(dir, "001_registry.sql"), "-- edited\n", { flag: "a" });
      await expect(migrate(pool, dir)).rejects.toThrow(/001_registry.sql was changed after it was applied/);
      await rm(path.join(dir, "001_registry.sql"));
      await expect(migrate(pool, dir)).rejects.toThrow(/schema migrations this code does not know/);
    });
  });

  it("recomputes name keys at start-up with the current folding, renaming a dataset whose name now clashes", async () => {
    const made = await makePostgresStorage({ kind: "file", budgetBytes: BUDGET });
    cleanups.push(made.cleanup);
    const first = await made.storage.createDataset({ name: "Report", description: "" }, newVersion(0));
    const second = await made.storage.createDataset({ name: "Other", description: "" }, newVersion(1));
    // As if written by a release that folded differently: keys that are not this code's.
    await sql(made.databaseUrl, "UPDATE datasets SET name_key = 'old:' || id WHERE id IN ($1, $2)", [first.dataset.id, second.dataset.id]);
    await sql(made.databaseUrl, "UPDATE datasets SET name = 'REPORT' WHERE id = $1", [second.dataset.id]);
    const warnings: string[] = [];
    const again = await createPostgresStorage({ databaseUrl: made.databaseUrl, objectStoreUrl: made.objectStoreUrl, budgetBytes: BUDGET, orphanGraceMs: 3_600_000, sweepIntervalMs: 0, warn: (m) => warnings.push(m) });
    cleanups.push(() => again.close());
    expect((await again.findByName("report"))?.id).toBe(first.dataset.id);
    expect((await again.getDataset(second.dataset.id)).name).toBe(`REPORT (${second.dataset.id})`);
    expect(warnings.join("\n")).toMatch(/shares its name "REPORT"/);
    expect(await apiErrorOf(() => again.createDataset({ name: "rePort", description: "" }, newVersion(2)))).toMatchObject({ code: "NAME_TAKEN" });
  });

  describe("several instances on one database", () => {
    it("let exactly one of concurrent creates with one name (any case) succeed, by the unique index", async () => {
      const { all } = await instances(3);
      const results = await Promise.allSettled(all.flatMap((s, i) => [s.createDataset({ name: "Straße", description: "" }, newVersion(i)), s.createDataset({ name: "STRAßE", description: "" }, newVersion(i + 10))]));
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of results) if (r.status === "rejected") expect(r.reason).toMatchObject({ code: "NAME_TAKEN" });
    });

    it("give concurrent additions through every instance distinct, gap-free numbers, each with its own data", async () => {
      const { all } = await instances(3);
      const { dataset } = await all[0]!.createDataset({ name: "shared", description: "" }, newVersion(0));
      const results = await Promise.all(Array.from({ length: 24 }, (_, i) => all[i % 3]!.addVersion(dataset.id, newVersion(i + 1, 3))));
      const numbers = results.map((r) => r.version.version).sort((a, b) => a - b);
      expect(numbers).toEqual(Array.from({ length: 24 }, (_, i) => i + 2));
      for (const r of results) {
        const seed = Number(r.version.source.filename.slice(1, -4));
        for (const s of all) expect(await rowsOf(s, dataset.id, r.version.version)).toEqual(sampleFrame(seed, 3).toRecords());
      }
      for (const s of all) expect(await s.getDataset(dataset.id)).toMatchObject({ latestVersion: 25, versionCount: 25 });
    });

    it("see a rename, a deleted version and a deleted dataset made on another instance at once, even with the data cached", async () => {
      const [a, b, c] = (await instances(3)).all as [PostgresStorage, PostgresStorage, PostgresStorage];
      const { dataset } = await a.createDataset({ name: "before", description: "" }, newVersion(0));
      await a.addVersion(dataset.id, newVersion(1));
      for (const s of [b, c]) {
        await rowsOf(s, dataset.id, 2);
        await s.settled(); // version 2 now sits in b's and c's memory
      }
      await b.updateDataset(dataset.id, { name: "After" });
      expect((await a.getDataset(dataset.id)).name).toBe("After");
      expect((await c.findByName("after"))?.id).toBe(dataset.id);
      expect(await c.findByName("before")).toBeNull();

      await a.deleteVersion(dataset.id, "latest");
      for (const s of [b, c]) {
        expect(await apiErrorOf(() => rowsOf(s, dataset.id, 2))).toMatchObject({ status: 404 });
        expect((await s.getVersion(dataset.id, "latest")).version).toBe(1);
      }
      expect((await b.addVersion(dataset.id, newVersion(3))).version.version).toBe(3); // never reused

      await c.deleteDataset(dataset.id);
      for (const s of [a, b]) {
        expect(await apiErrorOf(() => s.getDataset(dataset.id))).toMatchObject({ status: 404 });
        expect(await apiErrorOf(() => rowsOf(s, dataset.id, 1))).toMatchObject({ status: 404 });
      }
    });

    it("serve statistics one instance saved from every other", async () => {
      const [a, b] = (await instances(2)).all as [PostgresStorage, PostgresStorage];
      const { dataset } = await a.createDataset({ name: "s", description: "" }, newVersion(0));
      const stats = { rowCount: 5, columns: [{ name: "10", min: 1 }, { name: "2", note: "\u0000 ✓" }] };
      await a.saveStats(dataset.id, 1, stats);
      expect(await b.getStats(dataset.id, 1)).toEqual(stats);
      expect(Object.keys((await b.getStats(dataset.id, 1)) as object)).toEqual(["rowCount", "columns"]);
    });
  });

  describe("orphaned objects", () => {
    for (const kind of ["file", "s3"] as const) {
      it(`are swept (${kind}://): crashed writers' objects at once, deleted versions' after the grace period, committed ones never`, async () => {
        const { all, databaseUrl, objectStoreUrl } = await instances(2, kind, 0);
        const [a, b] = all as [PostgresStorage, PostgresStorage];
        const { dataset } = await a.createDataset({ name: "kept", description: "" }, newVersion(0));
        await a.addVersion(dataset.id, newVersion(1));
        await a.addVersion(dataset.id, newVersion(2));
        await b.deleteVersion(dataset.id, 2);

        // A crashed upload: pending for an instance that holds no liveness lock, its object written.
        const store = createObjectStore(objectStoreUrl, kind === "s3" ? (await import("./helpers/s3.ts")).s3TestOptions() : {});
        cleanups.push(() => store.close());
        const scratch = await mkdtemp(path.join(os.tmpdir(), "orphan-"));
        cleanups.push(() => rm(scratch, { recursive: true, force: true }));
        await writeFile(path.join(scratch, "x"), "not committed");
        const crashed = uniqueObjectKey(dataset.id);
        const deadId = (await sql<{ id: number }>(databaseUrl, "INSERT INTO instances (host, pid) VALUES ('gone', 1) RETURNING id"))[0]!.id;
        await sql(databaseUrl, "INSERT INTO pending_objects (object_key, instance_id) VALUES ($1, $2)", [crashed, deadId]);
        await store.putFile(crashed, path.join(scratch, "x"));
        // An in-flight upload of a live instance (b) must survive any sweep.
        const inflight = uniqueObjectKey(dataset.id);
        await sql(databaseUrl, "INSERT INTO pending_objects (object_key, instance_id) VALUES ($1, $2)", [inflight, b.instanceId]);
        await store.putFile(inflight, path.join(scratch, "x"));

        const listed = async () => {
          const keys: string[] = [];
          for await (const o of store.list()) keys.push(o.key);
          return keys.sort();
        };
        const committed = (await sql<{ k: string }>(databaseUrl, "SELECT object_key AS k FROM versions")).map((r) => r.k);
        expect(await listed()).toHaveLength(5);
        expect(await a.sweep()).toMatchObject({ removedObjects: 2 });
        expect(await listed()).toEqual([...committed, inflight].sort());
        expect(await sql(databaseUrl, "SELECT * FROM pending_objects WHERE instance_id = $1", [deadId])).toEqual([]);
        expect(await sql(databaseUrl, "SELECT * FROM instances WHERE id = $1", [deadId])).toEqual([]);
        for (const s of all) for (const n of [1, 3]) expect(await rowsOf(s, dataset.id, n)).toHaveLength(5);
      });
    }
  });

  it("imports a dataset with its own numbers and times, all or nothing, numbering on after the highest issued", async () => {
    const [a, b] = (await instances(2)).all as [PostgresStorage, PostgresStorage];
    const meta = { name: "Imported", description: "from an archive", createdAt: "2025-03-01T10:00:00.000Z", updatedAt: "2025-03-04T10:00:00.000Z", highestIssued: 5 };
    const versions = () => [
      { ...newVersion(1), version: 2, createdAt: "2025-03-02T10:00:00.000Z" },
      { ...newVersion(2, 7), version: 4, createdAt: "2025-03-03T10:00:00.000Z" },
    ];
    const { dataset, versions: made } = await a.importDataset(meta, versions());
    expect(dataset).toMatchObject({ name: "Imported", createdAt: meta.createdAt, updatedAt: meta.updatedAt, latestVersion: 4, versionCount: 2 });
    expect(made.map((v) => [v.version, v.createdAt, v.rowCount])).toEqual([[2, "2025-03-02T10:00:00.000Z", 5], [4, "2025-03-03T10:00:00.000Z", 7]]);
    expect(await b.listVersions(dataset.id)).toEqual(made);
    expect(await rowsOf(b, dataset.id, 4)).toEqual(sampleFrame(2, 7).toRecords());
    expect(await b.highestIssued(dataset.id)).toBe(5);
    expect((await b.addVersion(dataset.id, newVersion(3))).version.version).toBe(6);
    expect(await apiErrorOf(() => b.importDataset({ ...meta, name: "IMPORTED" }, versions()))).toMatchObject({ status: 409, code: "NAME_TAKEN" });
    expect(await apiErrorOf(() => a.highestIssued("00000000-0000-4000-8000-000000000000"))).toMatchObject({ status: 404 });
    expect((await a.health()).datasets).toBe(1);
  });

  it("refuses a version whose object was damaged with 410, keeps its metadata, and reports it in health", async () => {
    const made = await makePostgresStorage({ kind: "file", budgetBytes: BUDGET });
    cleanups.push(made.cleanup);
    const s = made.storage;
    const { dataset } = await s.createDataset({ name: "d", description: "" }, newVersion(0));
    const k = (await sql<{ k: string }>(made.databaseUrl, "SELECT object_key AS k FROM versions"))[0]!.k;
    await truncate(path.join(new URL(made.objectStoreUrl).pathname, k), 10);
    expect(await apiErrorOf(() => rowsOf(s, dataset.id, 1))).toMatchObject({ status: 410, code: "VERSION_DAMAGED" });
    expect(await apiErrorOf(() => s.getStats(dataset.id, 1))).toMatchObject({ status: 410 });
    expect(await s.getVersion(dataset.id, 1)).toMatchObject({ version: 1 }); // metadata stays
    expect((await s.health()).details.excludedVersions).toBe(1);
  });

  it("downloads an s3:// object once and then reads the local copy, within the copy budget", async () => {
    const made = await makePostgresStorage({ kind: "s3", budgetBytes: 1, objectCacheBytes: 1 }); // nothing fits: every read is cold
    cleanups.push(made.cleanup);
    const s = made.storage;
    const { dataset } = await s.createDataset({ name: "cold", description: "" }, newVersion(0, 50));
    await s.addVersion(dataset.id, newVersion(1, 50));
    for (let i = 0; i < 3; i++) expect(await rowsOf(s, dataset.id, 1)).toEqual(sampleFrame(0, 50).toRecords());
    expect((await s.health()).details).toMatchObject({ objectDownloads: 1, cachedVersions: 0 });
    expect(await rowsOf(s, dataset.id, 2)).toEqual(sampleFrame(1, 50).toRecords());
    // Over the budget the older copy is removed, so reading version 1 again downloads it again.
    expect(await rowsOf(s, dataset.id, 1)).toHaveLength(50);
    expect((await s.health()).details.objectDownloads).toBe(3);
  });
});
