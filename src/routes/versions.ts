/** Versions of a dataset: listing, metadata, schema, statistics and deletion. */
import { Router } from "express";
import { repeated } from "../http/params.ts";
import { notModified } from "../http/caching.ts";
import { versionParam } from "../http/params.ts";
import { computeStats } from "../frame/stats.ts";
import { parseFilters } from "../frame/query.ts";
import type { Storage } from "../storage/types.ts";
import { summarize } from "../types.ts";

export function versionRoutes({ storage }: { storage: Storage }): Router {
  const router = Router();

  router.get("/datasets/:datasetId/versions", async (req, res) => {
    const versions = await storage.listVersions(req.params.datasetId);
    res.json({ items: versions.map(summarize) });
  });

  router.get("/datasets/:datasetId/versions/:version", async (req, res) => {
    const selector = versionParam(req.params.version);
    const version = await storage.getVersion(req.params.datasetId, selector);
    if (notModified(req, res, selector, version, "version")) return;
    res.json(version);
  });

  router.delete("/datasets/:datasetId/versions/:version", async (req, res) => {
    await storage.deleteVersion(req.params.datasetId, versionParam(req.params.version));
    res.status(204).end();
  });

  router.get("/datasets/:datasetId/versions/:version/schema", async (req, res) => {
    const selector = versionParam(req.params.version);
    const v = await storage.getVersion(req.params.datasetId, selector);
    if (notModified(req, res, selector, v, "schema")) return;
    res.json({ datasetId: v.datasetId, version: v.version, rowCount: v.rowCount, columns: v.columns });
  });

  router.get("/datasets/:datasetId/versions/:version/stats", async (req, res) => {
    const selector = versionParam(req.params.version);
    const datasetId = req.params.datasetId;
    const rawFilters = repeated(req, "filter");
    const body = await storage.read(datasetId, selector, async (data) => {
      const v = data.version;
      const filters = parseFilters(rawFilters, v);
      if (notModified(req, res, selector, v, "stats")) return undefined;
      if (filters.length === 0) {
        // Immutable version: computed once, ever, then served from the cache.
        const cached = await storage.getStats(datasetId, v.version);
        if (cached !== undefined) return cached;
      }
      const stats = await computeStats(data.lazy(), v, filters);
      const out = { datasetId: v.datasetId, version: v.version, ...stats };
      if (filters.length === 0) await storage.saveStats(datasetId, v.version, out);
      return out;
    });
    if (body !== undefined) res.json(body);
  });

  return router;
}
