/**
 * Entry point of a query worker (see pool.ts): runs one job at a time, dispatched by kind on the
 * registry in jobs/registry.ts. Never serves HTTP and never holds the registry of datasets.
 */
import pl from "nodejs-polars";
import { ApiError, queryLimit } from "../errors.ts";
import { computeStats } from "../frame/stats.ts";
import { lazyOf } from "../frame/safe.ts";
import { JOBS, type JobMessage } from "../jobs/registry.ts";
import type { Version } from "../types.ts";
import { serve } from "./child.ts";

/**
 * Before taking jobs (the parent counts deadlines from "ready"): statistics of a one-row frame of
 * the common dtypes, so the first real job does not pay for building Polars expressions in JS.
 */
async function warmUp(): Promise<void> {
  const frame = pl.DataFrame([
    pl.Series("i", [1], pl.Int64),
    pl.Series("f", [1.5], pl.Float64),
    pl.Series("s", ["a"], pl.String),
    pl.Series("b", [true], pl.Bool),
    pl.Series("d", [new Date(0)], pl.Date),
    pl.Series("t", [new Date(0)], pl.Datetime("us")),
  ]);
  const version = { datasetId: "warm-up", version: 1, createdAt: String(process.pid), rowCount: 1, columnCount: 6, columns: [] } as unknown as Version;
  try {
    await computeStats(lazyOf(frame), version);
  } catch {
    // a warm-up only
  }
}

await warmUp();

serve(
  async (message) => {
    const { kind, input } = message as JobMessage;
    const job = JOBS[kind];
    if (!job) throw new ApiError(500, "INTERNAL", `Unknown job kind ${String(kind)}.`);
    return (job.run as (input: unknown) => Promise<unknown>)(input);
  },
  // job kinds word their own errors (ApiError); anything else is a bug, told in our words only
  () => {
    const e = queryLimit("The query failed inside the query engine; nothing else was affected.");
    return { ok: false, status: e.status, code: e.code, detail: e.message, extra: { reason: "error" } };
  },
);
