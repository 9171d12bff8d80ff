/**
 * Whole-version downloads. A query worker writes the export to a spool file (src/spool.ts;
 * Polars streams it) and the file is streamed to the client: memory stays flat
 * (src/query-service.ts decides where the work runs). The spool file is released when the
 * response ends, whatever happened.
 */
import { z } from "zod";
import { CONTENT_TYPES, type DownloadFormat } from "../frame/download.ts";
import { parseColumns, parseFiltersAndSearch, parseSort } from "../frame/query.ts";
import { notModified } from "../http/caching.ts";
import { clientKey } from "../sandbox/client.ts";
import { NO_ROWS } from "../stats-service.ts";
import type { Version } from "../types.ts";
import { defineRoute, notModified as notModifiedResponse } from "./define.ts";
import { columns, downloadFormat, filter, q, sort, VersionPath } from "./fields.ts";

const binary = z.string().openapi({ format: "binary" });

/** Body shapes of downloads, by format. */
const DOWNLOAD_CONTENT: Record<DownloadFormat, z.ZodType> = {
  csv: z.string(),
  parquet: binary,
  ndjson: z.string(),
  json: z.array(z.record(z.string(), z.unknown())),
  arrow: binary,
};
/** Media type (without parameters such as `charset`) → format. */
const MEDIA_TYPES = Object.entries(CONTENT_TYPES).map(([format, type]) => [(type.split(";")[0] as string).trim(), format as DownloadFormat] as const);

/** `attachment; filename="…"` with an ASCII fallback and the UTF-8 name per RFC 6266/5987. */
export function contentDisposition(version: Version, ext: string): string {
  const base = version.source.filename.replace(/\.[^.]*$/, "") || "dataset";
  const full = `${base}-v${version.version}.${ext}`;
  const ascii = full.normalize("NFKD").replace(/[^\x20-\x7e]/g, "").replace(/["\\/;%]/g, "_").trim() || `dataset-v${version.version}.${ext}`;
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(full)}`;
}

function defaultFormat(version: Version): DownloadFormat {
  return version.source.format === "csv" || version.source.format === "tsv" ? "csv" : "parquet";
}

export const downloadVersion = defineRoute({
  method: "get",
  path: "/api/datasets/{datasetId}/versions/{version}/download",
  operationId: "downloadVersion",
  tags: ["data"],
  summary: "The whole version as a file (CSV, Parquet, NDJSON, JSON or Arrow)",
  description: "`columns`, `sort`, `filter` and `q` apply as for `/data`. Parquet keeps every value and type exactly.",
  params: VersionPath,
  query: z.object({ format: downloadFormat, columns, sort, filter, q }),
  headers: z.object({ "If-None-Match": z.string().optional().openapi({ description: "An ETag from an earlier answer: 304 when it is still current." }) }),
  responses: {
    200: {
      description: "The file, as an attachment.",
      content: Object.fromEntries(MEDIA_TYPES.map(([type, format]) => [type, DOWNLOAD_CONTENT[format]])),
      headers: ["Content-Disposition", "ETag", "Cache-Control"],
    },
    304: notModifiedResponse,
  },
  errors: [410, 422, 503, 507],
  handler: async ({ params, query }, { req, res, deps: { storage, reads } }) => {
    await storage.read(
      params.datasetId,
      params.version,
      async (data) => {
        const v = data.version;
        // every part is checked before the caching headers: an error is never cacheable, never a 304
        const exportQuery = {
          format: query.format ?? defaultFormat(v),
          columns: parseColumns(query.columns, v),
          sort: parseSort(query.sort ?? "", v),
          filters: parseFiltersAndSearch(query.filter, query.q, v),
        };
        if (notModified(req, res, params.version, v, "download")) return;
        const file = await reads.download(data, exportQuery, clientKey(req));
        try {
          res.status(200);
          res.setHeader("Content-Type", file.contentType);
          res.setHeader("Content-Length", String(file.bytes));
          res.setHeader("Content-Disposition", contentDisposition(v, file.extension));
          await file.send(res);
        } finally {
          await file.cleanup();
        }
      },
      NO_ROWS,
    );
  },
});
