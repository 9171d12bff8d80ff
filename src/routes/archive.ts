/**
 * Backup and restore: `GET /api/datasets/{datasetId}/export` streams a tar archive of every
 * version (src/archive/format.ts); `POST /api/datasets/import` recreates a dataset from one.
 *
 * PROVISIONAL wiring: each version's Parquet is written to UPLOAD_DIR from its frame before
 * the stream starts; once every version has a data file with a checksum (isolation work), the
 * archive streams those files directly.
 */
import { mkdtemp, rm } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { Router } from "express";
import { badRequest } from "../errors.ts";
import { importArchive } from "../archive/import.ts";
import { writeArchive, type ArchiveVersion } from "../archive/write.ts";
import { formFields, receiveUpload, uploadedFile, type UploadLimits } from "../http/upload.ts";
import type { Parser } from "../sandbox/parser.ts";
import type { StatsService } from "../stats-service.ts";
import type { Storage } from "../storage/types.ts";
import { summarize } from "../types.ts";

export interface ArchiveRouteDeps {
  storage: Storage;
  stats: StatsService;
  parser: Parser;
  upload: UploadLimits;
}

/** `attachment` file name: ASCII fallback plus the exact name per RFC 5987. */
function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, "_").replace(/["\\/]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export function archiveRoutes({ storage, stats, parser, upload }: ArchiveRouteDeps): Router {
  const router = Router();

  router.get("/datasets/:datasetId/export", async (req, res) => {
    if (Object.keys(req.query).length > 0) throw badRequest(`Unknown query parameter "${Object.keys(req.query)[0]?.slice(0, 40)}"; export takes none.`);
    const dataset = await storage.getDataset(req.params.datasetId);
    const versions = await storage.listVersions(dataset.id);
    if (versions.length === 0) throw badRequest("This dataset has no versions to export.");
    const dir = await mkdtemp(path.join(upload.uploadDir, `export-${process.pid}-`));
    try {
      const parts: ArchiveVersion[] = [];
      for (const v of versions) {
        const dataFile = path.join(dir, `v${v.version}.parquet`);
        await storage.read(dataset.id, v.version, (data) => data.lazy().sinkParquet(dataFile, { compression: "zstd" }).collect());
        parts.push({ version: v, stats: await stats.get(dataset.id, v.version), dataFile });
      }
      const highestIssued = await storage.highestIssued(dataset.id);
      const tar = await writeArchive({ dataset, highestIssued, versions: parts });
      res.status(200);
      res.setHeader("Content-Type", "application/x-tar");
      res.setHeader("Content-Disposition", attachment(`${dataset.name}.tar`));
      res.setHeader("Cache-Control", "no-store");
      await pipeline(tar, res);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  router.post("/datasets/import", receiveUpload(upload), async (req, res) => {
    const file = uploadedFile(req);
    const { name, ...rest } = formFields(req);
    const unknown = Object.keys(rest)[0];
    if (unknown !== undefined) throw badRequest(`Unknown form field "${unknown.slice(0, 40)}"; import takes "file" and an optional "name".`);
    const trimmed = name?.trim();
    if (trimmed !== undefined && (trimmed.length === 0 || trimmed.length > 200)) throw badRequest('The form field "name" must be 1–200 characters.');
    const created = await importArchive({ storage, parser, workDir: upload.uploadDir }, file.path, trimmed);
    res.status(201).location(`/api/datasets/${created.dataset.id}`).json({ dataset: created.dataset, versions: created.versions.map(summarize) });
  });

  return router;
}
