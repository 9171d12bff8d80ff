/**
 * The API process's side of the query workers: runs job kinds (jobs/registry.ts) in the query
 * pool, with QUERY_TIMEOUT_MS / QUERY_MEMORY_MB limits and per-client fair queues. `runOnVersion`
 * also handles a data file a worker found damaged: storage is told (it repairs or excludes the
 * version) and the request gets 410 VERSION_DAMAGED, or the job is run again on the repaired file.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Config } from "../config.ts";
import { ApiError, versionDamaged } from "../errors.ts";
import type { JobInput, JobKind, JobMessage, JobOutput } from "../jobs/registry.ts";
import type { DataFileRef, VersionData } from "../storage/types.ts";
import type { Version } from "../types.ts";
import { QUERY_ERRORS } from "./limits.ts";
import { ProcessPool, type JobOptions } from "./pool.ts";

/** Versions up to this many cells are cheap to query: their jobs go through the fast lane. */
export const SMALL_QUERY_CELLS = 1_000_000;

export interface QueryWorkers {
  run<K extends JobKind>(kind: K, input: JobInput<K>, options?: JobOptions): Promise<JobOutput<K>>;
  /** Runs a job over a version's data file (see the module comment for damaged files). */
  runOnVersion<K extends JobKind>(data: VersionData, kind: K, input: (file: DataFileRef) => JobInput<K>, options?: { client?: string }): Promise<JobOutput<K>>;
  /** Whether queries over this version count as small (fast lane). */
  isSmall(version: Version): boolean;
  warm(): void;
  pids(): number[];
  load(): { running: number; waiting: number; children: number };
  close(): Promise<void>;
}

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), "query-worker.ts");

export function createQueryWorkers(config: Pick<Config, "queryWorkers" | "queryTimeoutMs" | "queryMemoryMb">): QueryWorkers {
  const pool = new ProcessPool({
    script: WORKER,
    workers: config.queryWorkers,
    timeoutMs: config.queryTimeoutMs,
    memoryMb: config.queryMemoryMb,
    maxQueue: Math.max(64, config.queryWorkers * 32),
    errors: QUERY_ERRORS,
    serialization: "advanced",
  });
  const isSmall = (version: Version) => version.rowCount * Math.max(1, version.columnCount) <= SMALL_QUERY_CELLS;
  const run = <K extends JobKind>(kind: K, input: JobInput<K>, options?: JobOptions): Promise<JobOutput<K>> =>
    pool.run<JobOutput<K>>({ kind, input } satisfies JobMessage<K> as never, options);

  return {
    run,
    isSmall,
    async runOnVersion<K extends JobKind>(data: VersionData, kind: K, input: (file: DataFileRef) => JobInput<K>, options: { client?: string } = {}): Promise<JobOutput<K>> {
      const jobOptions = { client: options.client, small: isSmall(data.version) };
      for (let attempt = 0; ; attempt++) {
        try {
          return await run(kind, input(await data.dataFile()), jobOptions);
        } catch (error) {
          if (!(error instanceof ApiError) || error.code !== "VERSION_DAMAGED") throw error;
          const outcome = await data.reportDamaged(error.message);
          if (outcome === "repaired" && attempt === 0) continue;
          const v = data.version;
          throw versionDamaged(`Version ${v.version} of dataset "${v.datasetId}" cannot be served: ${error.message}. It is kept for inspection; restore its data file from a backup or delete the version.`);
        }
      }
    },
    warm: () => pool.warm(),
    pids: () => pool.pids(),
    load: () => pool.load(),
    close: () => pool.close(),
  };
}
