/** Files in: a new dataset (upload), a dry run (inspect), a new version of a dataset. */
import { rm } from "node:fs/promises";
import type { Request, Response } from "express";
import { ApiError, badRequest, nameTaken } from "../errors.ts";
import { sha256File, type InspectReport, type UploadedFile } from "../ingest/index.ts";
import { parseOptionsFrom, type ParseOptions } from "../ingest/options.ts";
import { receiveMs } from "../http/upload.ts";
import { clientKey } from "../sandbox/client.ts";
import { roundedTimes, serverTiming, Stages } from "../timing.ts";
import * as S from "../schemas.ts";
import type { NewVersion } from "../storage/types.ts";
import type { Dataset, Version } from "../types.ts";
import { oneOf } from "../http/params.ts";
import type { Storage } from "../storage/types.ts";
import { defineRoute, json, UPLOAD_ERRORS, type RouteDeps } from "./define.ts";
import { DatasetPath, UploadForm, VersionForm } from "./fields.ts";

const FILE = "The data file: CSV/TSV, Excel (.xlsx, .xlsm, .xls) or Parquet, judged by content and name.";

/** The file name without its last extension: "sales.2024.csv" → "sales.2024". */
function defaultName(filename: string): string {
  const dot = filename.lastIndexOf(".");
  return dot > 0 ? filename.slice(0, dot) : filename;
}

/** The default dataset name, checked like a sent one. */
function nameFromFile(filename: string): string {
  const checked = S.datasetName.safeParse(defaultName(filename));
  if (checked.success) return checked.data;
  throw badRequest(`The file name ${JSON.stringify(filename.slice(0, 80))} cannot be a dataset name (it ${checked.error.issues[0]?.message ?? "is not valid"}): send the form field "name".`, { parameter: "name" });
}

/** `ifChanged=true` on upload and add-version (issue 14): identical bytes to the latest version store nothing. */
const ifChanged = oneOf(["true", "false"], { description: "`true`: when the file's SHA-256 equals the bytes the dataset's latest version was made from, store nothing and answer 200 with that version and `\"unchanged\": true`.", default: "false" });
const UploadOnceForm = UploadForm.extend({ ifChanged });
const VersionOnceForm = VersionForm.extend({ ifChanged });

/** The dataset's latest version when `file`'s bytes (SHA-256) equal the bytes it was made from, else null. */
async function sameAsLatest(storage: Storage, datasetId: string, file: UploadedFile): Promise<{ dataset: Dataset; version: Version } | null> {
  const dataset = await storage.getDataset(datasetId);
  if (dataset.latestVersion === null) return null;
  const latest = await storage.getVersion(datasetId, dataset.latestVersion);
  if (latest.source.sha256 !== (file.sha256 ?? (await sha256File(file.path)))) return null;
  return { dataset, version: latest };
}

/**
 * Parses and commits, reporting the outcome (metrics) whichever way it goes; stats start in the
 * background. Each stage's time (src/timing.ts) goes into the request log, `ingest_stage_seconds`
 * and the `Server-Timing` header; "stats" is observed when the background statistics are done.
 */
async function ingestAndStore<T extends { version: Version }>(deps: RouteDeps, req: Request, res: Response, file: UploadedFile, options: ParseOptions, commit: (parsed: NewVersion) => Promise<T>): Promise<T> {
  let format = "unknown";
  const client = clientKey(req);
  const stages = new Stages();
  stages.add("receive", receiveMs(req));
  try {
    // refused (507) before parsing when it cannot fit in memory
    await deps.memory.admitUpload(file);
    // The parser child writes the version's data file where storage will commit it from.
    const parsed = await deps.parser.parse(file, options, { outPath: deps.storage.stagingPath(), client, stages });
    format = parsed.source.format;
    let created: T;
    try {
      created = await stages.time("store", () => commit(parsed));
    } catch (error) {
      await rm(parsed.dataFile, { force: true });
      throw error;
    }
    deps.metrics.upload(format, "created", file.sizeBytes, created.version.rowCount);
    deps.metrics.ingestStages(stages.times);
    res.locals.stages = roundedTimes(stages.times);
    res.setHeader("Server-Timing", serverTiming(stages.times));
    const statsStarted = performance.now();
    void deps.stats.warm(created.version.datasetId, created.version.version, client).then((computed) => {
      if (computed) deps.metrics.ingestStages({ stats: performance.now() - statsStarted });
    });
    return created;
  } catch (err) {
    deps.metrics.upload(format, err instanceof ApiError ? err.code : "INTERNAL", file.sizeBytes, 0);
    throw err;
  }
}

export const uploadDataset = defineRoute({
  method: "post",
  path: "/api/datasets/upload",
  operationId: "uploadDataset",
  tags: ["datasets"],
  summary: "Upload a file as a new dataset (its version 1)",
  form: UploadOnceForm,
  file: FILE,
  responses: {
    200: json(S.Unchanged, "`ifChanged=true` and the file is the latest version's: nothing was stored."),
    201: json(S.Created, "Created: the dataset and its new version.", ["Location"]),
  },
  errors: [409, ...UPLOAD_ERRORS],
  handler: async ({ form: { name: rawName, description = "", ifChanged: once, ...options }, file }, { req, res, deps }) => {
    const name = rawName ?? nameFromFile(file.originalName);
    // Fail fast on a taken name before spending time parsing; checked again at commit.
    const existing = await deps.storage.findByName(name);
    const same = existing && once === "true" ? await sameAsLatest(deps.storage, existing.id, file) : null;
    if (same) return { ...same, unchanged: true };
    if (existing) throw nameTaken(existing.name, existing.id);
    const created = await ingestAndStore(deps, req, res, file, parseOptionsFrom(options), (parsed) => deps.storage.createDataset({ name, description }, parsed));
    res.status(201).location(`/api/datasets/${created.dataset.id}`).json(created);
  },
});

export const inspectUpload = defineRoute({
  method: "post",
  path: "/api/datasets/inspect",
  operationId: "inspectUpload",
  tags: ["datasets"],
  summary: "Dry run: what an upload would store (nothing is stored)",
  form: UploadForm,
  file: FILE,
  responses: { 200: json(S.Inspect, "What the file holds: format, columns with inferred types and counterexamples, a preview.") },
  errors: UPLOAD_ERRORS,
  handler: async ({ form: { name: _name, description: _description, ...options }, file }, { req, deps, res }) => {
    // the preview arrives as JSON text and is spliced in as is (-0.0 and key order kept)
    const { previewJson, ...report } = (await deps.parser.inspect(file, parseOptionsFrom(options), clientKey(req))) as InspectReport;
    res.type("application/json").send(`${JSON.stringify(report).slice(0, -1)},"preview":${previewJson}}`);
  },
});

const BELONGS_TO_DATASET = "it belongs to the dataset, not to a version: change it with PATCH /api/datasets/{datasetId}";

export const addVersion = defineRoute({
  method: "post",
  path: "/api/datasets/{datasetId}/versions",
  operationId: "addVersion",
  tags: ["versions"],
  summary: "Add a version to a dataset",
  description: "Concurrent uploads to one dataset get distinct, gap-free consecutive numbers.",
  params: DatasetPath,
  form: VersionOnceForm,
  file: FILE,
  hints: { name: BELONGS_TO_DATASET, description: BELONGS_TO_DATASET },
  // 404 before receiving a whole upload for a dataset that does not exist.
  beforeUpload: async ({ params }, { deps }) => {
    await deps.storage.getDataset(params.datasetId);
  },
  responses: {
    200: json(S.Unchanged, "`ifChanged=true` and the file is the latest version's: nothing was stored."),
    201: json(S.Created, "Created: the dataset and its new version.", ["Location"]),
  },
  errors: UPLOAD_ERRORS,
  handler: async ({ params, form: { ifChanged: once, ...form }, file }, { req, res, deps }) => {
    const same = once === "true" ? await sameAsLatest(deps.storage, params.datasetId, file) : null;
    if (same) return { ...same, unchanged: true };
    const created = await ingestAndStore(deps, req, res, file, parseOptionsFrom(form), (parsed) => deps.storage.addVersion(params.datasetId, parsed));
    res.status(201).location(`/api/datasets/${created.dataset.id}/versions/${created.version.version}`).json(created);
  },
});
