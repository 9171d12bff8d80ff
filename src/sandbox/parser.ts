/**
 * The parent's side of isolated parsing: uploads are parsed in the parser pool, and the child
 * writes the version's data file where storage asked (`Storage.stagingPath()`), so nothing is
 * written twice and the API process never reads the frame just to describe it.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Config } from "../config.ts";
import type { IngestLimits, UploadedFile } from "../ingest/index.ts";
import type { ParseOptions } from "../ingest/options.ts";
import type { DataFileFacts } from "../storage/data-file.ts";
import type { NewVersion } from "../storage/types.ts";
import type { SourceInfo } from "../types.ts";
import type { Stages, StageTimes } from "../timing.ts";
import { PARSE_ERRORS } from "./limits.ts";
import { ProcessPool } from "./pool.ts";

export type ParseJob =
  | { kind: "parse"; file: UploadedFile; options: ParseOptions; limits: IngestLimits; outPath: string }
  | { kind: "inspect"; file: UploadedFile; options: ParseOptions; limits: IngestLimits };

/** What a parse job answers: the source description and the facts of the data file it wrote. */
export interface ParseResult extends DataFileFacts {
  source: SourceInfo;
  /** The child's stages (timing.ts) and its whole time on the job, in ms. */
  stages: StageTimes;
  childMs: number;
}

/** Uploads up to this size go through the fast lane: a small file never waits behind big ones. */
export const SMALL_UPLOAD_BYTES = 1024 * 1024;

export interface ParseTarget {
  /** Where the child writes the data file (from `Storage.stagingPath()`); removed if the parse fails. */
  outPath: string;
  /** Who uploads (auth token or address): the pool's queues are per client. */
  client?: string;
  /** Receives the child's stages, and "handoff": the job's time outside the child (queue, IPC). */
  stages?: Stages;
}

/** What routes use to turn an uploaded file into a version (or a dry-run report). */
export interface Parser {
  parse(file: UploadedFile, options: ParseOptions, target: ParseTarget): Promise<NewVersion>;
  inspect(file: UploadedFile, options: ParseOptions, client?: string): Promise<unknown>;
  /** Starts a parser process ahead of the first upload. */
  warm(): void;
  /** Process ids of the parser children (tests). */
  pids(): number[];
  /** Jobs running and waiting (tests, operators). */
  load(): { running: number; waiting: number; children: number };
  close(): Promise<void>;
}

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), "worker.ts");

export function createParser(config: Config): Parser {
  const pool = new ProcessPool({
    script: WORKER,
    workers: config.parseWorkers,
    timeoutMs: config.parseTimeoutMs,
    memoryMb: config.parseMemoryMb,
    maxQueue: Math.max(64, config.parseWorkers * 16),
    errors: PARSE_ERRORS,
  });
  const limits: IngestLimits = { maxColumns: config.maxColumns, maxRows: config.maxRows, memoryBytes: config.parseMemoryMb * 1024 * 1024 };
  const small = (file: UploadedFile) => file.sizeBytes <= SMALL_UPLOAD_BYTES;
  return {
    async parse(file, options, { outPath, client, stages }) {
      try {
        const t = performance.now();
        const { stages: childStages, childMs, ...result } = await pool.run<ParseResult>({ kind: "parse", file, options, limits, outPath } satisfies ParseJob, { client, small: small(file) });
        stages?.merge(childStages);
        stages?.add("handoff", Math.max(0, performance.now() - t - childMs));
        return { dataFile: outPath, ...result };
      } catch (error) {
        await rm(outPath, { force: true });
        throw error;
      }
    },
    inspect(file, options, client) {
      return pool.run({ kind: "inspect", file, options, limits } satisfies ParseJob, { client, small: small(file) });
    },
    warm: () => pool.warm(),
    pids: () => pool.pids(),
    load: () => pool.load(),
    close: () => pool.close(),
  };
}
