/**
 * Query-worker job for facets: counts over a version's data file under filters and `q=`. The
 * API process validated the parameters (parse errors are 400s before any job runs); the worker
 * computes and renders the values.
 */
import { computeFacets } from "../frame/facets.ts";
import type { Filter } from "../frame/query.ts";
import { scanDataFile } from "../sql/execute.ts";
import type { Version } from "../types.ts";

export interface FacetsJob {
  kind: "facets";
  /** The version's Parquet data file. */
  path: string;
  version: Version;
  columns: string[];
  limit: number;
  filters: Filter[];
  bins: [string, number][];
}

/** The facets body as JSON text. */
export function runFacetsJob(job: FacetsJob): Promise<string> {
  return computeFacets(scanDataFile(job.path), job.version, { columns: job.columns, limit: job.limit, filters: job.filters, bins: new Map(job.bins) });
}
