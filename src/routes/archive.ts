/**
 * Backup and restore: `GET /api/datasets/{datasetId}/export` streams a tar archive of every
 * version (src/archive/format.ts) straight from the versions' stored data files, verified block
 * by block as they are sent; `POST /api/datasets/import` recreates a dataset from one, after
 * checking every checksum and the archive's shape (src/archive/import.ts).
 */
import { pipeline } from "node:stream/promises";
import { z } from "zod";
import { ApiError, badRequest } from "../errors.ts";
import { importArchive } from "../archive/import.ts";
import { writeArchive, type ArchiveVersion } from "../archive/write.ts";
import { StoredFileReader } from "../query-service.ts";
import { clientKey } from "../sandbox/client.ts";
import * as S from "../schemas.ts";
import { NO_ROWS } from "../stats-service.ts";
import type { Storage, VersionData } from "../storage/types.ts";
import type { Version } from "../types.ts";
import { summarize } from "../types.ts";
import { defineRoute, json, UPLOAD_ERRORS } from "./define.ts";
import { DatasetPath } from "./fields.ts";

/** `attachment` file name: ASCII fallback plus the exact name per RFC 5987. */
function attachment(name: string): string {
  const ascii = name.normalize("NFKD").replace(/[^\x20-\x7e]/g, "_").replace(/["\\/;%]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/**
 * Runs `fn` with every version the dataset has open for reading. A version deleted between the
 * listing and its opening (a 404 while the dataset is still there) makes it list again, a few
 * times: the archive holds the versions that exist when it starts, never a 404 for a version the
 * client did not ask for (QA Q33); only while nothing of the answer was sent (`sent`).
 */
async function withAllVersions<T>(storage: Storage, datasetId: string, sent: () => boolean, fn: (data: VersionData[]) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const versions = await storage.listVersions(datasetId);
    if (versions.length === 0) throw badRequest("This dataset has no versions to export.");
    try {
      return await readingAll(storage, datasetId, versions, fn);
    } catch (error) {
      const versionGone = !sent() && error instanceof ApiError && error.status === 404 && attempt < 5;
      if (!versionGone) throw error;
      await storage.getDataset(datasetId); // a deleted dataset is this request's own 404
    }
  }
}

/** Runs `fn` with every listed version open for reading (their data files stay in place meanwhile). */
async function readingAll<T>(storage: Storage, datasetId: string, versions: Version[], fn: (data: VersionData[]) => Promise<T>, held: VersionData[] = []): Promise<T> {
  const next = versions[held.length];
  if (!next) return fn(held);
  return storage.read(datasetId, next.version, (data) => readingAll(storage, datasetId, versions, fn, [...held, data]), NO_ROWS);
}

export const exportDataset = defineRoute({
  method: "get",
  path: "/api/datasets/{datasetId}/export",
  operationId: "exportDataset",
  tags: ["datasets"],
  summary: "Back up a dataset: one tar archive with every version's Parquet data, metadata and statistics",
  description:
    "`manifest.json` first (the dataset's metadata and each entry's size and SHA-256), then per version `versions/NNNNNN/version.json`, `stats.json` and `data.parquet` (the stored data file itself). Import it with POST /api/datasets/import, on any backend.",
  params: DatasetPath,
  responses: { 200: { description: "The archive, as an attachment.", content: { "application/x-tar": z.string().openapi({ format: "binary" }) }, headers: ["Content-Disposition", "Cache-Control"] } },
  errors: [410, 422, 503],
  handler: async ({ params }, { req, res, deps: { storage, stats } }) => {
    const dataset = await storage.getDataset(params.datasetId);
    const client = clientKey(req);
    await withAllVersions(storage, dataset.id, () => res.headersSent, async (held) => {
      // every file is opened (size and first block verified) before a byte is sent: a damaged version is a clean 410
      const readers: StoredFileReader[] = [];
      try {
        const parts: ArchiveVersion[] = [];
        for (const data of held) {
          const ref = await data.dataFile();
          const reader = await StoredFileReader.open(ref, data);
          readers.push(reader);
          parts.push({ version: data.version, stats: await stats.get(dataset.id, data.version.version, client), data: { size: ref.checksum.bytes, sha256: ref.checksum.sha256, send: (dest) => reader.send(dest) } });
        }
        const highestIssued = await storage.highestIssued(dataset.id);
        res.status(200);
        res.setHeader("Content-Type", "application/x-tar");
        res.setHeader("Content-Disposition", attachment(`${dataset.name}.tar`));
        res.setHeader("Cache-Control", "no-store");
        await pipeline(writeArchive({ dataset, highestIssued, versions: parts }), res);
      } finally {
        await Promise.all(readers.map((r) => r.close()));
      }
    });
  },
});

export const importDataset = defineRoute({
  method: "post",
  path: "/api/datasets/import",
  operationId: "importDataset",
  tags: ["datasets"],
  summary: "Restore a dataset from an export archive (same version numbers, values, types, sources, statistics)",
  description:
    "Every entry's size and SHA-256 and the archive's shape are checked, and each version's Parquet is read back in the isolated parser, before anything is stored; then the dataset is stored all at once. A damaged, truncated, edited or foreign archive is a 422 `INVALID_ARCHIVE` and stores nothing.",
  form: z.object({ name: S.datasetName.optional().openapi({ description: "Import under this name instead of the archive's.", example: "" }) }),
  file: "An archive made by GET /api/datasets/{datasetId}/export.",
  responses: { 201: json(S.Imported, "Created: the dataset and its versions.", ["Location"]) },
  errors: [409, ...UPLOAD_ERRORS],
  handler: async ({ form, file }, { req, res, deps: { storage, parser, config, memory } }) => {
    // refused (507) before anything is unpacked or parsed when it cannot fit in memory, as an
    // upload is; an archive's bytes are almost all Parquet data files, which expand like a Parquet upload
    await memory.admitUpload({ sizeBytes: file.sizeBytes, originalName: "archive.parquet" });
    const created = await importArchive({ storage, parser, workDir: config.uploadDir, client: clientKey(req) }, file.path, form.name);
    res.status(201).location(`/api/datasets/${created.dataset.id}`).json({ dataset: created.dataset, versions: created.versions.map(summarize) });
  },
});
