/**
 * Entry point of a query-worker child for SQL and facets jobs (run by sandbox/pool.ts with
 * QUERY_TIMEOUT_MS and QUERY_MEMORY_MB). Provisional until the shared query-worker pool and its
 * job registry land in src/jobs/: the handlers (sql.ts, facets.ts) are what moves there.
 */
import { ApiError, excerpt } from "../errors.ts";
import type { JobReply } from "../sandbox/pool.ts";
import { runFacetsJob, type FacetsJob } from "./facets.ts";
import { runSqlJob, type SqlJob } from "./sql.ts";

export type QueryJob = SqlJob | FacetsJob;

function handle(job: QueryJob): Promise<unknown> {
  return job.kind === "facets" ? runFacetsJob(job) : runSqlJob(job);
}

process.on("message", (job: QueryJob) => {
  handle(job).then(
    (value) => process.send?.({ ok: true, value } satisfies JobReply),
    (err: unknown) => {
      const reply: JobReply =
        err instanceof ApiError
          ? { ok: false, status: err.status, code: err.code, detail: err.message, extra: err.extra }
          : { ok: false, status: 400, code: "BAD_REQUEST", detail: `The query could not be run: ${excerpt(err instanceof Error ? err.message : String(err))}` };
      process.send?.(reply);
    },
  );
});
process.on("disconnect", () => process.exit(0));
