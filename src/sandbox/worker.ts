/**
 * Entry point of a parser child process (see pool.ts). Parses one upload at a time, proves that
 * every value renders in every format the service serves (ingest/renderable.ts), and writes the
 * version's final data file (Parquet) with its checksum and column descriptions: the API process
 * only moves or reads that file, it never re-describes or re-writes the frame.
 */
import { inspectUpload, parseUpload } from "../ingest/index.ts";
import { proveRenderable } from "../ingest/renderable.ts";
import { writeDataFile } from "../storage/data-file.ts";
import { beginStages } from "../timing.ts";
import { serve, step } from "./child.ts";
import type { ParseJob, ParseResult } from "./parser.ts";

async function handle(job: ParseJob): Promise<unknown> {
  if (job.kind === "inspect") return inspectUpload(job.file, job.options, job.limits);
  const started = performance.now();
  const stages = beginStages();
  step("parse");
  const { frame, source } = await parseUpload(job.file, job.options, job.limits);
  await stages.time("proof", () => proveRenderable(frame, step));
  step("write the data file");
  const facts = await writeDataFile(frame, job.outPath, stages);
  return { source, ...facts, stages: stages.times, childMs: performance.now() - started } satisfies ParseResult;
}

// ingest words every reader failure itself; anything else is a bug, told in our words only
serve(
  (message) => handle(message as ParseJob),
  () => ({ ok: false, status: 422, code: "UNPARSEABLE_FILE", detail: "The file could not be read; nothing was stored." }),
);
