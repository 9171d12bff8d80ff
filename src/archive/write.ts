/**
 * Writes a dataset archive (format.ts) as a tar stream. The manifest comes first: the data files'
 * sizes and SHA-256 are their stored checksums (written once by the parser child), the JSON
 * entries are hashed in memory. Each version's stored data file is then streamed as it is,
 * verified block by block on the way (a damaged block ends the stream early: the archive is then
 * truncated and any import refuses it), never held in memory. Entry times are the versions' own,
 * so exporting the same dataset twice gives the same bytes (apart from `exportedAt`).
 */
import { createHash } from "node:crypto";
import { PassThrough, Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import type { Dataset, Version } from "../types.ts";
import { ARCHIVE_FORMAT, ARCHIVE_FORMAT_VERSION, entryName, MANIFEST_NAME, type Manifest } from "./format.ts";

export interface ArchiveVersion {
  version: Version;
  /** The statistics body (GET …/stats). */
  stats: unknown;
  /** The version's stored data file: its size and SHA-256, and how to send its (verified) bytes. */
  data: { size: number; sha256: string; send(dest: Writable): Promise<void> };
}

export interface ArchiveInput {
  dataset: Dataset;
  /** Highest version number ever issued (deleted ones included). */
  highestIssued: number;
  versions: ArchiveVersion[];
}

const digest = (buf: Buffer) => ({ size: buf.length, sha256: createHash("sha256").update(buf).digest("hex") });
const json = (v: unknown) => Buffer.from(`${JSON.stringify(v)}\n`, "utf8");

/** The archive as a readable tar stream; errors while streaming destroy the stream. */
export function writeArchive(input: ArchiveInput): Readable {
  const versions = [...input.versions].sort((a, b) => a.version.version - b.version.version);
  const prepared = versions.map((v) => ({ v, meta: json(v.version), stats: json(v.stats), data: { size: v.data.size, sha256: v.data.sha256 } }));
  const d = input.dataset;
  const manifest: Manifest = {
    format: ARCHIVE_FORMAT,
    formatVersion: ARCHIVE_FORMAT_VERSION,
    exportedAt: new Date().toISOString(),
    dataset: { id: d.id, name: d.name, description: d.description, createdAt: d.createdAt, updatedAt: d.updatedAt, highestIssued: input.highestIssued },
    versions: prepared.map(({ v, meta, stats, data }) => {
      const n = v.version.version;
      return {
        version: n,
        files: {
          version: { name: entryName(n, "version"), ...digest(meta) },
          stats: { name: entryName(n, "stats"), ...digest(stats) },
          data: { name: entryName(n, "data"), ...data },
        },
      };
    }),
  };

  const pack = tar.pack();
  const add = (name: string, body: Buffer, mtime: Date) =>
    new Promise<void>((resolve, reject) => pack.entry({ name, size: body.length, mode: 0o644, mtime }, body, (err) => (err ? reject(err) : resolve())));

  void (async () => {
    await add(MANIFEST_NAME, json(manifest), new Date(d.updatedAt));
    for (const { v, meta, stats, data } of prepared) {
      const n = v.version.version;
      const mtime = new Date(v.version.createdAt);
      await add(entryName(n, "version"), meta, mtime);
      await add(entryName(n, "stats"), stats, mtime);
      const entry = pack.entry({ name: entryName(n, "data"), size: data.size, mode: 0o644, mtime });
      const bytes = new PassThrough();
      await Promise.all([v.data.send(bytes), pipeline(bytes, entry)]);
    }
    pack.finalize();
  })().catch((err: unknown) => pack.destroy(err instanceof Error ? err : new Error(String(err))));
  // tar-stream's pack is a streamx stream: hand out a Node Readable (errors carry over)
  return Readable.from(pack);
}
