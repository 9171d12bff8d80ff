/**
 * The API process's side of SQL and facets: hands jobs to query-worker children (a process pool
 * with QUERY_TIMEOUT_MS, QUERY_MEMORY_MB and QUERY_WORKERS), keeps the materialised results of
 * recent queries, and finds each version's Parquet data file for the workers.
 *
 * PROVISIONAL pieces, to be replaced when the shared query-worker pool (src/jobs/ registry) and
 * per-version data files land: the pool here is a second `ProcessPool` running
 * jobs/sql-worker.ts, and `dataFile` writes a version's rows to a temporary Parquet file once
 * (streamed by Polars, off the event loop) instead of asking storage for the version's own file.
 */
import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Config } from "../config.ts";
import { ApiError, badRequest, queryLimit } from "../errors.ts";
import type { DownloadFormat } from "../frame/download.ts";
import type { Filter } from "../frame/query.ts";
import type { FacetsJob } from "../jobs/facets.ts";
import type { SqlDownloadReply, SqlJob } from "../jobs/sql.ts";
import type { QueryJob } from "../jobs/sql-worker.ts";
import { ProcessPool } from "../sandbox/pool.ts";
import type { Storage } from "../storage/types.ts";
import type { Version } from "../types.ts";
import type { PreparedSql } from "./prepare.ts";
import type { ResultPage, RowShape } from "./result.ts";

export interface FacetArgs {
  columns: string[];
  limit: number;
  filters: Filter[];
  bins: Map<string, number>;
}

export interface QueryRunner {
  sqlPage(prepared: PreparedSql, offset: number, limit: number, shape: RowShape): Promise<ResultPage>;
  /** The whole result as a file in `format`; the caller streams it, then removes its folder. */
  sqlDownload(prepared: PreparedSql, format: DownloadFormat): Promise<SqlDownloadReply>;
  /** The facets body of a version as JSON text. */
  facets(version: Version, args: FacetArgs): Promise<string>;
  close(): Promise<void>;
}

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "jobs", "sql-worker.ts");
/** Results kept on disk for paging and downloads, most recently used first. */
const RESULTS_KEPT = 64;
const DATA_FILES_KEPT = 256;

/** The pool's words (written for parsing) in query terms, with QUERY_LIMIT for overruns. */
function queryError(err: unknown, config: Config): unknown {
  if (!(err instanceof ApiError)) return err;
  if (err.code === "BUSY") return new ApiError(503, "BUSY", "Every query worker is busy; retry shortly.", {}, err.headers);
  if (err.code === "PARSE_LIMIT" && /longer than/.test(err.message)) {
    return queryLimit(`The query ran longer than the ${config.queryTimeoutMs} ms limit (QUERY_TIMEOUT_MS) and was stopped; narrow it (filters, LIMIT) or ask for less.`);
  }
  if (err.code === "PARSE_LIMIT" && /MB limit/.test(err.message)) {
    return queryLimit(`The query needed more than the ${config.queryMemoryMb} MB limit (QUERY_MEMORY_MB) and was stopped; narrow it or ask for less.`);
  }
  if (err.code === "UNPARSEABLE_FILE") {
    // the worker died of a Rust panic inside Polars, on something the query computed
    // (e.g. a date plus a huge interval): the query's fault, and only that job was lost
    const panic = /handle\): (.*); nothing was stored\.$/s.exec(err.message)?.[1] ?? "unknown error";
    return badRequest(`The query failed inside the query engine (${panic}); change the query (for example keep dates and numbers in range).`, { parameter: "query" });
  }
  if (err.code === "PARSE_LIMIT") {
    return queryLimit("The query worker stopped unexpectedly (it ran out of memory or crashed) and was replaced; narrow the query or ask for less.");
  }
  return err;
}

/** A small LRU of files on disk: evicted entries are deleted. */
class FileCache {
  readonly #entries = new Map<string, string>();
  readonly #max: number;
  constructor(max: number) {
    this.#max = max;
  }
  get(key: string): string | undefined {
    const file = this.#entries.get(key);
    if (file === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, file);
    return file;
  }
  set(key: string, file: string): void {
    this.#entries.delete(key);
    this.#entries.set(key, file);
    while (this.#entries.size > this.#max) {
      const [oldKey, oldFile] = this.#entries.entries().next().value as [string, string];
      this.#entries.delete(oldKey);
      void rm(oldFile, { force: true });
    }
  }
}

const sha = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 40);

export function createQueryRunner(config: Config, storage: Storage): QueryRunner {
  const pool = new ProcessPool({ script: WORKER, workers: config.queryWorkers, timeoutMs: config.queryTimeoutMs, memoryMb: config.queryMemoryMb, maxQueue: Math.max(64, config.queryWorkers * 16) });
  // under UPLOAD_DIR with the upload-<pid>- prefix: start-up removes what a dead process left
  const root = path.join(config.uploadDir, `upload-${process.pid}-${randomUUID()}-queries`);
  const results = new FileCache(RESULTS_KEPT);
  const dataFiles = new FileCache(DATA_FILES_KEPT);
  const writing = new Map<string, Promise<string>>();

  async function run<T>(job: QueryJob): Promise<T> {
    try {
      return await pool.run<T>(job);
    } catch (err) {
      throw queryError(err, config);
    }
  }

  /** The version's rows as a Parquet file the workers can scan (written once per version). */
  function dataFile(version: Version): Promise<string> {
    const key = `${version.datasetId}\u0000${version.version}\u0000${version.createdAt}`;
    const known = dataFiles.get(key);
    if (known !== undefined && existsSync(known)) return Promise.resolve(known);
    let pending = writing.get(key);
    if (!pending) {
      const file = path.join(root, "data", `${sha(key)}.parquet`);
      pending = (async () => {
        await mkdir(path.dirname(file), { recursive: true });
        const partial = `${file}.partial`;
        await storage.read(version.datasetId, version.version, (data) => data.lazy().sinkParquet(partial, { compression: "lz4", maintainOrder: true }).collect());
        await rename(partial, file);
        dataFiles.set(key, file);
        return file;
      })().finally(() => writing.delete(key));
      writing.set(key, pending);
    }
    return pending;
  }

  async function sqlJobBase(prepared: PreparedSql): Promise<Omit<SqlJob, "kind" | "offset" | "limit" | "shape" | "format"> & { key: string }> {
    const tables = await Promise.all(prepared.tables.map(async (t) => ({ internal: t.internal, label: t.label, columns: t.version.columns, path: await dataFile(t.version) })));
    const key = sha(JSON.stringify([prepared.sql, prepared.tables.map((t) => [t.internal, t.datasetId, t.version.version, t.version.createdAt])]));
    const resultFile = results.get(key) ?? path.join(root, "results", `${key}.parquet`);
    results.set(key, resultFile);
    return { key, sql: prepared.sql, tables, resultFile };
  }

  return {
    async sqlPage(prepared, offset, limit, shape) {
      const base = await sqlJobBase(prepared);
      return run<ResultPage>({ kind: "sql-page", sql: base.sql, tables: base.tables, resultFile: base.resultFile, offset, limit, shape });
    },
    async sqlDownload(prepared, format) {
      const base = await sqlJobBase(prepared);
      return run<SqlDownloadReply>({ kind: "sql-download", sql: base.sql, tables: base.tables, resultFile: base.resultFile, format });
    },
    async facets(version, args) {
      const job: FacetsJob = { kind: "facets", path: await dataFile(version), version, columns: args.columns, limit: args.limit, filters: args.filters, bins: [...args.bins] };
      return run<string>(job);
    },
    async close() {
      await pool.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}
