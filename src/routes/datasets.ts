/** Datasets: upload, inspect, list, read, rename/describe, delete, and adding versions. */
import { Router, type Request } from "express";
import { ApiError, badRequest, nameTaken } from "../errors.ts";
import { sha256File, type UploadedFile } from "../ingest/index.ts";
import { parseOptionsFrom, type ParseOptions } from "../ingest/options.ts";
import { validate } from "../http/validate.ts";
import { DatasetListQuery, DatasetPatch } from "../schemas.ts";
import { formFields, receiveUpload, uploadedFile, type UploadLimits } from "../http/upload.ts";
import type { Parser } from "../sandbox/parser.ts";
import type { NewVersion, Storage } from "../storage/types.ts";
import { summarize, type Dataset, type Version } from "../types.ts";

export interface DatasetRouteDeps {
  storage: Storage;
  upload: UploadLimits;
  parser: Parser;
  /** Told the outcome of every upload that reached parsing (for metrics). */
  onUpload?: (format: string, outcome: string, bytes: number, rows: number) => void;
  /** Told of every version stored (statistics start computing in the background). */
  onStored?: (datasetId: string, version: number) => void;
}

/** The `ifChanged` form field: "true"/"false" (default false). */
function ifChangedField(raw: string | undefined): boolean {
  if (raw === undefined) return false;
  const v = raw.trim().toLowerCase();
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0" || v === "") return false;
  throw badRequest(`The form field "ifChanged" must be true or false; got ${JSON.stringify(raw.slice(0, 40))}.`);
}

/**
 * With `ifChanged=true`: the dataset's latest version when the upload's bytes (SHA-256) equal
 * the bytes it was made from, else null. A dataset without versions has nothing to equal.
 */
async function sameAsLatest(storage: Storage, datasetId: string, file: UploadedFile): Promise<{ dataset: Dataset; version: Version } | null> {
  const dataset = await storage.getDataset(datasetId);
  if (dataset.latestVersion === null) return null;
  const latest = await storage.getVersion(datasetId, dataset.latestVersion);
  if (latest.source.sha256 !== (await sha256File(file.path))) return null;
  return { dataset, version: latest };
}

/** The file name without its last extension: "sales.2024.csv" → "sales.2024". */
function defaultName(filename: string): string {
  const dot = filename.lastIndexOf(".");
  return dot > 0 ? filename.slice(0, dot) : filename;
}

export function datasetRoutes({ storage, upload, parser, onUpload = () => {}, onStored = () => {} }: DatasetRouteDeps): Router {
  const router = Router();
  const receive = receiveUpload(upload);

  /** Parses and commits, reporting the outcome whichever way it goes. */
  async function ingestAndStore<T extends { version: Version }>(file: UploadedFile, options: ParseOptions, commit: (parsed: NewVersion) => Promise<T>): Promise<T> {
    let format = "unknown";
    try {
      const parsed = await parser.parse(file, options);
      format = parsed.source.format;
      const created = await commit(parsed);
      onUpload(format, "created", file.sizeBytes, created.version.rowCount);
      onStored(created.version.datasetId, created.version.version);
      return created;
    } catch (err) {
      onUpload(format, err instanceof ApiError ? err.code : "INTERNAL", file.sizeBytes, 0);
      throw err;
    }
  }

  router.post("/datasets/upload", receive, async (req, res) => {
    const file = uploadedFile(req);
    const { name: rawName, description: rawDescription, ifChanged: rawIfChanged, ...rest } = formFields(req);
    const ifChanged = ifChangedField(rawIfChanged);
    const meta = validate(DatasetPatch, { name: rawName ?? defaultName(file.originalName), description: rawDescription ?? "" }, "form");
    const name = meta.name ?? "";
    const description = meta.description ?? "";
    const options = parseOptionsFrom(rest);
    // Fail fast on a taken name before spending time parsing; checked again at commit.
    const existing = await storage.findByName(name);
    if (existing && ifChanged) {
      const same = await sameAsLatest(storage, existing.id, file);
      if (same) {
        res.status(200).json({ ...same, unchanged: true });
        return;
      }
    }
    if (existing) throw nameTaken(existing.name, existing.id);
    const created = await ingestAndStore(file, options, (parsed) => storage.createDataset({ name, description }, parsed));
    res.status(201).location(`/api/datasets/${created.dataset.id}`).json(created);
  });

  router.post("/datasets/inspect", receive, async (req, res) => {
    const file = uploadedFile(req);
    const { name: _name, description: _description, ...rest } = formFields(req);
    res.json(await parser.inspect(file, parseOptionsFrom(rest)));
  });

  router.get("/datasets", async (req, res) => {
    const { offset, limit, name } = validate(DatasetListQuery, req.query, "query");
    const { items, total } = await storage.listDatasets({ offset, limit, name });
    res.json({ items, total, offset, limit });
  });

  router.get("/datasets/:datasetId", async (req, res) => {
    const dataset = await storage.getDataset(req.params.datasetId);
    const versions = await storage.listVersions(dataset.id);
    res.json({ ...dataset, versions: versions.map(summarize) });
  });

  router.patch("/datasets/:datasetId", async (req, res) => {
    if (!req.is("application/json")) throw badRequest('Send a JSON object like {"name": "…", "description": "…"} with Content-Type: application/json.');
    const patch = validate(DatasetPatch, req.body, "body");
    res.json(await storage.updateDataset(req.params.datasetId, patch));
  });

  router.delete("/datasets/:datasetId", async (req, res) => {
    await storage.deleteDataset(req.params.datasetId);
    res.status(204).end();
  });

  router.post("/datasets/:datasetId/versions", async (req: Request<{ datasetId: string }>, _res, next) => {
    // 404 before receiving a whole upload for a dataset that does not exist.
    await storage.getDataset(req.params.datasetId);
    next();
  }, receive, async (req: Request<{ datasetId: string }>, res) => {
    const file = uploadedFile(req);
    const { name, description, ifChanged: rawIfChanged, ...rest } = formFields(req);
    if (name !== undefined || description !== undefined) {
      throw badRequest('"name" and "description" belong to the dataset: change them with PATCH /api/datasets/{datasetId}.');
    }
    if (ifChangedField(rawIfChanged)) {
      const same = await sameAsLatest(storage, req.params.datasetId, file);
      if (same) {
        res.status(200).json({ ...same, unchanged: true });
        return;
      }
    }
    const created = await ingestAndStore(file, parseOptionsFrom(rest), (parsed) => storage.addVersion(req.params.datasetId, parsed));
    res.status(201).location(`/api/datasets/${created.dataset.id}/versions/${created.version.version}`).json(created);
  });

  return router;
}
