/**
 * The storage contract (src/storage/types.ts) as tests, run unchanged against every backend by
 * test/storage.test.ts. Backend-only behaviour is `it.skipIf`, never silently missing.
 */
import { existsSync } from "node:fs";
import pl from "nodejs-polars";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../src/errors.ts";
import { describeColumns } from "../src/frame/dtype.ts";
import { estimatedBytes } from "../src/frame/safe.ts";
import { checksumFileSync } from "../src/storage/checksum.ts";
import type { NewVersion, Storage } from "../src/storage/types.ts";
import type { SourceInfo } from "../src/types.ts";
import { versionOf } from "./helpers/versions.ts";

export { versionOf };

export interface StorageUnderTest {
  storage: Storage;
  cleanup(): Promise<void>;
}

export type MakeStorage = (options?: { budgetBytes?: number }) => Promise<StorageUnderTest>;

/** A frame with the dtypes ingest produces, nulls included; `seed` changes its values. */
export function sampleFrame(seed = 0, rows = 5): pl.DataFrame {
  const ids = Array.from({ length: rows }, (_, i) => seed * 1000 + i + 1);
  return pl.DataFrame([
    pl.Series("id", ids, pl.Int64),
    pl.Series("price", ids.map((i) => (i % 4 === 0 ? null : i * 1.5)), pl.Float64),
    pl.Series("label", ids.map((i) => (i % 3 === 0 ? null : `item ${i} ✓`)), pl.String),
    pl.Series("flag", ids.map((i) => i % 2 === 0), pl.Bool),
    pl.Series("day", ids.map((i) => new Date(Date.UTC(2024, 0, 1 + (i % 28)))), pl.Date),
    pl.Series("at", ids.map((i) => (i % 5 === 0 ? null : new Date(Date.UTC(2024, 1, 1, 0, 0, i)))), pl.Datetime("us")),
  ]);
}

export function sourceOf(filename: string): SourceInfo {
  return { filename, format: "csv", sizeBytes: 123, sha256: "0".repeat(64), sheet: null, delimiter: ",", header: true };
}

export function newVersion(seed = 0, rows = 5): NewVersion {
  return versionOf(sampleFrame(seed, rows), sourceOf(`v${seed}.csv`));
}

/** Every row of a version as records (values compared with toEqual). */
export async function rowsOf(storage: Storage, datasetId: string, version: number | "latest"): Promise<Record<string, unknown>[]> {
  return storage.read(datasetId, version, async (data) => (await data.lazy().collect()).toRecords());
}

/** Runs `fn` and returns the ApiError it throws (fails when it does not throw one). */
export async function apiErrorOf(fn: () => Promise<unknown>): Promise<ApiError> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error("expected an ApiError, but the call succeeded");
}

const MISSING_ID = "00000000-0000-4000-8000-000000000000";

export function runStorageContract(name: string, make: MakeStorage): void {
  describe(`storage contract (${name} backend)`, () => {
    let sut: StorageUnderTest;
    let storage: Storage;
    beforeEach(async () => {
      sut = await make();
      storage = sut.storage;
    });
    afterEach(async () => {
      await sut.cleanup();
    });

    async function create(datasetName: string, seed = 0) {
      return storage.createDataset({ name: datasetName, description: `about ${datasetName}` }, newVersion(seed));
    }

    describe("datasets", () => {
      it("creates a dataset with version 1 and returns both", async () => {
        const { dataset, version } = await create("sales");
        expect(dataset).toMatchObject({ name: "sales", description: "about sales", latestVersion: 1, versionCount: 1 });
        expect(dataset.id).toMatch(/^[A-Za-z0-9_-]+$/);
        expect(Date.parse(dataset.createdAt)).not.toBeNaN();
        expect(version).toMatchObject({ datasetId: dataset.id, version: 1, rowCount: 5, columnCount: 6, source: sourceOf("v0.csv") });
        expect(version.columns.map((c) => [c.name, c.dtype])).toEqual([
          ["id", "Int64"],
          ["price", "Float64"],
          ["label", "String"],
          ["flag", "Boolean"],
          ["day", "Date"],
          ["at", "Datetime(us)"],
        ]);
        expect(await storage.getDataset(dataset.id)).toEqual(dataset);
      });

      it("finds a dataset by name case-insensitively", async () => {
        const { dataset } = await create("Sales Q1");
        expect(await storage.findByName("sales q1")).toEqual(dataset);
        expect(await storage.findByName("SALES Q1")).toEqual(dataset);
        expect(await storage.findByName("sales")).toBeNull();
      });

      it("refuses a taken name case-insensitively with NAME_TAKEN and the owner's id", async () => {
        const { dataset } = await create("Sales");
        const error = await apiErrorOf(() => create("sALES"));
        expect(error).toMatchObject({ status: 409, code: "NAME_TAKEN", extra: { datasetId: dataset.id } });
        expect((await storage.health()).datasets).toBe(1);
      });

      it("lets exactly one of several concurrent creates with one name succeed", async () => {
        const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => create(i % 2 ? "dup" : "DUP", i)));
        const ok = results.filter((r) => r.status === "fulfilled");
        const refused = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
        expect(ok).toHaveLength(1);
        for (const r of refused) expect(r.reason).toMatchObject({ code: "NAME_TAKEN" });
        expect((await storage.listDatasets({ offset: 0, limit: 10 })).total).toBe(1);
      });

      it("lists datasets with paging, total and an exact name filter", async () => {
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push((await create(`set ${i}`, i)).dataset.id);
        const all = await storage.listDatasets({ offset: 0, limit: 50 });
        expect(all.total).toBe(5);
        expect(all.items.map((d) => d.id).sort()).toEqual([...ids].sort());
        const page = await storage.listDatasets({ offset: 1, limit: 2 });
        expect(page.total).toBe(5);
        expect(page.items).toEqual(all.items.slice(1, 3));
        const byName = await storage.listDatasets({ offset: 0, limit: 50, name: "SET 3" });
        expect(byName).toEqual({ total: 1, items: [await storage.getDataset(ids[3] as string)] });
        expect(await storage.listDatasets({ offset: 0, limit: 50, name: "set" })).toEqual({ total: 0, items: [] });
      });

      it("updates name and description, keeping the name index in step", async () => {
        const { dataset } = await create("old");
        const updated = await storage.updateDataset(dataset.id, { name: "New", description: "changed" });
        expect(updated).toMatchObject({ id: dataset.id, name: "New", description: "changed", createdAt: dataset.createdAt, latestVersion: 1 });
        expect(updated.updatedAt >= dataset.updatedAt).toBe(true);
        expect(await storage.getDataset(dataset.id)).toEqual(updated);
        expect(await storage.findByName("old")).toBeNull();
        expect((await storage.findByName("new"))?.id).toBe(dataset.id);
        // The old name is free again; renaming to a differently-cased own name is allowed.
        await create("old", 1);
        expect((await storage.updateDataset(dataset.id, { name: "NEW" })).name).toBe("NEW");
      });

      it("refuses renaming onto another dataset's name with NAME_TAKEN", async () => {
        const a = await create("a");
        const b = await create("b", 1);
        const error = await apiErrorOf(() => storage.updateDataset(b.dataset.id, { name: "A", description: "x" }));
        expect(error).toMatchObject({ status: 409, code: "NAME_TAKEN", extra: { datasetId: a.dataset.id } });
        expect(await storage.getDataset(b.dataset.id)).toEqual(b.dataset);
      });

      it("deletes a dataset: 404 afterwards and its name is free", async () => {
        const { dataset } = await create("gone");
        await storage.deleteDataset(dataset.id);
        expect(await apiErrorOf(() => storage.getDataset(dataset.id))).toMatchObject({ status: 404, code: "NOT_FOUND" });
        expect(await apiErrorOf(() => storage.getVersion(dataset.id, 1))).toMatchObject({ code: "NOT_FOUND" });
        expect(await storage.findByName("gone")).toBeNull();
        expect((await create("GONE", 1)).dataset.id).not.toBe(dataset.id);
        expect(await storage.getStats(dataset.id, 1)).toBeUndefined();
      });
    });

    describe("versions", () => {
      it("numbers versions 1..n, lists them oldest first and resolves latest", async () => {
        const { dataset } = await create("v");
        const added = [];
        for (let seed = 1; seed <= 3; seed++) added.push(await storage.addVersion(dataset.id, newVersion(seed)));
        expect(added.map((a) => a.version.version)).toEqual([2, 3, 4]);
        expect(added[2]?.dataset).toMatchObject({ latestVersion: 4, versionCount: 4 });
        const list = await storage.listVersions(dataset.id);
        expect(list.map((v) => v.version)).toEqual([1, 2, 3, 4]);
        expect(list[3]).toEqual(added[2]?.version);
        expect(await storage.getVersion(dataset.id, "latest")).toEqual(added[2]?.version);
        expect(await storage.getVersion(dataset.id, 2)).toEqual(added[0]?.version);
        expect((await storage.getDataset(dataset.id)).updatedAt).toBe(added[2]?.version.createdAt);
      });

      it("never reuses a number after deleting versions, even all of them", async () => {
        const { dataset } = await create("v");
        await storage.addVersion(dataset.id, newVersion(1));
        await storage.addVersion(dataset.id, newVersion(2));
        await storage.deleteVersion(dataset.id, "latest");
        expect((await storage.getVersion(dataset.id, "latest")).version).toBe(2);
        expect((await storage.getDataset(dataset.id)).latestVersion).toBe(2);
        expect((await storage.addVersion(dataset.id, newVersion(3))).version.version).toBe(4);
        for (const n of [1, 2, 4]) await storage.deleteVersion(dataset.id, n);
        expect(await storage.getDataset(dataset.id)).toMatchObject({ latestVersion: null, versionCount: 0 });
        expect(await storage.listVersions(dataset.id)).toEqual([]);
        expect(await apiErrorOf(() => storage.getVersion(dataset.id, "latest"))).toMatchObject({ status: 404, code: "NOT_FOUND" });
        expect(await apiErrorOf(() => storage.read(dataset.id, "latest", async () => 0))).toMatchObject({ code: "NOT_FOUND" });
        const next = await storage.addVersion(dataset.id, newVersion(5));
        expect(next.version.version).toBe(5);
        expect(next.dataset).toMatchObject({ latestVersion: 5, versionCount: 1 });
      });

      it("keeps a version's data and metadata unchanged while others come and go", async () => {
        const { dataset, version } = await create("immutable");
        const before = await rowsOf(storage, dataset.id, 1);
        await storage.addVersion(dataset.id, newVersion(7, 9));
        await storage.deleteVersion(dataset.id, 2);
        await storage.addVersion(dataset.id, newVersion(8, 2));
        await storage.updateDataset(dataset.id, { description: "new words" });
        expect(await storage.getVersion(dataset.id, 1)).toEqual(version);
        expect(await rowsOf(storage, dataset.id, 1)).toEqual(before);
        expect(before).toEqual(sampleFrame(0).toRecords());
      });

      it("gives 20 concurrent additions distinct, gap-free numbers", async () => {
        const { dataset } = await create("busy");
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => storage.addVersion(dataset.id, newVersion(i + 1, 3))));
        const numbers = results.map((r) => r.version.version).sort((a, b) => a - b);
        expect(numbers).toEqual(Array.from({ length: 20 }, (_, i) => i + 2));
        expect(await storage.getDataset(dataset.id)).toMatchObject({ latestVersion: 21, versionCount: 21 });
        // Each number holds the data its own call sent.
        for (const r of results) {
          const seed = Number(r.version.source.filename.slice(1, -4));
          expect(await rowsOf(storage, dataset.id, r.version.version)).toEqual(sampleFrame(seed, 3).toRecords());
        }
      });

      it("answers 404 NOT_FOUND for unknown datasets and versions everywhere", async () => {
        const { dataset } = await create("known");
        const calls: [string, () => Promise<unknown>][] = [
          ["getDataset", () => storage.getDataset(MISSING_ID)],
          ["updateDataset", () => storage.updateDataset(MISSING_ID, { description: "x" })],
          ["deleteDataset", () => storage.deleteDataset(MISSING_ID)],
          ["addVersion", () => storage.addVersion(MISSING_ID, newVersion(1))],
          ["listVersions", () => storage.listVersions(MISSING_ID)],
          ["getVersion", () => storage.getVersion(MISSING_ID, 1)],
          ["deleteVersion", () => storage.deleteVersion(MISSING_ID, "latest")],
          ["read", () => storage.read(MISSING_ID, 1, async () => 0)],
          ["getVersion 99", () => storage.getVersion(dataset.id, 99)],
          ["deleteVersion 99", () => storage.deleteVersion(dataset.id, 99)],
          ["read 99", () => storage.read(dataset.id, 99, async () => 0)],
          ["path-like id", () => storage.getDataset("../../etc")],
          ["path-like id read", () => storage.read("../x", 1, async () => 0)],
        ];
        for (const [label, call] of calls) {
          const error = await apiErrorOf(call);
          expect([label, error.status, error.code]).toEqual([label, 404, "NOT_FOUND"]);
        }
        expect((await storage.health()).versions).toBe(1);
      });
    });

    describe("reading data", () => {
      it("returns the rows and dtypes that were stored, in order", async () => {
        const frame = sampleFrame(3, 40);
        const { dataset, version } = await storage.createDataset({ name: "rows", description: "" }, versionOf(frame, sourceOf("rows.csv")));
        const got = await storage.read(dataset.id, 1, async (data) => {
          expect(data.version).toEqual(version);
          return data.lazy().collect();
        });
        expect(describeColumns(got)).toEqual(version.columns);
        expect(got.toRecords()).toEqual(frame.toRecords());
        expect(await rowsOf(storage, dataset.id, "latest")).toEqual(frame.toRecords());
      });

      it("supports slicing and projection on the lazy frame", async () => {
        const frame = sampleFrame(1, 100);
        const { dataset } = await storage.createDataset({ name: "page", description: "" }, versionOf(frame, sourceOf("p.csv")));
        for (let pass = 0; pass < 2; pass++) {
          const page = await storage.read(dataset.id, 1, async (data) => data.lazy().select("label", "id").slice(10, 5).collect());
          expect(page.toRecords()).toEqual(frame.select("label", "id").slice(10, 5).toRecords());
        }
      });

      it("keeps a version's data readable inside read() while it is deleted", async () => {
        const { dataset } = await create("pinned", 4);
        const rows = await storage.read(dataset.id, 1, async (data) => {
          await storage.deleteVersion(dataset.id, 1);
          return (await data.lazy().collect()).toRecords();
        });
        expect(rows).toEqual(sampleFrame(4).toRecords());
        expect(await apiErrorOf(() => storage.getVersion(dataset.id, 1))).toMatchObject({ code: "NOT_FOUND" });
      });
    });

    describe("data files", () => {
      it("hands out fresh staging paths where a new version's data file can be written", async () => {
        const a = storage.stagingPath();
        const b = storage.stagingPath();
        expect(a).not.toBe(b);
        expect(existsSync(a)).toBe(false);
        // the backend takes the file over (moves it in, uploads it, or keeps it where it is)
        const { dataset } = await storage.createDataset({ name: "staged", description: "" }, versionOf(sampleFrame(2), sourceOf("s.csv"), a));
        expect(await rowsOf(storage, dataset.id, 1)).toEqual(sampleFrame(2).toRecords());
        await storage.deleteDataset(dataset.id);
        for (let i = 0; i < 50 && existsSync(a); i++) await new Promise((r) => setTimeout(r, 20));
        expect(existsSync(a)).toBe(false);
      });

      it("gives a version's data file with its checksum, holding exactly the version's rows", async () => {
        const next = newVersion(6, 30);
        const { dataset } = await storage.createDataset({ name: "files", description: "" }, next);
        const ref = await storage.read(dataset.id, 1, (data) => data.dataFile(), { rows: { offset: 0, limit: 0 } });
        expect(ref.checksum).toEqual(next.checksum);
        expect(checksumFileSync(ref.path)).toEqual(ref.checksum);
        expect(pl.readParquet(ref.path).toRecords()).toEqual(sampleFrame(6, 30).toRecords());
      });

      it("repairs a data file reported damaged, or stops serving the version with 410 VERSION_DAMAGED", async () => {
        const { dataset } = await create("damage", 7);
        const outcome = await storage.read(dataset.id, 1, (data) => data.reportDamaged("a test says so"));
        expect(["repaired", "excluded"]).toContain(outcome);
        if (outcome === "repaired") {
          const ref = await storage.read(dataset.id, 1, (data) => data.dataFile());
          expect(checksumFileSync(ref.path)).toEqual(ref.checksum);
          expect(await rowsOf(storage, dataset.id, 1)).toEqual(sampleFrame(7).toRecords());
        } else {
          expect(await apiErrorOf(() => rowsOf(storage, dataset.id, 1))).toMatchObject({ status: 410, code: "VERSION_DAMAGED" });
          expect(await apiErrorOf(() => storage.getStats(dataset.id, 1))).toMatchObject({ status: 410, code: "VERSION_DAMAGED" });
          // its metadata stays
          expect((await storage.getVersion(dataset.id, 1)).version).toBe(1);
        }
      });
    });

    describe("stats cache", () => {
      it("keeps saved stats per version and drops them with the version", async () => {
        const { dataset } = await create("stats");
        await storage.addVersion(dataset.id, newVersion(1));
        expect(await storage.getStats(dataset.id, 1)).toBeUndefined();
        const stats = { rowCount: 5, columns: [{ name: "id", min: 1, max: 5, mean: 3, histogram: { edges: [1, 3, 5], counts: [2, 3] }, note: "✓" }] };
        await storage.saveStats(dataset.id, 1, stats);
        expect(await storage.getStats(dataset.id, 1)).toEqual(stats);
        expect(await storage.getStats(dataset.id, 2)).toBeUndefined();
        expect(await storage.getStats(dataset.id, 99)).toBeUndefined();
        await storage.deleteVersion(dataset.id, 1);
        expect(await storage.getStats(dataset.id, 1)).toBeUndefined();
        const third = await storage.addVersion(dataset.id, newVersion(2));
        expect(await storage.getStats(dataset.id, third.version.version)).toBeUndefined();
      });
    });

    describe("health", () => {
      it("counts datasets and versions and reports the budget", async () => {
        const empty = await storage.health();
        expect(empty).toMatchObject({ datasets: 0, versions: 0 });
        expect(empty.budgetBytes).toBeGreaterThan(0);
        const a = await create("a");
        await create("b", 1);
        await storage.addVersion(a.dataset.id, newVersion(2));
        await storage.addVersion(a.dataset.id, newVersion(3));
        await storage.deleteVersion(a.dataset.id, 2);
        const health = await storage.health();
        expect(health).toMatchObject({ datasets: 2, versions: 3 });
        expect(health.dataBytes).toBeGreaterThanOrEqual(0);
        expect(health.dataBytes).toBeLessThanOrEqual(health.budgetBytes);
        for (const value of Object.values(health.details)) expect(Number.isFinite(value)).toBe(true);
      });
    });

    describe("memory budget", () => {
      it.skipIf(name !== "memory")("refuses a version past the budget with STORAGE_FULL and keeps what is stored", async () => {
        const one = estimatedBytes(sampleFrame(0));
        const small = await make({ budgetBytes: Math.floor(one * 1.5) });
        try {
          const s = small.storage;
          const { dataset } = await s.createDataset({ name: "tight", description: "" }, newVersion(0));
          const error = await apiErrorOf(() => s.addVersion(dataset.id, newVersion(1)));
          expect(error).toMatchObject({ status: 507, code: "STORAGE_FULL" });
          const refusedCreate = await apiErrorOf(() => s.createDataset({ name: "other", description: "" }, newVersion(2)));
          expect(refusedCreate).toMatchObject({ status: 507, code: "STORAGE_FULL" });
          expect(await s.health()).toMatchObject({ datasets: 1, versions: 1 });
          expect(await rowsOf(s, dataset.id, 1)).toEqual(sampleFrame(0).toRecords());
          // Deleting frees room again.
          await s.deleteVersion(dataset.id, 1);
          expect((await s.addVersion(dataset.id, newVersion(1))).version.version).toBe(2);
        } finally {
          await small.cleanup();
        }
      });
    });
  });
}
