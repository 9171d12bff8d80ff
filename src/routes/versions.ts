/** Versions of a dataset: listing, metadata, schema, statistics and deletion. */
import { z } from "zod";
import { parseFiltersAndSearch } from "../frame/query.ts";
import { renderStats } from "../frame/stats-json.ts";
import { clientKey } from "../sandbox/client.ts";
import { notModified } from "../http/caching.ts";
import * as S from "../schemas.ts";
import { summarize } from "../types.ts";
import { defineRoute, json, noContent, notModified as notModifiedResponse } from "./define.ts";
import { DatasetPath, filter, q, VersionPath } from "./fields.ts";

const CACHED = ["ETag", "Cache-Control"] as const;
const conditional = z.object({ "If-None-Match": z.string().optional().openapi({ description: "An ETag from an earlier answer: 304 when it is still current." }) });

export const listVersions = defineRoute({
  method: "get",
  path: "/api/datasets/{datasetId}/versions",
  operationId: "listVersions",
  tags: ["versions"],
  summary: "List a dataset's versions, oldest first",
  params: DatasetPath,
  responses: { 200: json(S.VersionList, "The versions (without columns).") },
  handler: async ({ params }, { deps: { storage } }) => ({ items: (await storage.listVersions(params.datasetId)).map(summarize) }),
});

export const getVersion = defineRoute({
  method: "get",
  path: "/api/datasets/{datasetId}/versions/{version}",
  operationId: "getVersion",
  tags: ["versions"],
  summary: "A version, with its columns",
  params: VersionPath,
  headers: conditional,
  responses: { 200: json(S.Version, "The version.", CACHED), 304: notModifiedResponse },
  handler: async ({ params }, { req, res, deps: { storage } }) => {
    const version = await storage.getVersion(params.datasetId, params.version);
    if (notModified(req, res, params.version, version, "version")) return undefined;
    return version;
  },
});

export const deleteVersion = defineRoute({
  method: "delete",
  path: "/api/datasets/{datasetId}/versions/{version}",
  operationId: "deleteVersion",
  tags: ["versions"],
  summary: "Delete a version (its number is never reused)",
  description: "`latest` then points at the highest remaining version.",
  params: VersionPath,
  responses: { 204: noContent("Deleted.") },
  handler: async ({ params }, { res, deps: { storage } }) => {
    await storage.deleteVersion(params.datasetId, params.version);
    res.status(204).end();
  },
});

export const getSchema = defineRoute({
  method: "get",
  path: "/api/datasets/{datasetId}/versions/{version}/schema",
  operationId: "getSchema",
  tags: ["data"],
  summary: "The columns of a version and their types",
  params: VersionPath,
  headers: conditional,
  responses: { 200: json(S.Schema, "Row count and columns.", CACHED), 304: notModifiedResponse },
  handler: async ({ params }, { req, res, deps: { storage } }) => {
    const v = await storage.getVersion(params.datasetId, params.version);
    if (notModified(req, res, params.version, v, "schema")) return undefined;
    return { datasetId: v.datasetId, version: v.version, rowCount: v.rowCount, columns: v.columns };
  },
});

export const getStats = defineRoute({
  method: "get",
  path: "/api/datasets/{datasetId}/versions/{version}/stats",
  operationId: "getStats",
  tags: ["data"],
  summary: "Per-column statistics, of the whole version or of the rows that pass filters and search",
  description: "Computed in a query worker. Whole-version statistics are computed once (in the background after upload) and kept; a filtered subset's are computed on first request and cached.",
  params: VersionPath,
  query: z.object({ filter, q }),
  hints: { columns: "statistics always cover every column; pick the ones you need from `columns` in the answer" },
  headers: conditional,
  responses: { 200: json(S.Stats, "Statistics by column, in column order.", CACHED), 304: notModifiedResponse },
  errors: [410, 422, 503],
  handler: async ({ params, query }, { req, res, deps: { storage, stats } }) => {
    const v = await storage.getVersion(params.datasetId, params.version);
    const filters = parseFiltersAndSearch(query.filter, query.q, v);
    // computed (or found) before the caching headers: statistics that cannot be computed (422
    // QUERY_LIMIT) are an error, and an error is never a 304, even for an ETag a success would carry
    const body = await (filters.length === 0 ? stats.get(v.datasetId, v.version, clientKey(req)) : stats.filtered(v.datasetId, v.version, filters, clientKey(req)));
    if (notModified(req, res, params.version, v, "stats")) return undefined;
    // floats are written as pages write them (2^63 as 9.223372036854776e+18, -0.0 kept): frame/stats-json.ts
    return renderStats(body);
  },
});
