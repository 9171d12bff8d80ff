/**
 * Whole-version downloads. The frame layer writes the export to a temporary file off the
 * event loop (Polars streams it), and the file is streamed to the client: memory stays flat.
 * Nothing caps a download, so no header needs to announce a limit.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import type { Request, Response } from "express";
import { parseDownloadFormat, writeDownload, type DownloadFormat } from "../frame/download.ts";
import { parseFiltersAndSearch, parseSort } from "../frame/query.ts";
import { repeated, single } from "../http/params.ts";
import type { VersionData } from "../storage/types.ts";
import type { Version } from "../types.ts";

function formatOf(req: Request, version: Version): DownloadFormat {
  const raw = single(req, "format");
  if (raw === undefined || raw === "") return version.source.format === "csv" || version.source.format === "tsv" ? "csv" : "parquet";
  return parseDownloadFormat(raw);
}

/** `attachment; filename="…"` with an ASCII fallback and the UTF-8 name per RFC 6266/5987. */
export function contentDisposition(version: Version, ext: string): string {
  const base = version.source.filename.replace(/\.[^.]*$/, "") || "dataset";
  const full = `${base}-v${version.version}.${ext}`;
  const ascii = full.normalize("NFKD").replace(/[^\x20-\x7e]/g, "").replace(/["\\/;%]/g, "_").trim() || `dataset-v${version.version}.${ext}`;
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(full)}`;
}

export async function streamDownload(req: Request, res: Response, data: VersionData): Promise<void> {
  const v = data.version;
  const columnsRaw = single(req, "columns");
  const file = await writeDownload(data.lazy(), v, {
    format: formatOf(req, v),
    columns: columnsRaw === undefined ? undefined : columnsRaw.split(","),
    sort: parseSort(single(req, "sort") ?? "", v),
    filters: parseFiltersAndSearch(repeated(req, "filter"), single(req, "q"), v),
  });
  try {
    const { size } = await stat(file.path);
    res.status(200);
    res.setHeader("Content-Type", file.contentType);
    res.setHeader("Content-Length", String(size));
    res.setHeader("Content-Disposition", contentDisposition(v, file.extension));
    await pipeline(createReadStream(file.path), res);
  } finally {
    await file.cleanup();
  }
}
