/**
 * The API process's side of SQL and facets: pins the versions a query reads, hands jobs to the
 * query workers (sandbox/queries.ts: QUERY_TIMEOUT_MS, QUERY_MEMORY_MB, per-client fair queues)
 * and keeps the materialised results of recent queries on disk, so every page and download of one
 * result comes from the same rows. Those files live under UPLOAD_DIR, which start-up and
 * shutdown clean.
 */
import { createHash, randomUUID } from "node:crypto";
import { mkdir, rm } from "node:fs/promises";
import path from "node:path";
import { ApiError, badRequest } from "../errors.ts";
import type { DownloadFormat } from "../frame/download.ts";
import type { Filter } from "../frame/query.ts";
import type { SqlDownloadOutput, SqlJobTable } from "../jobs/sql.ts";
import type { QueryWorkers } from "../sandbox/queries.ts";
import type { DataFileRef, Storage } from "../storage/types.ts";
import type { Version } from "../types.ts";
import type { PreparedSql } from "./prepare.ts";
import type { ResultPage, RowShape } from "./result.ts";

export interface FacetArgs {
  columns: string[];
  limit: number;
  filters: Filter[];
  bins: Map<string, number>;
}

/** A download file: stream it, then call `cleanup`. */
export interface SqlDownload extends SqlDownloadOutput {
  cleanup(): Promise<void>;
}

export interface SqlService {
  page(prepared: PreparedSql, offset: number, limit: number, shape: RowShape, client?: string): Promise<ResultPage>;
  download(prepared: PreparedSql, format: DownloadFormat, client?: string): Promise<SqlDownload>;
  /** The facets body of a version (without datasetId/version) as JSON text. */
  facets(version: Version, args: FacetArgs, client?: string): Promise<string>;
}

/** Results kept on disk, most recently used first. */
const RESULTS_KEPT = 64;
/** The rows a read reads in this process: none (the worker reads the data file). */
const NO_ROWS = { rows: { offset: 0, limit: 0 } };

const sha = (text: string) => createHash("sha256").update(text).digest("hex").slice(0, 40);

/** A worker's panic inside a query is the query's fault (e.g. a date plus a million years): a 400. */
function queryError(err: unknown): unknown {
  if (err instanceof ApiError && err.code === "QUERY_LIMIT" && err.extra.reason === "panic") {
    return badRequest(`${err.message.replace(/ Nothing else was affected\.$/, "")} Change the query (for example keep dates and numbers in range).`, { parameter: "query", reason: "panic" });
  }
  return err;
}

export function createSqlService(queries: QueryWorkers, storage: Storage, options: { uploadDir: string }): SqlService {
  // under UPLOAD_DIR with the upload-<pid>- prefix: start-up removes what a dead process left
  const root = path.join(options.uploadDir, `upload-${process.pid}-${randomUUID()}-sql`);
  const results = new Map<string, string>();

  function resultFile(key: string): string {
    const file = results.get(key) ?? path.join(root, `${key}.parquet`);
    results.delete(key);
    results.set(key, file);
    while (results.size > RESULTS_KEPT) {
      const [oldKey, oldFile] = results.entries().next().value as [string, string];
      results.delete(oldKey);
      void rm(oldFile, { force: true });
    }
    return file;
  }

  /** Runs `fn` with every table's data file, each version pinned in storage until `fn` settles. */
  function withFiles<T>(prepared: PreparedSql, fn: (tables: SqlJobTable[]) => Promise<T>): Promise<T> {
    const step = (i: number, acc: SqlJobTable[]): Promise<T> => {
      const t = prepared.tables[i];
      if (!t) return fn(acc);
      return storage.read(t.datasetId, t.version.version, async (data) => {
        const file: DataFileRef = await data.dataFile();
        return step(i + 1, [...acc, { internal: t.internal, label: t.label, columns: data.version.columns, file }]);
      }, NO_ROWS);
    };
    return step(0, []);
  }

  async function base(prepared: PreparedSql): Promise<{ sql: string; resultFile: string }> {
    await mkdir(root, { recursive: true });
    const key = sha(JSON.stringify([prepared.sql, prepared.tables.map((t) => [t.internal, t.datasetId, t.version.version, t.version.createdAt])]));
    return { sql: prepared.sql, resultFile: resultFile(key) };
  }

  const small = (prepared: PreparedSql) => prepared.tables.every((t) => queries.isSmall(t.version));

  return {
    async page(prepared, offset, limit, shape, client) {
      const b = await base(prepared);
      return withFiles(prepared, (tables) => queries.run("sqlPage", { ...b, tables, offset, limit, shape }, { client, small: small(prepared) })).catch((err: unknown) => Promise.reject(queryError(err)));
    },
    async download(prepared, format, client) {
      const b = await base(prepared);
      const dir = path.join(options.uploadDir, `upload-${process.pid}-${randomUUID()}-sql-export`);
      await mkdir(dir, { recursive: true });
      const cleanup = () => rm(dir, { recursive: true, force: true });
      try {
        const out = await withFiles(prepared, (tables) => queries.run("sqlDownload", { ...b, tables, format, dir }, { client, small: small(prepared) }));
        return { ...out, cleanup };
      } catch (err) {
        await cleanup();
        throw queryError(err);
      }
    },
    facets(version, args, client) {
      return storage.read(
        version.datasetId,
        version.version,
        (data) => queries.runOnVersion(data, "facets", (file) => ({ file, version: data.version, columns: args.columns, limit: args.limit, filters: args.filters, bins: [...args.bins] }), { client }),
        NO_ROWS,
      );
    },
  };
}
