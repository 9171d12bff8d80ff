/** Storage.importDataset on every backend: own numbers, times and sources, all or nothing. */
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createLocalStorage } from "../src/storage/local.ts";
import { createMemoryStorage } from "../src/storage/memory.ts";
import type { ImportedDataset, ImportedVersion, Storage } from "../src/storage/types.ts";
import { hasPostgres, makePostgresStorage } from "./helpers/postgres.ts";
import { apiErrorOf, newVersion, rowsOf, sampleFrame } from "./storage-contract.ts";

const BUDGET = 256 * 1024 * 1024;
const dirs: string[] = [];
const opened: Storage[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  for (const c of cleanups.splice(0).reverse()) await c();
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

async function localDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "storage-import-"));
  dirs.push(dir);
  return dir;
}

const BACKENDS: [string, () => Promise<{ storage: Storage; reopen?: () => Promise<Storage> }>][] = [
  ["memory", async () => {
    const storage = createMemoryStorage({ budgetBytes: BUDGET, filesDir: await localDir() });
    opened.push(storage);
    return { storage };
  }],
  ["local", async () => {
    const dataDir = await localDir();
    const storage = await createLocalStorage({ dataDir, budgetBytes: BUDGET });
    opened.push(storage);
    return {
      storage,
      reopen: async () => {
        await storage.close();
        const again = await createLocalStorage({ dataDir, budgetBytes: BUDGET });
        opened.push(again);
        return again;
      },
    };
  }],
  ...(hasPostgres()
    ? [["postgres", async () => {
        const made = await makePostgresStorage({ kind: "file", budgetBytes: BUDGET });
        cleanups.push(made.cleanup);
        return { storage: made.storage };
      }] as [string, () => Promise<{ storage: Storage; reopen?: () => Promise<Storage> }>]]
    : []),
];

const meta: ImportedDataset = { name: "Imported", description: "from an archive", createdAt: "2025-03-01T10:00:00.000Z", updatedAt: "2025-03-04T10:00:00.000Z", highestIssued: 5 };
const versions = (): ImportedVersion[] => [
  { ...newVersion(1), version: 2, createdAt: "2025-03-02T10:00:00.000Z" },
  { ...newVersion(2, 7), version: 4, createdAt: "2025-03-03T10:00:00.000Z" },
];

for (const [name, make] of BACKENDS) {
  describe(`importDataset (${name})`, () => {
    it("keeps numbers, times, sources and rows; later versions are numbered after the highest issued", async () => {
      const { storage, reopen } = await make();
      const { dataset, versions: made } = await storage.importDataset(meta, versions());
      expect(dataset).toMatchObject({ name: "Imported", description: "from an archive", createdAt: meta.createdAt, updatedAt: meta.updatedAt, latestVersion: 4, versionCount: 2 });
      expect(made.map((v) => [v.version, v.createdAt, v.source.filename, v.rowCount])).toEqual([[2, "2025-03-02T10:00:00.000Z", "v1.csv", 5], [4, "2025-03-03T10:00:00.000Z", "v2.csv", 7]]);
      expect(await rowsOf(storage, dataset.id, 4)).toEqual(sampleFrame(2, 7).toRecords());
      const check = async (s: Storage) => {
        expect((await s.listVersions(dataset.id)).map((v) => v.version)).toEqual([2, 4]);
        expect((await s.getVersion(dataset.id, 2)).createdAt).toBe("2025-03-02T10:00:00.000Z");
        expect(await rowsOf(s, dataset.id, 2)).toEqual(sampleFrame(1).toRecords());
        const next = await s.addVersion(dataset.id, newVersion(3));
        expect(next.version.version).toBe(6);
      };
      await check(reopen ? await reopen() : storage);
    });

    it("refuses a taken name (409) and stores nothing", async () => {
      const { storage } = await make();
      await storage.createDataset({ name: "imported", description: "" }, newVersion(0));
      const err = await apiErrorOf(() => storage.importDataset(meta, versions()));
      expect(err.status).toBe(409);
      expect((await storage.listDatasets({ offset: 0, limit: 10 })).total).toBe(1);
      expect((await storage.health()).versions).toBe(1);
    });
  });
}

it("memory: an import past the budget is a 507 and stores nothing", async () => {
  const storage = createMemoryStorage({ budgetBytes: 50, filesDir: await localDir() });
  opened.push(storage);
  const all = versions();
  const err = await apiErrorOf(() => storage.importDataset(meta, all));
  expect(err.status).toBe(507);
  // in the archive's own terms: what all its versions need, and nothing of it counted as "in use" (QA Q35)
  expect(err.message).toContain(`Importing this archive's ${all.length} version${all.length === 1 ? "" : "s"} needs about ${all.reduce((n, v) => n + v.frameBytes, 0)} bytes`);
  expect(err.message).toContain("0 of the 50-byte memory budget");
  expect((await storage.health()).datasets).toBe(0);
});

it("local: a failed import leaves no folder behind", async () => {
  const dataDir = await localDir();
  const storage = await createLocalStorage({ dataDir, budgetBytes: BUDGET });
  opened.push(storage);
  await expect(storage.importDataset({ ...meta, highestIssued: 3 }, versions())).rejects.toThrow(/within 1..3/);
  expect(await readdir(path.join(dataDir, "datasets")).catch(() => [])).toEqual([]);
});
