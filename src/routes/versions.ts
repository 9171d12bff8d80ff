/** Versions of a dataset: listing, metadata, schema, statistics and deletion. */
import { Router } from "express";
import { notModified } from "../http/caching.ts";
import { repeated, single, versionParam } from "../http/params.ts";
import { computeStats } from "../frame/stats.ts";
import { parseFiltersAndSearch } from "../frame/query.ts";
import type { StatsService } from "../stats-service.ts";
import type { Storage } from "../storage/types.ts";
import { summarize } from "../types.ts";

export function versionRoutes({ storage, stats }: { storage: Storage; stats: StatsService }): Router {
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
    const v = await storage.getVersion(datasetId, selector);
    const filters = parseFiltersAndSearch(rawFilters, single(req, "q"), v);
    if (notModified(req, res, selector, v, "stats")) return;
    if (filters.length === 0) {
      res.json(await stats.get(datasetId, v.version));
      return;
    }
    // A subset's statistics are computed per request (not cached).
    const body = await storage.read(datasetId, v.version, async (data) => ({ datasetId, version: v.version, ...(await computeStats(data.lazy(), data.version, filters)) }));
    res.json(body);
  });

  return router;
}
