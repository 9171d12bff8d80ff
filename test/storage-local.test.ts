/**
 * Behaviour of the `local` backend beyond the shared contract: the on-disk layout, restarts,
 * damaged and leftover files, deletion of files, and the byte-budgeted read-through cache.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { open as openFile } from "node:fs/promises";
import pl from "nodejs-polars";
import { loadConfig } from "../src/config.ts";
import { createQueryWorkers } from "../src/sandbox/queries.ts";
import { checksumFileSync } from "../src/storage/checksum.ts";
import { footerRange, readLayout } from "../src/storage/parquet-ranges.ts";
import { createLocalStorage, type LocalStorage } from "../src/storage/local.ts";
import { pathsFor } from "../src/storage/paths.ts";
import type { Storage } from "../src/storage/types.ts";
import { apiErrorOf, newVersion, rowsOf, sampleFrame, sourceOf } from "./storage-contract.ts";
import { seedLayout1 } from "./helpers/layout1.ts";
import { versionInGroups } from "./helpers/versions.ts";

const BIG_BUDGET = 512 * 1024 * 1024;

let dataDir: string;
let opened: LocalStorage[] = [];
let warnings: string[] = [];

async function open(budgetBytes = BIG_BUDGET, backgroundLoad = true): Promise<LocalStorage> {
  const storage = await createLocalStorage({ dataDir, budgetBytes, backgroundLoad, warn: (m) => warnings.push(m) });
  opened.push(storage);
  return storage;
}

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "storage-local-"));
  opened = [];
  warnings = [];
});

afterEach(async () => {
  for (const s of opened) await s.close();
  await rm(dataDir, { recursive: true, force: true });
});

/** Everything a client can see through the interface, rows included. */
async function snapshot(storage: Storage) {
  const { items, total } = await storage.listDatasets({ offset: 0, limit: 1000 });
  const datasets = [];
  for (const d of items) {
    const versions = await storage.listVersions(d.id);
    const detail = [];
    for (const v of versions) {
      detail.push({
        version: await storage.getVersion(d.id, v.version),
        stats: await storage.getStats(d.id, v.version),
        rows: await rowsOf(storage, d.id, v.version),
      });
    }
    datasets.push({ dataset: await storage.getDataset(d.id), byName: await storage.findByName(d.name.toUpperCase()), latest: d.latestVersion, detail });
  }
  const health = await storage.health();
  return { total, datasets, counts: { datasets: health.datasets, versions: health.versions, diskBytes: health.details.diskBytes } };
}

describe("local storage layout", () => {
  it("keeps one readable folder per dataset with Parquet data and JSON metadata per version", async () => {
    const storage = await open();
    const { dataset } = await storage.createDataset({ name: "layout", description: "d" }, newVersion(0));
    await storage.addVersion(dataset.id, newVersion(1));
    await storage.saveStats(dataset.id, 2, { rowCount: 5 });
    const dir = path.join(dataDir, "datasets", dataset.id);
    expect((await readdir(dir)).sort()).toEqual(["dataset.json", "versions"]);
    expect((await readdir(path.join(dir, "versions"))).sort()).toEqual([
      "000001.claim",
      "000001.json",
      "000001.parquet",
      "000002.claim",
      "000002.json",
      "000002.parquet",
      "000002.stats.json",
    ]);
    const meta = JSON.parse(await readFile(path.join(dir, "dataset.json"), "utf8"));
    expect(meta).toMatchObject({ layout: 2, dataset: { id: dataset.id, name: "layout", description: "d" } });
    const record = JSON.parse(await readFile(path.join(dir, "versions", "000002.json"), "utf8"));
    expect(record.layout).toBe(2);
    expect(record.version).toEqual(await storage.getVersion(dataset.id, 2));
    const dataFile = path.join(dir, "versions", "000002.parquet");
    expect(record.data.fileBytes).toBe((await stat(dataFile)).size);
    // the checksum the parser side computed, of exactly the bytes stored
    expect(record.data.checksum).toEqual(checksumFileSync(dataFile));
    expect(record.data.checksum.sha256).toBe(createHash("sha256").update(await readFile(dataFile)).digest("hex"));
    expect(record.data.proven).toBe(true);
    expect(await readdir(path.join(dataDir, "tmp"))).toEqual([]);
  });

  it("maps only UUIDs and positive integers to paths", () => {
    const id = "0b8e5a52-4b8f-4c61-9d5e-2f2b8c1d7a10";
    expect(pathsFor(dataDir, id, 12).data).toBe(path.join(dataDir, "datasets", id, "versions", "000012.parquet"));
    for (const bad of ["../etc", "", "0B8E5A52-4B8F-4C61-9D5E-2F2B8C1D7A10", `${id}/..`, `${id}\0`]) {
      expect(() => pathsFor(dataDir, bad)).toThrow(expect.objectContaining({ code: "NOT_FOUND" }));
    }
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 60]) {
      expect(() => pathsFor(dataDir, id, bad)).toThrow(expect.objectContaining({ code: "NOT_FOUND" }));
    }
  });

  it("works under a DATA_DIR whose path looks like a glob or a hive partition", async () => {
    const odd = path.join(dataDir, "data [1]*?", "year=2024");
    const storage = await createLocalStorage({ dataDir: odd, budgetBytes: BIG_BUDGET, warn: (m) => warnings.push(m) });
    opened.push(storage);
    const { dataset } = await storage.createDataset({ name: "odd", description: "" }, newVersion(0));
    expect(await rowsOf(storage, dataset.id, 1)).toEqual(sampleFrame(0).toRecords());
    await storage.settled();
    expect(await rowsOf(storage, dataset.id, 1)).toEqual(sampleFrame(0).toRecords());
  });

  it("removes a deleted version's files but keeps its claim, and a deleted dataset's folder", async () => {
    const storage = await open();
    const { dataset } = await storage.createDataset({ name: "del", description: "" }, newVersion(0));
    await storage.addVersion(dataset.id, newVersion(1));
    await storage.saveStats(dataset.id, 2, { x: 1 });
    await storage.deleteVersion(dataset.id, 2);
    const versions = path.join(dataDir, "datasets", dataset.id, "versions");
    expect((await readdir(versions)).sort()).toEqual(["000001.claim", "000001.json", "000001.parquet", "000002.claim"]);
    await storage.deleteDataset(dataset.id);
    expect(existsSync(path.join(dataDir, "datasets", dataset.id))).toBe(false);
  });
});

describe("local storage across restarts", () => {
  it("serves every dataset, version, name, stats and row the same after a restart", async () => {
    const first = await open();
    const a = await first.createDataset({ name: "Alpha", description: "first one" }, newVersion(0, 20));
    const b = await first.createDataset({ name: "beta", description: "" }, newVersion(1, 3));
    for (let seed = 2; seed < 6; seed++) await first.addVersion(a.dataset.id, newVersion(seed, 10 + seed));
    await first.deleteVersion(a.dataset.id, 3);
    await first.updateDataset(b.dataset.id, { name: "Beta renamed", description: "now described" });
    await first.saveStats(a.dataset.id, 2, { columns: [{ name: "id", mean: 2.5, topValues: [{ value: "x", count: 2 }] }] });
    await first.saveStats(b.dataset.id, 1, { rowCount: 3 });
    const gone = await first.createDataset({ name: "gone", description: "" }, newVersion(9));
    await first.deleteDataset(gone.dataset.id);
    const before = await snapshot(first);
    await first.close();

    const second = await open();
    expect(await snapshot(second)).toEqual(before);
    expect(before.total).toBe(2);
    // Numbers stay unique after a restart, deleted ones included.
    expect((await second.addVersion(a.dataset.id, newVersion(7))).version.version).toBe(6);
    await second.deleteVersion(a.dataset.id, 6);
    await second.close();
    const third = await open();
    expect((await third.addVersion(a.dataset.id, newVersion(8))).version.version).toBe(7);
    expect(await apiErrorOf(() => third.createDataset({ name: "ALPHA", description: "" }, newVersion(1)))).toMatchObject({ code: "NAME_TAKEN" });
    expect(warnings).toEqual([]);
  });

  it("starts quickly by reading metadata only, even with many versions", async () => {
    const first = await open();
    const { dataset } = await first.createDataset({ name: "many", description: "" }, newVersion(0, 2));
    for (let i = 1; i < 60; i++) await first.addVersion(dataset.id, newVersion(i, 2));
    await first.close();
    const second = await open(BIG_BUDGET);
    const health = await second.health();
    expect(health).toMatchObject({ datasets: 1, versions: 60, dataBytes: 0 });
    expect(health.details).toMatchObject({ cachedBytes: 0, cacheMisses: 0, cacheHits: 0 });
  });
});

describe("local storage start-up checks", () => {
  it("excludes and reports versions whose data is truncated or missing or whose metadata is damaged", async () => {
    const first = await open();
    const { dataset } = await first.createDataset({ name: "damaged", description: "" }, newVersion(0, 50));
    for (let seed = 1; seed <= 4; seed++) await first.addVersion(dataset.id, newVersion(seed, 50));
    await first.close();
    const file = (n: number) => pathsFor(dataDir, dataset.id, n);
    await truncate(file(2).data, Math.floor((await stat(file(2).data)).size / 2));
    await rm(file(3).data);
    await writeFile(file(4).record, "{ not json");
    // Same size but not Parquet any more.
    const size = (await stat(file(5).data)).size;
    await writeFile(file(5).data, Buffer.alloc(size, 7));

    const second = await open();
    // damaged data: still listed (number, schema, source), never served; damaged metadata: not listed
    expect((await second.listVersions(dataset.id)).map((v) => v.version)).toEqual([1, 2, 3, 5]);
    expect(await rowsOf(second, dataset.id, 1)).toEqual(sampleFrame(0, 50).toRecords());
    expect((await second.health()).details.excludedVersions).toBe(4);
    expect(warnings).toHaveLength(4);
    for (const n of [2, 3, 4, 5]) expect(warnings.some((w) => w.includes(`version ${n} of dataset ${dataset.id}`))).toBe(true);
    for (const n of [2, 3, 5]) {
      expect(await apiErrorOf(() => second.read(dataset.id, n, async () => 0))).toMatchObject({ status: 410, code: "VERSION_DAMAGED" });
      expect(await apiErrorOf(() => second.getStats(dataset.id, n))).toMatchObject({ status: 410, code: "VERSION_DAMAGED" });
    }
    expect(await apiErrorOf(() => second.read(dataset.id, 4, async () => 0))).toMatchObject({ code: "NOT_FOUND" });
    expect(await apiErrorOf(() => second.read(dataset.id, "latest", async () => 0))).toMatchObject({ code: "VERSION_DAMAGED" });
    // Their numbers are still never reissued.
    expect((await second.addVersion(dataset.id, newVersion(6))).version.version).toBe(6);
  });

  it("cleans leftovers of dead processes and unfinished commits, and keeps a live process's work", async () => {
    const first = await open();
    const { dataset } = await first.createDataset({ name: "tidy", description: "" }, newVersion(0));
    await first.close();
    const tmp = path.join(dataDir, "tmp");
    const deadPid = 2 ** 30; // above Linux's pid_max: no such process
    await writeFile(path.join(tmp, `${deadPid}-abc.parquet`), "partial");
    await mkdir(path.join(tmp, `${deadPid}-staging`, "versions"), { recursive: true });
    await writeFile(path.join(tmp, `${process.pid}-mine.json`), "{");
    await writeFile(path.join(tmp, "1-live.parquet"), "pid 1 is alive"); // init: alive, not ours
    // A commit that crashed after renaming its data into place but before its metadata.
    const v9 = pathsFor(dataDir, dataset.id, 9);
    await writeFile(v9.claim, JSON.stringify({ pid: deadPid, claimedAt: new Date().toISOString() }));
    await writeFile(v9.data, "PAR1 half written");
    // A commit in flight in another live process sharing the folder.
    const v10 = pathsFor(dataDir, dataset.id, 10);
    await writeFile(v10.claim, JSON.stringify({ pid: 1, claimedAt: new Date().toISOString() }));
    await writeFile(v10.data, "PAR1 being written");
    // A dataset whose deletion was interrupted after its dataset.json was removed.
    const halfDeleted = pathsFor(dataDir, "7d0e4f0e-1f39-4a8e-9b7c-3e0f1d2c4b5a", 1);
    await mkdir(halfDeleted.versions, { recursive: true });
    await writeFile(halfDeleted.data, "PAR1");

    const second = await open();
    expect((await readdir(tmp)).sort()).toEqual(["1-live.parquet"]);
    expect(existsSync(v9.data)).toBe(false);
    expect(existsSync(v9.claim)).toBe(true);
    expect(existsSync(v10.data)).toBe(true);
    expect(existsSync(halfDeleted.dir)).toBe(false);
    expect((await second.health()).versions).toBe(1);
    expect((await second.addVersion(dataset.id, newVersion(1))).version.version).toBe(11);
  });
});

describe("local storage cache", () => {
  /** Bytes one sample version takes in the cache once loaded from disk. */
  async function loadedBytes(datasetId: string): Promise<number> {
    const probe = await open(BIG_BUDGET);
    await rowsOf(probe, datasetId, 1);
    await probe.settled();
    const bytes = (await probe.health()).details.cachedBytes ?? 0;
    await probe.close();
    expect(bytes).toBeGreaterThan(0);
    return bytes;
  }

  async function fill(versions: number): Promise<string> {
    const writer = await open();
    const { dataset } = await writer.createDataset({ name: "cache", description: "" }, newVersion(0, 2000));
    for (let seed = 1; seed < versions; seed++) await writer.addVersion(dataset.id, newVersion(seed, 2000));
    await writer.close();
    return dataset.id;
  }

  it("reads a cold version through a Parquet scan and caches it only after the read", async () => {
    const id = await fill(1);
    const storage = await open();
    const plan = await storage.read(id, 1, async (data) => data.lazy().select("id").slice(0, 10).describeOptimizedPlan());
    expect(plan).toMatch(/Parquet SCAN/);
    await storage.settled();
    expect((await storage.health()).details).toMatchObject({ cacheMisses: 1, cacheHits: 0, cachedVersions: 1 });
    const warm = await storage.read(id, 1, async (data) => data.lazy().describeOptimizedPlan());
    expect(warm).not.toMatch(/Parquet SCAN/);
    expect((await storage.health()).details).toMatchObject({ cacheMisses: 1, cacheHits: 1 });
  });

  it("keeps cached bytes under a small budget, evicting the least recently used, with correct answers", async () => {
    const id = await fill(6);
    const one = await loadedBytes(id);
    const storage = await open(Math.floor(one * 2.5));
    const expectRows = async (n: number) => expect(await rowsOf(storage, id, n)).toEqual(sampleFrame(n - 1, 2000).toRecords());

    for (let n = 1; n <= 6; n++) {
      await expectRows(n);
      await storage.settled();
      const { details, dataBytes, budgetBytes } = await storage.health();
      expect(dataBytes).toBeLessThanOrEqual(budgetBytes);
      expect(details.cachedBytes).toBe(dataBytes);
      expect(details).toMatchObject({ cacheMisses: n, cacheHits: 0, cachedVersions: Math.min(n, 2), cacheEvictions: Math.max(0, n - 2) });
    }
    await expectRows(6); // most recent: a hit
    await expectRows(5); // second most recent: a hit
    await expectRows(1); // evicted long ago: a miss, and loading it evicts 6
    await storage.settled();
    expect((await storage.health()).details).toMatchObject({ cacheHits: 2, cacheMisses: 7, cacheEvictions: 5, cachedVersions: 2 });
    await expectRows(6);
    expect((await storage.health()).details).toMatchObject({ cacheMisses: 8 });
  });

  it("never evicts a version while a request reads it", async () => {
    const id = await fill(2);
    const one = await loadedBytes(id);
    const storage = await open(Math.floor(one * 1.5));
    await rowsOf(storage, id, 1);
    await storage.settled();
    await storage.read(id, 1, async (data) => {
      // Loading version 2 would need version 1's room, but version 1 is pinned by this read.
      await rowsOf(storage, id, 2);
      await storage.settled();
      expect((await data.lazy().collect()).toRecords()).toEqual(sampleFrame(0, 2000).toRecords());
    });
    expect((await storage.health()).details).toMatchObject({ cachedVersions: 1, cacheEvictions: 0, cacheHits: 1, cacheMisses: 2 });
    // Version 1 is still the cached one; once nothing pins it, version 2 may take its place.
    await rowsOf(storage, id, 1);
    expect((await storage.health()).details).toMatchObject({ cacheHits: 2 });
    await rowsOf(storage, id, 2);
    await storage.settled();
    expect((await storage.health()).details).toMatchObject({ cachedVersions: 1, cacheEvictions: 1, cacheMisses: 3 });
  });

  it("does not load a version into the cache when it was deleted while a cold read of it ran", async () => {
    // The soak found frames of deleted versions held after everything was deleted: a read that
    // began before the delete finished after it and started the background load of a forgotten key.
    for (const remove of ["dataset", "version"] as const) {
      const id = await fill(2);
      const storage = await open();
      await storage.read(id, 1, async (data) => {
        await (remove === "dataset" ? storage.deleteDataset(id) : storage.deleteVersion(id, 1));
        return data.lazy().select("id").slice(0, 10).collect();
      });
      await storage.settled();
      expect((await storage.health()).details, remove).toMatchObject({ cachedVersions: 0, cachedBytes: 0 });
      // a version that stays is still loaded after its cold read
      if (remove === "version") {
        await rowsOf(storage, id, 2);
        await storage.settled();
        expect((await storage.health()).details).toMatchObject({ cachedVersions: 1 });
      }
    }
  });

  it("does not cache a version larger than the whole budget", async () => {
    const id = await fill(1);
    const storage = await open(1000);
    expect(await rowsOf(storage, id, 1)).toEqual(sampleFrame(0, 2000).toRecords());
    await storage.settled();
    expect((await storage.health()).details).toMatchObject({ cachedBytes: 0, cachedVersions: 0, cacheMisses: 1, cacheEvictions: 0 });
  });
});

/** 48,000 rows in 4 row groups of 12,000, each over 1 MiB (random text barely compresses), so each lies in its own checksum blocks. */
function bigFrame(seed: number): pl.DataFrame {
  let x = seed * 7919 + 1;
  const rand = () => {
    // xorshift32: text that barely compresses
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const text = Array.from({ length: 48_000 }, () => Array.from({ length: 30 }, () => rand().toString(36)).join(""));
  return pl.DataFrame([pl.Series("id", Array.from({ length: 48_000 }, (_, i) => i), pl.Int64), pl.Series("text", text)]);
}

/** Flips one byte in the middle of row group `group` (or of the footer, for "footer"). */
async function flip(file: string, where: number | "footer"): Promise<number> {
  const handle = await openFile(file, "r+");
  try {
    const { size } = await handle.stat();
    const footer = await footerRange(handle, size);
    if (typeof footer === "string") throw new Error(footer);
    const layout = await readLayout(handle, footer);
    // the group's largest range: its text column's chunk (page indexes are small and sit near the end)
    const largest = (ranges: readonly (readonly [number, number])[]) => [...ranges].sort((a, b) => b[1] - b[0] - (a[1] - a[0]))[0]!;
    const [start, end] = where === "footer" ? footer : largest(layout.rowGroups[where]!.ranges);
    const at = Math.floor((start + end) / 2);
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0] = (byte[0] ?? 0) ^ 0x55;
    await handle.write(byte, 0, 1, at);
    return at;
  } finally {
    await handle.close();
  }
}

const firstRows = (storage: Storage, datasetId: string, offset: number, limit: number) =>
  storage.read(datasetId, 1, async (data) => (await data.lazy().slice(offset, limit).collect()).toRecords(), { rows: { offset, limit } });

describe("local storage verification", () => {
  it("serves a cold page from its verified row group while a later one is damaged, and excludes the version once a read reaches the damage", async () => {
    const frame = bigFrame(1);
    const first = await open(BIG_BUDGET, false);
    const { dataset } = await first.createDataset({ name: "groups", description: "" }, await versionInGroups(frame, sourceOf("g.csv"), 12_000));
    await first.close();
    // group 2 lies in blocks of its own (the last block holds group 3's tail and the footer)
    await flip(pathsFor(dataDir, dataset.id, 1).data, 2);

    const second = await open(BIG_BUDGET, false);
    // Polars decodes only row group 0 for this page (the damaged group 2 would fail to decompress)
    expect(await firstRows(second, dataset.id, 0, 100)).toEqual(frame.slice(0, 100).toRecords());
    expect(await firstRows(second, dataset.id, 40_000, 10)).toEqual(frame.slice(40_000, 10).toRecords());
    expect(await apiErrorOf(() => firstRows(second, dataset.id, 30_000, 10))).toMatchObject({ status: 410, code: "VERSION_DAMAGED" });
    expect(warnings.some((w) => /version 1 of dataset .* excluded: block \d+ .* does not match its checksum/.test(w))).toBe(true);
    // excluded from now on, whatever is asked
    expect(await apiErrorOf(() => firstRows(second, dataset.id, 0, 10))).toMatchObject({ code: "VERSION_DAMAGED" });
    expect((await second.health()).details.excludedVersions).toBe(1);
    expect((await second.listVersions(dataset.id)).map((v) => v.version)).toEqual([1]);
  });

  it("refuses a cold page whose own row group or whose footer is damaged", async () => {
    const first = await open(BIG_BUDGET, false);
    const ids: string[] = [];
    for (const seed of [2, 3]) ids.push((await first.createDataset({ name: `g${seed}`, description: "" }, await versionInGroups(bigFrame(seed), sourceOf("g.csv"), 12_000))).dataset.id);
    await first.close();
    await flip(pathsFor(dataDir, ids[0]!, 1).data, 0);
    await flip(pathsFor(dataDir, ids[1]!, 1).data, "footer");
    const second = await open(BIG_BUDGET, false);
    for (const id of ids) expect(await apiErrorOf(() => firstRows(second, id, 0, 10))).toMatchObject({ status: 410, code: "VERSION_DAMAGED" });
    expect((await second.health()).details.excludedVersions).toBe(2);
  });

  it("verifies the whole file before loading it into the cache", async () => {
    const frame = bigFrame(4);
    const first = await open();
    const { dataset } = await first.createDataset({ name: "cache-check", description: "" }, await versionInGroups(frame, sourceOf("g.csv"), 12_000));
    await first.close();
    await flip(pathsFor(dataDir, dataset.id, 1).data, 2);
    const second = await open();
    expect(await firstRows(second, dataset.id, 0, 5)).toEqual(frame.slice(0, 5).toRecords());
    await second.settled();
    expect((await second.health()).details.cachedVersions).toBe(0);
    expect(await apiErrorOf(() => firstRows(second, dataset.id, 0, 5))).toMatchObject({ code: "VERSION_DAMAGED" });
  });

  it("answers 410 VERSION_DAMAGED, not an error, for a data file removed under a running server", async () => {
    const storage = await open(BIG_BUDGET, false);
    const { dataset } = await storage.createDataset({ name: "removed", description: "" }, newVersion(0, 20));
    expect(await firstRows(storage, dataset.id, 0, 3)).toHaveLength(3);
    await rm(pathsFor(dataDir, dataset.id, 1).data);
    expect(await apiErrorOf(() => firstRows(storage, dataset.id, 0, 3))).toMatchObject({ status: 410, code: "VERSION_DAMAGED" });
    expect(warnings.some((w) => w.includes("missing"))).toBe(true);
  });

  it("proves versions written by the previous build (layout 1) in a query worker, records them as layout 2, and excludes one that cannot be served", async () => {
    const good = sampleFrame(5, 30);
    const far = pl.DataFrame([pl.Series("id", [1, 2], pl.Int64), pl.Series("d", [1, 100_000_000], pl.Int32).cast(pl.Date)]);
    const seeded = seedLayout1(dataDir, "old", [
      { frame: good, source: sourceOf("good.csv") },
      { frame: far, source: sourceOf("far.parquet") },
    ]);
    const queries = createQueryWorkers(loadConfig({ QUERY_WORKERS: "1" }, {}));
    try {
      const storage = await createLocalStorage({ dataDir, budgetBytes: BIG_BUDGET, warn: (m) => warnings.push(m), prove: (file) => queries.run("proveStored", { file }) });
      opened.push(storage);
      expect((await storage.health()).details.unverifiedVersions).toBe(2);
      expect(await rowsOf(storage, seeded.id, 1)).toEqual(good.toRecords());
      const record = JSON.parse(await readFile(pathsFor(dataDir, seeded.id, 1).record, "utf8"));
      expect(record).toMatchObject({ layout: 2, data: { proven: true } });
      expect(record.data.checksum).toEqual(checksumFileSync(pathsFor(dataDir, seeded.id, 1).data));
      expect(record.version).toEqual(seeded.versions[0]);

      const refused = await apiErrorOf(() => storage.read(seeded.id, 2, async (data) => (await data.lazy().collect()).height));
      expect(refused).toMatchObject({ status: 410, code: "VERSION_DAMAGED" });
      expect(refused.message).toContain("year 275,760");
      expect(warnings.some((w) => w.includes(`version 2 of dataset ${seeded.id} excluded`) && w.includes('"d"'))).toBe(true);
      expect(JSON.parse(await readFile(pathsFor(dataDir, seeded.id, 2).record, "utf8")).layout).toBe(1);
      expect(await storage.health()).toMatchObject({ versions: 2, details: { excludedVersions: 1, unverifiedVersions: 0 } });
      // the worker stays usable
      expect(await queries.run("proveStored", { file: pathsFor(dataDir, seeded.id, 1).data })).toMatchObject({ rowCount: 30 });
    } finally {
      await queries.close();
    }
  });
});
