/** Statistics of a version, whole or of the rows matching filters (frame/stats.ts), in a query worker. */
import { computeStats } from "../frame/stats.ts";
import type { Filter } from "../frame/query.ts";
import type { DataFileRef } from "../storage/types.ts";
import type { Version } from "../types.ts";
import { openDataFile } from "./data-file.ts";
import { defineJob } from "./types.ts";

export interface StatsInput {
  file: DataFileRef;
  version: Version;
  /** Validated filters (frame/query.ts `parseFilters`); none for the whole version. */
  filters?: Filter[];
}

/** The body of GET …/stats. */
export type StatsOutput = { datasetId: string; version: number } & Awaited<ReturnType<typeof computeStats>>;

export const statsJob = defineJob<StatsInput, StatsOutput>("stats", async ({ file, version, filters }) => {
  const stats = await computeStats(await openDataFile(file), version, filters);
  return { datasetId: version.datasetId, version: version.version, ...stats };
});
