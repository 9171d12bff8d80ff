/**
 * Whole-version downloads. The frame layer writes the export to a temporary file off the
 * event loop (Polars streams it), and the file is streamed to the client: memory stays flat.
 */
import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import type { Request, Response } from "express";
import { badRequest } from "../errors.ts";
import { exportToFile, type DownloadFormat } from "../frame/download.ts";
import { parseFilters, parseSort } from "../frame/query.ts";
import { repeated, single } from "../http/params.ts";
import type { VersionData } from "../storage/types.ts";
import type { Version } from "../types.ts";

const FORMATS: Record<DownloadFormat, { type: string; ext: string }> = {
  csv: { type: "text/csv; charset=utf-8", ext: "csv" },
  parquet: { type: "application/vnd.apache.parquet", ext: "parquet" },
  ndjson: { type: "application/x-ndjson; charset=utf-8", ext: "ndjson" },
  json: { type: "application/json; charset=utf-8", ext: "json" },
  arrow: { type: "application/vnd.apache.arrow.stream", ext: "arrows" },
};

function formatOf(req: Request, version: Version): DownloadFormat {
  const raw = single(req, "format");
  if (raw === undefined || raw === "") return version.source.format === "csv" || version.source.format === "tsv" ? "csv" : "parquet";
  if (raw in FORMATS) return raw as DownloadFormat;
  throw badRequest(`Unknown download format "${raw.slice(0, 40)}": use one of ${Object.keys(FORMATS).join(", ")}.`);
}

/** `attachment; filename="…"` with an ASCII fallback and the UTF-8 name per RFC 6266/5987. */
export function contentDisposition(version: Version, ext: string): string {
  const base = version.source.filename.replace(/\.[^.]*$/, "") || "dataset";
  const full = `${base}-v${version.version}.${ext}`;
  const ascii = full.normalize("NFKD").replace(/[^\x20-\x7e]/g, "").replace(/["\\/;%]/g, "_").trim() || `dataset-v${version.version}.${ext}`;
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(full)}`;
}

export async function streamDownload(req: Request, res: Response, data: VersionData, tmpDir: string): Promise<void> {
  const v = data.version;
  const format = formatOf(req, v);
  const columnsRaw = single(req, "columns");
  const query = {
    columns: columnsRaw === undefined ? undefined : columnsRaw.split(","),
    sort: parseSort(single(req, "sort"), v),
    filters: parseFilters(repeated(req, "filter"), v),
  };
  const file = path.join(tmpDir, `download-${randomUUID()}.${FORMATS[format].ext}`);
  try {
    await exportToFile(data.lazy(), v, query, format, file);
    const { size } = await stat(file);
    res.status(200);
    res.setHeader("Content-Type", FORMATS[format].type);
    res.setHeader("Content-Length", String(size));
    res.setHeader("Content-Disposition", contentDisposition(v, FORMATS[format].ext));
    await pipeline(createReadStream(file), res);
  } finally {
    await rm(file, { force: true });
  }
}
