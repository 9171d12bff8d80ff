/**
 * Prometheus metrics (GET /metrics). One registry per app so tests can build many apps.
 * Storage figures are read from `Storage.health()` at scrape time, not duplicated.
 */
import type { RequestHandler } from "express";
import client from "prom-client";
import type { Storage } from "./storage/types.ts";

export interface Metrics {
  registry: client.Registry;
  /** Counts requests and their latency by route and status. */
  middleware: RequestHandler;
  upload(format: string, outcome: string, bytes: number, rows: number): void;
  /** Observes an upload's stage times in ms (src/timing.ts) in `ingest_stage_seconds{stage}`. */
  ingestStages(times: Record<string, number>): void;
}

export function createMetrics(storage: Storage): Metrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });

  const requests = new client.Counter({ name: "http_requests_total", help: "HTTP requests by method, route and status", labelNames: ["method", "route", "status"], registers: [registry] });
  const latency = new client.Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request latency by method, route and status",
    labelNames: ["method", "route", "status"],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const uploads = new client.Counter({ name: "uploads_total", help: "Uploads by detected format and outcome (created, or the error code)", labelNames: ["format", "outcome"], registers: [registry] });
  const bytesIngested = new client.Counter({ name: "ingested_bytes_total", help: "Bytes of files stored as versions", registers: [registry] });
  const rowsIngested = new client.Counter({ name: "ingested_rows_total", help: "Rows stored as versions", registers: [registry] });
  const stageSeconds = new client.Histogram({
    name: "ingest_stage_seconds",
    help: "Time of each stage of a stored upload: receive, hash, detect, decode, prescan, parse, infer, convert, proof, write, checksum (parser child), handoff (queue and IPC), store, stats (background)",
    labelNames: ["stage"],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [registry],
  });

  const gauge = (name: string, help: string, read: (h: Awaited<ReturnType<Storage["health"]>>) => number) =>
    new client.Gauge({
      name,
      help,
      registers: [registry],
      async collect() {
        this.set(read(await storage.health()));
      },
    });
  gauge("datasets", "Datasets stored", (h) => h.datasets);
  gauge("versions", "Versions stored", (h) => h.versions);
  gauge("data_bytes_in_memory", "Bytes of dataframes held in memory", (h) => h.dataBytes);
  gauge("memory_budget_bytes", "MEMORY_BUDGET_BYTES", (h) => h.budgetBytes);
  gauge("stored_bytes_on_disk", "Bytes of version files on disk (local backend; 0 otherwise)", (h) => h.details.diskBytes ?? 0);
  gauge("cache_hits_total", "Version cache hits since start", (h) => h.details.cacheHits ?? 0);
  gauge("cache_misses_total", "Version cache misses since start", (h) => h.details.cacheMisses ?? 0);
  gauge("cache_evictions_total", "Version cache evictions since start", (h) => h.details.cacheEvictions ?? 0);

  const middleware: RequestHandler = (req, res, next) => {
    const end = latency.startTimer();
    res.on("finish", () => {
      const labels = { method: req.method, route: req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : "unmatched", status: String(res.statusCode) };
      requests.inc(labels);
      end(labels);
    });
    next();
  };

  return {
    registry,
    middleware,
    upload(format, outcome, bytes, rows) {
      uploads.inc({ format, outcome });
      if (outcome === "created") {
        bytesIngested.inc(bytes);
        rowsIngested.inc(rows);
      }
    },
    ingestStages(times) {
      for (const [stage, ms] of Object.entries(times)) stageSeconds.observe({ stage }, ms / 1000);
    },
  };
}
