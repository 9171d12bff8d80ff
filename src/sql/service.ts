/**
 * The API process's side of SQL and facets: pins the versions a query reads, hands jobs to the
 * query workers (sandbox/queries.ts: QUERY_TIMEOUT_MS, QUERY_MEMORY_MB, per-client fair queues,
 * the fast lane for queries over small versions) and keeps the materialised results of recent
 * queries, so every page and download of one result comes from the same rows.
 *
 * Files: a query's result and its downloads are spool files (src/spool.ts), counted against
 * SPOOL_BUDGET_BYTES and removed at shutdown (and by the next start-up after a crash). Results
 * are kept, most recently used first, up to RESULTS_KEPT and while the spool has room; a download
 * is released when its response ends.
 *
 * A data file a worker finds damaged is named by its checksum (jobs/data-file.ts): the table it
 * belongs to is told to storage (which repairs or excludes the version) and the answer is a 410
 * naming that table and version.
 */
import { createHash } from "node:crypto";
import { ApiError, badRequest, versionDamaged } from "../errors.ts";
import type { DownloadFormat } from "../frame/download.ts";
import type { Filter } from "../frame/query.ts";
import type { SqlJobTable } from "../jobs/sql.ts";
import { spooledDownload, type DownloadBody } from "../query-service.ts";
import type { QueryWorkers } from "../sandbox/queries.ts";
import type { Spool, SpoolFile } from "../spool.ts";
import { VerifiedFile } from "../storage/checksum.ts";
import type { Storage, VersionData } from "../storage/types.ts";
import type { Version } from "../types.ts";
import type { PreparedSql, SqlTable } from "./prepare.ts";
import type { ResultPage, RowShape } from "./result.ts";

export interface FacetArgs {
  columns: string[];
  limit: number;
  filters: Filter[];
  bins: Map<string, number>;
}

export interface SqlService {
  page(prepared: PreparedSql, offset: number, limit: number, shape: RowShape, client?: string): Promise<ResultPage>;
  /** The whole result as a spool file: `send` it, then `cleanup`. */
  download(prepared: PreparedSql, format: DownloadFormat, client?: string): Promise<DownloadBody>;
  /** The facets body of a version (without datasetId/version) as JSON text. */
  facets(version: Version, args: FacetArgs, client?: string): Promise<string>;
  /** Results kept right now (for tests and health). */
  resultCount(): number;
}

/** Results kept, most recently used first. */
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

/** A query's result: one spool file, and who is using it. */
interface Result {
  file: SpoolFile;
  /** Requests between asking for it and their job's end; only unused results are evicted. */
  users: number;
  /** Whether a job has written it (later jobs only read it). */
  written: boolean;
  /** The job that writes it, while it runs: other requests for the same result wait for it. */
  writing: Promise<void> | null;
}

/** One table of a query with its pinned data (inside `storage.read`). */
interface Pinned {
  table: SqlTable;
  data: VersionData;
  job: SqlJobTable;
}

function damagedTable(t: SqlTable, reason: string): ApiError {
  const v = t.version;
  return versionDamaged(
    `Table "${t.label}" (version ${v.version} of dataset "${t.name}", id ${v.datasetId}) cannot be served: ${reason}. It is kept for inspection; restore its data file from a backup or delete the version.`,
    { parameter: "query", table: t.label, datasetId: v.datasetId, version: v.version },
  );
}

/** The reason a storage 410 gives, without its own "Version N of dataset … cannot be served:" lead. */
function reasonOf(err: ApiError): string {
  const m = /cannot be served: (.*?)(?:\. (?:It is kept|Restore)[^]*)?$/s.exec(err.message);
  return m?.[1] ?? err.message.replace(/\.$/, "");
}

export function createSqlService(queries: QueryWorkers, storage: Storage, options: { spool: Spool }): SqlService {
  const results = new Map<string, Result>();

  /** Drops unused results beyond `keep` (oldest first). */
  function evict(keep: number): void {
    for (const [key, r] of results) {
      if (results.size <= keep) return;
      if (r.users > 0) continue;
      results.delete(key);
      void r.file.release();
    }
  }

  /** The result of `key`, taken from the spool when new (507 when the spool is full even after dropping unused results). */
  function resultOf(key: string): Result {
    const known = results.get(key);
    if (known) {
      // most recently used last
      results.delete(key);
      results.set(key, known);
      return known;
    }
    let file: SpoolFile;
    try {
      file = options.spool.take("parquet", 0);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 507) throw err;
      evict(0);
      file = options.spool.take("parquet", 0);
    }
    const r: Result = { file, users: 0, written: false, writing: null };
    results.set(key, r);
    evict(RESULTS_KEPT);
    return r;
  }

  /**
   * Runs `fn` with every table's data file, each version pinned in storage until `fn` settles.
   * A damaged file (found by storage, or by the worker) is a 410 naming its table; a file
   * storage repaired is used again once.
   */
  async function withTables<T>(prepared: PreparedSql, fn: (tables: SqlJobTable[]) => Promise<T>): Promise<T> {
    const step = (i: number, acc: Pinned[]): Promise<T> => {
      const table = prepared.tables[i];
      if (!table) return runPinned(acc, fn);
      return storage
        .read(
          table.datasetId,
          table.version.version,
          async (data) => step(i + 1, [...acc, { table, data, job: { internal: table.internal, label: table.label, columns: data.version.columns, file: await data.dataFile() } }]),
          NO_ROWS,
        )
        .catch((err: unknown) => {
          // storage's own 410 (a version already excluded, or found damaged now) names no table
          if (err instanceof ApiError && err.code === "VERSION_DAMAGED" && err.extra.table === undefined) throw damagedTable(table, reasonOf(err));
          throw err;
        });
    };
    return step(0, []);
  }

  async function runPinned<T>(pinned: Pinned[], fn: (tables: SqlJobTable[]) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(pinned.map((p) => p.job));
      } catch (err) {
        if (!(err instanceof ApiError) || err.code !== "VERSION_DAMAGED" || err.extra.table !== undefined) throw err;
        const hits = await damagedAmong(pinned, err.extra.sha256);
        if (hits.length === 0) throw err;
        const outcomes = await Promise.all(hits.map((hit) => hit.data.reportDamaged(err.message)));
        const excluded = hits.find((_, i) => outcomes[i] === "excluded");
        if (!excluded && attempt === 0) {
          for (const hit of hits) hit.job = { ...hit.job, file: await hit.data.dataFile() };
          continue;
        }
        throw damagedTable((excluded ?? hits[0]!).table, err.message);
      }
    }
  }

  /**
   * The tables whose data file is the damaged one a worker named by its checksum. Versions with
   * equal content have equal checksums (one dataset uploaded twice): those files are verified
   * here (hashing runs on libuv's thread pool) to find the damaged ones.
   */
  async function damagedAmong(pinned: Pinned[], sha256: unknown): Promise<Pinned[]> {
    const hits = pinned.filter((p) => p.job.file.checksum.sha256 === sha256);
    const paths = [...new Set(hits.map((p) => p.job.file.path))];
    if (paths.length <= 1) return hits;
    const problems = await Promise.all(paths.map((file) => new VerifiedFile(file, hits.find((p) => p.job.file.path === file)!.job.file.checksum).verify()));
    const damaged = new Set(paths.filter((_, i) => problems[i] !== null));
    // none damaged now (rewritten meanwhile): report the first, as before
    return damaged.size > 0 ? hits.filter((p) => damaged.has(p.job.file.path)) : hits.slice(0, 1);
  }

  const keyOf = (prepared: PreparedSql) => sha(JSON.stringify([prepared.sql, prepared.tables.map((t) => [t.internal, t.datasetId, t.version.version, t.version.createdAt])]));
  const small = (prepared: PreparedSql) => prepared.tables.every((t) => queries.isSmall(t.version));

  /**
   * Runs `job` with the query's result file (made by the first job that needs it). Jobs for a
   * result being written wait for that writer; a result whose writer failed is written again.
   */
  async function withResult<T>(prepared: PreparedSql, job: (resultFile: string, tables: SqlJobTable[]) => Promise<T>): Promise<T> {
    const r = resultOf(keyOf(prepared));
    r.users++;
    try {
      while (!r.written && r.writing) await r.writing;
      const run = () => withTables(prepared, (tables) => job(r.file.path, tables));
      if (r.written) return await run();
      let done: () => void = () => undefined;
      r.writing = new Promise<void>((resolve) => (done = resolve));
      try {
        const out = await run();
        r.written = true;
        await r.file.settle().catch(() => undefined);
        return out;
      } finally {
        r.writing = null;
        done();
      }
    } catch (err) {
      throw queryError(err);
    } finally {
      r.users--;
    }
  }

  return {
    page(prepared, offset, limit, shape, client) {
      return withResult(prepared, (resultFile, tables) => queries.run("sqlPage", { sql: prepared.sql, tables, resultFile, offset, limit, shape }, { client, small: small(prepared) }));
    },

    async download(prepared, format, client) {
      // taken before the query runs (507 when the spool is full); released by cleanup
      const spooled = options.spool.take(format, 0);
      return spooledDownload(spooled, () => withResult(prepared, (resultFile, tables) => queries.run("sqlDownload", { sql: prepared.sql, tables, resultFile, format, into: spooled.path }, { client, small: small(prepared) })));
    },

    facets(version, args, client) {
      return storage.read(
        version.datasetId,
        version.version,
        (data) => queries.runOnVersion(data, "facets", (file) => ({ file, version: data.version, columns: args.columns, limit: args.limit, filters: args.filters, bins: [...args.bins] }), { client }),
        NO_ROWS,
      );
    },

    resultCount: () => results.size,
  };
}
