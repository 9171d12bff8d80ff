/** GET /api/health: liveness plus the figures an operator watches. */
import { Router } from "express";
import type { Storage } from "../storage/types.ts";

export function healthRoutes({ storage }: { storage: Storage }): Router {
  const router = Router();
  router.get("/health", async (_req, res) => {
    const h = await storage.health();
    res.setHeader("Cache-Control", "no-store");
    res.json({
      status: "ok",
      backend: storage.name,
      datasets: h.datasets,
      versions: h.versions,
      memory: { rssBytes: process.memoryUsage.rss(), dataBytes: h.dataBytes, budgetBytes: h.budgetBytes },
      ...h.details,
    });
  });
  return router;
}
