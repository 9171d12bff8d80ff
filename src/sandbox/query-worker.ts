/**
 * Entry point of a query worker (see pool.ts): runs one job at a time, dispatched by kind on the
 * registry in jobs/registry.ts. Never serves HTTP and never holds the registry of datasets.
 */
import { ApiError, excerpt, queryLimit } from "../errors.ts";
import { JOBS, type JobMessage } from "../jobs/registry.ts";
import { serve } from "./child.ts";

serve(
  async (message) => {
    const { kind, input } = message as JobMessage;
    const job = JOBS[kind];
    if (!job) throw new ApiError(500, "INTERNAL", `Unknown job kind ${String(kind)}.`);
    return (job.run as (input: unknown) => Promise<unknown>)(input);
  },
  (err) => {
    const e = queryLimit(`The query failed: ${excerpt(err instanceof Error ? err.message : String(err), 200)}.`);
    return { ok: false, status: e.status, code: e.code, detail: e.message };
  },
);
