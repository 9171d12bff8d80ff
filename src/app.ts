/**
 * Builds the Express app from its dependencies (no `listen` here, so tests mount it on any port).
 * Request path: middleware → routes (which speak our types) → ingest/storage/frame → problem+json on error.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import express, { type Express } from "express";
import helmet from "helmet";
import swaggerUi from "swagger-ui-express";
import type { Config } from "./config.ts";
import { requireToken } from "./http/auth.ts";
import { cors } from "./http/cors.ts";
import { errorHandler, notFoundHandler } from "./http/problem.ts";
import { rateLimits } from "./http/rate-limit.ts";
import { requestLog } from "./http/request-log.ts";
import type { Logger } from "./log.ts";
import { createMetrics } from "./metrics.ts";
import { buildOpenApiDocument } from "./openapi.ts";
import { archiveRoutes } from "./routes/archive.ts";
import { dataRoutes } from "./routes/data.ts";
import { datasetRoutes } from "./routes/datasets.ts";
import { diffRoutes } from "./routes/diff.ts";
import { healthRoutes } from "./routes/health.ts";
import { versionRoutes } from "./routes/versions.ts";
import type { Parser } from "./sandbox/parser.ts";
import { createStatsService } from "./stats-service.ts";
import type { Storage } from "./storage/types.ts";

export interface AppDeps {
  config: Config;
  storage: Storage;
  logger: Logger;
  parser: Parser;
}

const WEB_DIST = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "web", "dist");

export function createApp({ config, storage, logger, parser }: AppDeps): Express {
  const app = express();
  const metrics = createMetrics(storage);
  const stats = createStatsService(storage);
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", "simple");
  app.set("trust proxy", false);

  app.use(requestLog(logger));
  app.use(metrics.middleware);
  app.use(
    helmet({
      crossOriginResourcePolicy: { policy: config.corsOrigins.length > 0 ? "cross-origin" : "same-origin" },
      // The service speaks plain HTTP unless a proxy adds TLS: forcing https would break it.
      strictTransportSecurity: false,
      contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
    }),
  );
  app.use(cors(config.corsOrigins));

  const openapi = buildOpenApiDocument();
  app.get("/openapi.json", (_req, res) => {
    res.json(openapi);
  });
  app.use("/docs", swaggerUi.serve, swaggerUi.setup(openapi, { customSiteTitle: "Dataset service API" }));

  app.get("/metrics", async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const api = express.Router();
  api.use(requireToken(config.apiTokens));
  api.use(...rateLimits({ windowMs: config.rateLimitWindowMs, reads: config.rateLimitReads, writes: config.rateLimitUploads }));
  api.use(express.json({ limit: "64kb" }));
  api.use(healthRoutes({ storage }));
  api.use(archiveRoutes({ storage, stats, parser, upload: { uploadDir: config.uploadDir, maxUploadBytes: config.maxUploadBytes } }));
  api.use(datasetRoutes({
    storage,
    upload: { uploadDir: config.uploadDir, maxUploadBytes: config.maxUploadBytes },
    parser,
    onUpload: metrics.upload,
    onStored: stats.warm,
  }));
  api.use(versionRoutes({ storage, stats }));
  api.use(dataRoutes({ storage }));
  api.use(diffRoutes({ storage, stats }));
  api.use(notFoundHandler);
  app.use("/api", api);

  // The web viewer (built by `npm run build:web`); it only uses the public API above.
  if (existsSync(path.join(WEB_DIST, "index.html"))) {
    // Hashed asset names may be cached for long; index.html must be revalidated to pick up new builds.
    app.use(express.static(WEB_DIST, { index: "index.html", maxAge: "1y", immutable: true, setHeaders: (res, file) => {
      if (file.endsWith(".html")) res.setHeader("Cache-Control", "no-cache");
    } }));
    app.get("/{*path}", (req, res, next) => (req.accepts("html") ? res.sendFile(path.join(WEB_DIST, "index.html")) : next()));
  }

  app.use(notFoundHandler);
  app.use(errorHandler(logger, config.maxUploadBytes));
  return app;
}
