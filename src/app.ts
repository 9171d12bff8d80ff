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
import { createUploadSlots } from "./http/upload.ts";
import { requestLog } from "./http/request-log.ts";
import { setRowCacheBudget } from "./frame/page-cache.ts";
import type { Logger } from "./log.ts";
import { createMetrics } from "./metrics.ts";
import { buildOpenApiDocument } from "./openapi.ts";
import { mountRoutes } from "./routes/define.ts";
import { ROUTES } from "./routes/index.ts";
import { createQueryService } from "./query-service.ts";
import { createDiffService } from "./diff-service.ts";
import { identifyClients } from "./sandbox/client.ts";
import type { Parser } from "./sandbox/parser.ts";
import type { QueryWorkers } from "./sandbox/queries.ts";
import { createSqlService } from "./sql/service.ts";
import { createStatsService } from "./stats-service.ts";
import { createMemoryGuard, releasingMemory } from "./memory-guard.ts";
import { createSpool, type Spool } from "./spool.ts";
import type { Storage } from "./storage/types.ts";

export interface AppDeps {
  config: Config;
  storage: Storage;
  logger: Logger;
  parser: Parser;
  /** The query-worker pool: statistics, filters, sorts and exports run there (docs/design.md). */
  queries: QueryWorkers;
  /** Where downloads are written before they are streamed (default: one made from the config). */
  spool?: Spool;
}

const WEB_DIST = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "web", "dist");

export function createApp({ config, storage: backend, logger, parser, queries, spool = createSpool({ dir: config.spoolDir, budgetBytes: config.spoolBudgetBytes }) }: AppDeps): Express {
  const app = express();
  const memory = createMemoryGuard({ storage: backend, budgetBytes: config.memoryBudgetBytes, limitBytes: config.memoryLimitBytes });
  const storage = releasingMemory(backend, memory);
  const metrics = createMetrics(storage);
  const stats = createStatsService(storage, queries, { retryAfterMs: config.queryRetryAfterMs });
  const reads = createQueryService(queries, { spool });
  const sql = createSqlService(queries, storage, { spool });
  // rendered rows kept for later pages (src/frame/page-cache.ts)
  setRowCacheBudget(config.pageCacheBytes);
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
  app.use("/docs", swaggerUi.serve, swaggerUi.setup(openapi, { customSiteTitle: "Dataset service API" }));

  const api = express.Router();
  // token guessing is limited per client address (AUTH_FAILURES_PER_WINDOW), counted together for
  // /api and /metrics; failures are logged without the token
  const guesses = {
    windowMs: config.rateLimitWindowMs,
    maxFailures: config.authFailuresPerWindow,
    onFailure: (client: string, failures: number) => logger.warn({ client, failures }, "invalid bearer token"),
    ledger: new Map(),
  };
  api.use(requireToken(config.apiTokens, guesses));
  // the pools' fair queues are per client: the token that passed auth, else the address
  api.use(identifyClients(config.apiTokens !== null));
  api.use(...rateLimits({ windowMs: config.rateLimitWindowMs, reads: config.rateLimitReads, writes: config.rateLimitUploads }));
  api.use(express.json({ limit: "64kb" }));
  // Every route, from its definition in src/routes/ (/api ones on `api`; /healthz, /metrics, /openapi.json on `app`).
  // /metrics: METRICS_TOKEN when set, else any API token when API_TOKENS is set, else open.
  const metricsAuth = requireToken(config.metricsToken ? new Map([[config.metricsToken, "read" as const]]) : config.apiTokens, guesses);
  const uploadSlots = createUploadSlots({ total: config.maxUploads, perClient: config.maxUploadsPerClient });
  const diffs = createDiffService(storage, queries);
  mountRoutes(ROUTES, { config, storage, parser, stats, reads, sql, metrics, openapi, spool, memory, uploadSlots, diffs }, { app, api, metricsAuth });
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
