/**
 * The parent's side of isolated parsing: uploads are parsed in the process pool and come back
 * as a Parquet file, which is read off the event loop into the frame that storage keeps.
 */
import { rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import pl from "nodejs-polars";
import type { Config } from "../config.ts";
import { tempName } from "../http/upload.ts";
import type { IngestLimits, UploadedFile } from "../ingest/index.ts";
import type { ParseOptions } from "../ingest/options.ts";
import type { NewVersion } from "../storage/types.ts";
import type { SourceInfo } from "../types.ts";
import { ProcessPool } from "./pool.ts";

export type ParseJob =
  | { kind: "parse"; file: UploadedFile; options: ParseOptions; limits: IngestLimits; outPath: string }
  | { kind: "inspect"; file: UploadedFile; options: ParseOptions; limits: IngestLimits };

/** What routes use to turn an uploaded file into a version (or a dry-run report). */
export interface Parser {
  parse(file: UploadedFile, options: ParseOptions): Promise<NewVersion>;
  inspect(file: UploadedFile, options: ParseOptions): Promise<unknown>;
  /** Starts the parser processes ahead of the first upload. */
  warm(): void;
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
  });
  const limits: IngestLimits = { maxColumns: config.maxColumns, maxRows: config.maxRows, memoryBytes: config.parseMemoryMb * 1024 * 1024 };
  return {
    async parse(file, options) {
      const outPath = path.join(config.uploadDir, tempName("ingest", ".parquet"));
      try {
        const { source } = await pool.run<{ source: SourceInfo }>({ kind: "parse", file, options, limits, outPath } satisfies ParseJob);
        // No globbing or hive parsing: the upload folder's path may contain `[`, `*`, `?` or `k=v`.
        const frame = await pl.scanParquet(outPath, { glob: false, hivePartitioning: false }).collect();
        return { frame, source };
      } finally {
        await rm(outPath, { force: true });
      }
    },
    inspect(file, options) {
      return pool.run({ kind: "inspect", file, options, limits } satisfies ParseJob);
    },
    warm: () => pool.warm(),
    close: () => pool.close(),
  };
}
