/**
 * Query-worker job for facets: counts over a version's data file under filters and `q=`. The API
 * process validated the parameters (bad ones are 400s before any job runs); the worker computes
 * the counts and renders the values.
 */
import { computeFacets } from "../frame/facets.ts";
import type { Filter } from "../frame/query.ts";
import type { DataFileRef } from "../storage/types.ts";
import type { Version } from "../types.ts";
import { openDataFile } from "./data-file.ts";
import { defineJob } from "./types.ts";

export interface FacetsInput {
  file: DataFileRef;
  version: Version;
  columns: string[];
  limit: number;
  filters: Filter[];
  bins: [string, number][];
}

/** The facets body (without datasetId/version) as JSON text. */
export const facetsJob = defineJob<FacetsInput, string>("facets", async (job) =>
  computeFacets(await openDataFile(job.file), job.version, { columns: job.columns, limit: job.limit, filters: job.filters, bins: new Map(job.bins) }),
);
