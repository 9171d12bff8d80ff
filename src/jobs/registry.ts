/**
 * Every job kind a query worker runs, by name: the worker (sandbox/query-worker.ts) dispatches on
 * this table, and the API process (sandbox/queries.ts) takes its types from it.
 *
 * Adding a kind (e.g. `diff`, `sql`, `facets`, `verifyArchive`) is one file and one line:
 * 1. `src/jobs/<kind>.ts` exports `defineJob<Input, Output>("<kind>", async (input) => …)`.
 *    Inputs name version data files (`DataFileRef`, from `VersionData.dataFile()`) and plain
 *    parameters; open files with `openDataFile` (verifies the checksum). Outputs are small JSON,
 *    typed arrays, or files written in a folder the input names (the API streams and removes them).
 *    Anything that formats values that did not come from ingest (SQL results, diff rows) is rendered
 *    here, in the worker, never in the API process.
 * 2. Add it to `JOBS` below.
 * 3. Call it from the API process with `queries.runOnVersion(data, "<kind>", (file) => input)`
 *    (or `queries.run` when no version is involved); limits, fairness and a damaged file's
 *    exclusion come with it.
 */
import { diffJob, diffRowsJob } from "./diff.ts";
import { exportJob } from "./export.ts";
import { facetsJob } from "./facets.ts";
import { pageJob } from "./page.ts";
import { proveStoredJob } from "./prove-stored.ts";
import { rowOrderJob } from "./row-order.ts";
import { sqlDownloadJob, sqlPageJob } from "./sql.ts";
import { statsJob } from "./stats.ts";

export const JOBS = {
  stats: statsJob,
  rowOrder: rowOrderJob,
  page: pageJob,
  export: exportJob,
  proveStored: proveStoredJob,
  facets: facetsJob,
  sqlPage: sqlPageJob,
  sqlDownload: sqlDownloadJob,
  diff: diffJob,
  diffRows: diffRowsJob,
} as const;

export type JobKind = keyof typeof JOBS;
export type JobInput<K extends JobKind> = Parameters<(typeof JOBS)[K]["run"]>[0];
export type JobOutput<K extends JobKind> = Awaited<ReturnType<(typeof JOBS)[K]["run"]>>;

/** What the API process sends a query worker. */
export interface JobMessage<K extends JobKind = JobKind> {
  kind: K;
  input: JobInput<K>;
}
