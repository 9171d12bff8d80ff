/**
 * Entry point of a parser child process (see sandbox/pool.ts). Parses one upload at a time and
 * hands the frame to the parent as a Parquet file, never as JSON.
 */
import { ApiError, excerpt } from "../errors.ts";
import { diskFull, isDiskFull } from "../http/disk-full.ts";
import { writeParquetFile } from "../frame/safe.ts";
import { inspectUpload, parseUpload } from "../ingest/index.ts";
import type { JobReply } from "./pool.ts";
import type { ParseJob } from "./parser.ts";

async function handle(job: ParseJob): Promise<unknown> {
  if (job.kind === "inspect") return inspectUpload(job.file, job.options, job.limits);
  const { frame, source } = await parseUpload(job.file, job.options, job.limits);
  await writeParquetFile(frame, job.outPath);
  return { source };
}

process.on("message", (job: ParseJob) => {
  handle(job).then(
    (value) => process.send?.({ ok: true, value } satisfies JobReply),
    (err: unknown) => {
      const problem = err instanceof ApiError ? err : isDiskFull(err) ? diskFull() : null;
      const reply: JobReply =
        problem
          ? { ok: false, status: problem.status, code: problem.code, detail: problem.message, extra: problem.extra }
          : { ok: false, status: 422, code: "UNPARSEABLE_FILE", detail: `The file could not be read: ${excerpt(err instanceof Error ? err.message : String(err))}` };
      process.send?.(reply);
    },
  );
});
// Parent gone: nothing left to do.
process.on("disconnect", () => process.exit(0));
