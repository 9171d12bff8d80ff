/**
 * The archive format (src/archive): what the writer makes the reader gives back exactly, and
 * every damaged, edited, truncated, foreign or hostile variant is refused whole with a 422 that
 * names the problem.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { buffer } from "node:stream/consumers";
import pl from "nodejs-polars";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { entryName, MANIFEST_NAME } from "../src/archive/format.ts";
import { readArchive } from "../src/archive/read.ts";
import { writeArchive, type ArchiveInput } from "../src/archive/write.ts";
import { ApiError } from "../src/errors.ts";
import { checksumFile } from "../src/storage/checksum.ts";
import type { Version } from "../src/types.ts";

let dir: string;
const sources: string[] = [];

/** A data file as the export hands it to the writer: its checksum's size and SHA-256, and its bytes. */
async function stored(file: string): Promise<ArchiveInput["versions"][number]["data"]> {
  const checksum = await checksumFile(file);
  return { size: checksum.bytes, sha256: checksum.sha256, send: (dest: Writable) => pipeline(createReadStream(file), dest) };
}
let input: ArchiveInput;
let good: Buffer;

function versionOf(n: number, rows: number): Version {
  return {
    datasetId: "d1",
    version: n,
    createdAt: `2026-01-0${n}T00:00:00.000Z`,
    source: { filename: `sales-${n}.csv`, format: "csv", sizeBytes: 10 * n, sha256: "ab".repeat(32), sheet: null, encoding: "utf-8" },
    rowCount: rows,
    columnCount: 2,
    columns: [{ name: "id", dtype: "Int64", nullable: false }, { name: "name", dtype: "String", nullable: true }],
  };
}
const statsOf = (n: number, rows: number) => ({ datasetId: "d1", version: n, rowCount: rows, columns: [{ name: "id", dtype: "Int64", count: rows, nullCount: 0 }, { name: "name", dtype: "String", count: rows, nullCount: 0 }] });

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "archive-test-"));
  const files = [1, 3].map((n) => path.join(dir, `src-${n}.parquet`));
  sources.push(...files);
  pl.DataFrame({ id: [1, 2], name: ["a", null] }).writeParquet(files[0] as string);
  pl.DataFrame({ id: [1, 2, 3], name: ["a", "b", "c"] }).writeParquet(files[1] as string);
  input = {
    dataset: { id: "d1", name: "sales", description: "monthly", createdAt: "2026-01-01T00:00:00.000Z", updatedAt: "2026-01-05T00:00:00.000Z", latestVersion: 3, versionCount: 2 },
    highestIssued: 4,
    versions: [
      { version: versionOf(1, 2), stats: statsOf(1, 2), data: await stored(files[0] as string) },
      { version: versionOf(3, 3), stats: statsOf(3, 3), data: await stored(files[1] as string) },
    ],
  };
  good = await buffer(writeArchive(input));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

let outNo = 0;
async function read(bytes: Buffer) {
  const out = path.join(dir, `out-${outNo++}`);
  await rm(out, { recursive: true, force: true });
  await mkdir(out);
  const file = `${out}.tar`;
  await writeFile(file, bytes);
  return { out, result: await readArchive(file, out) };
}

async function refused(bytes: Buffer): Promise<ApiError> {
  const err = await read(bytes).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(ApiError);
  const api = err as ApiError;
  expect(api.status).toBe(422);
  expect(api.code).toBe("INVALID_ARCHIVE");
  return api;
}

interface RawEntry {
  name: string;
  body?: Buffer;
  type?: tar.Header["type"];
  linkname?: string;
  size?: number;
}

/** The entries of an archive, to rebuild variants of it. */
async function entriesOf(bytes: Buffer): Promise<RawEntry[]> {
  const out: RawEntry[] = [];
  const ex = tar.extract();
  Readable.from([bytes]).pipe(ex);
  for await (const e of ex) out.push({ name: e.header.name, body: await buffer(e) });
  return out;
}

async function pack(entries: RawEntry[]): Promise<Buffer> {
  const p = tar.pack();
  const done = buffer(p);
  for (const e of entries) {
    if (e.type && e.type !== "file") p.entry({ name: e.name, type: e.type, linkname: e.linkname, size: 0 });
    else p.entry({ name: e.name }, e.body ?? Buffer.alloc(0));
  }
  p.finalize();
  return done;
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** A manifest that lists `extra` as well, with its true size and checksum (so only its name is wrong). */
function withManifest(entries: RawEntry[], edit: (m: Record<string, unknown>) => void): RawEntry[] {
  const m = JSON.parse((entries[0]?.body as Buffer).toString()) as Record<string, unknown>;
  edit(m);
  return [{ name: MANIFEST_NAME, body: Buffer.from(JSON.stringify(m)) }, ...entries.slice(1)];
}

describe("archive round trip", () => {
  it("gives back every version's metadata, statistics and exact Parquet bytes", async () => {
    const { out, result } = await read(good);
    expect(result.manifest.dataset).toEqual({ id: "d1", name: "sales", description: "monthly", createdAt: "2026-01-01T00:00:00.000Z", updatedAt: "2026-01-05T00:00:00.000Z", highestIssued: 4 });
    expect(result.versions.map((v) => v.version)).toEqual([versionOf(1, 2), versionOf(3, 3)]);
    expect(result.versions.map((v) => v.stats)).toEqual([statsOf(1, 2), statsOf(3, 3)]);
    for (const [i, v] of result.versions.entries()) {
      expect(await readFile(v.dataFile)).toEqual(await readFile(sources[i] as string));
    }
    expect((await readdir(out)).sort()).toEqual(["v1.parquet", "v3.parquet"]);
  });

  it("is laid out as documented, manifest first", async () => {
    expect((await entriesOf(good)).map((e) => e.name)).toEqual([
      MANIFEST_NAME,
      "versions/000001/version.json", "versions/000001/stats.json", "versions/000001/data.parquet",
      "versions/000003/version.json", "versions/000003/stats.json", "versions/000003/data.parquet",
    ]);
  });
});

describe("archives that are refused whole", () => {
  it("truncated anywhere", async () => {
    for (const cut of [100, 512, 1024, 1536, Math.floor(good.length / 2), good.length - 1024 - 512, good.length - 1100]) {
      const err = await refused(good.subarray(0, cut));
      expect(err.message).toMatch(cut < 512 ? /not a tar archive/ : /truncated|ends early|incomplete/);
    }
  });

  it("an edited byte in a data file or a metadata file", async () => {
    const entries = await entriesOf(good);
    for (const target of [entryName(3, "data"), entryName(1, "version"), entryName(1, "stats")]) {
      const edited = entries.map((e) => (e.name === target ? { ...e, body: Buffer.from((e.body as Buffer).map((b, i) => (i === 10 ? b ^ 1 : b))) } : e));
      expect((await refused(await pack(edited))).message).toContain(`"${target}" does not match its SHA-256`);
    }
  });

  it("an edit with a recomputed checksum that contradicts the metadata", async () => {
    const entries = await entriesOf(good);
    const target = entryName(1, "version");
    const meta = JSON.parse((entries.find((e) => e.name === target)?.body as Buffer).toString()) as Record<string, unknown>;
    const body = Buffer.from(JSON.stringify({ ...meta, columnCount: 5 }));
    const edited = withManifest(entries.map((e) => (e.name === target ? { ...e, body } : e)), (m) => {
      const v = (m.versions as { files: { version: { size: number; sha256: string } } }[])[0];
      if (v) Object.assign(v.files.version, { size: body.length, sha256: sha(body) });
    });
    expect((await refused(await pack(edited))).message).toMatch(/says it has 5 columns but lists 2/);
  });

  it("foreign: random bytes, an empty file, another tar, a manifest of another format", async () => {
    expect((await refused(Buffer.from("id,name\n1,a\n"))).message).toMatch(/not a tar archive/);
    expect((await refused(Buffer.alloc(4096, 7))).message).toMatch(/not a tar archive/);
    expect((await refused(Buffer.alloc(0))).message).toMatch(/empty/);
    expect((await refused(await pack([{ name: "readme.txt", body: Buffer.from("hi") }]))).message).toMatch(/first entry is "readme.txt"/);
    expect((await refused(await pack([{ name: MANIFEST_NAME, body: Buffer.from('{"format":"other"}') }]))).message).toMatch(/not a dataset archive/);
    expect((await refused(await pack([{ name: MANIFEST_NAME, body: Buffer.from("{nope") }]))).message).toMatch(/not valid JSON/);
  });

  it("hostile entries: path traversal, absolute paths, symlinks, hard links, folders", async () => {
    const entries = await entriesOf(good);
    const cases: [RawEntry, RegExp][] = [
      [{ name: "../../etc/passwd", body: Buffer.from("x") }, /path traversal/],
      [{ name: "versions/000001/../../x", body: Buffer.from("x") }, /path traversal/],
      [{ name: "/etc/passwd", body: Buffer.from("x") }, /absolute path/],
      [{ name: entryName(1, "data"), type: "symlink", linkname: "/etc/passwd" }, /is a symlink/],
      [{ name: entryName(1, "data"), type: "link", linkname: MANIFEST_NAME }, /is a link/],
      [{ name: "versions/", type: "directory" }, /is a directory/],
    ];
    for (const [bad, why] of cases) {
      const err = await refused(await pack([entries[0] as RawEntry, bad, ...entries.slice(1)]));
      expect(err.message).toMatch(why);
    }
  });

  it("duplicate, extra, missing and oversized entries, and manifests that lie about names", async () => {
    const entries = await entriesOf(good);
    expect((await refused(await pack([...entries, entries[3] as RawEntry]))).message).toMatch(/appears twice/);
    expect((await refused(await pack([...entries, { name: "versions/000009/data.parquet", body: Buffer.from("x") }]))).message).toMatch(/not listed/);
    expect((await refused(await pack(entries.slice(0, -1)))).message).toMatch(/incomplete.*"versions\/000003\/data.parquet" is missing/);
    const huge = entries.map((e) => (e.name === entryName(1, "data") ? { ...e, body: Buffer.concat([e.body as Buffer, Buffer.alloc(1 << 20)]) } : e));
    expect((await refused(await pack(huge))).message).toMatch(/bytes, but the manifest says/);
    const lying = withManifest(entries, (m) => {
      const v = (m.versions as { files: { data: { name: string } } }[])[0];
      if (v) v.files.data.name = "../../outside.parquet";
    });
    expect((await refused(await pack(lying))).message).toMatch(/expected "versions\/000001\/data.parquet"/);
    const renumbered = withManifest(entries, (m) => {
      (m.dataset as { highestIssued: number }).highestIssued = 1;
    });
    expect((await refused(await pack(renumbered))).message).toMatch(/highest version number issued is 1/);
  });

  it("writes nothing outside its folder, whatever the archive says", async () => {
    const entries = await entriesOf(good);
    await refused(await pack([entries[0] as RawEntry, { name: "../escaped.txt", body: Buffer.from("x") }]));
    expect((await readdir(dir)).includes("escaped.txt")).toBe(false);
    await writeFile(path.join(dir, "sentinel"), "");
  });
});
