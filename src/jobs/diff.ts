/**
 * Comparing two versions (frame/diff.ts) in a query worker, over both versions' data files
 * (each verified against its checksum first): `diff` computes the summary and the positions of
 * the differing rows; `diffRows` renders one page of them (values are formatted here, never in
 * the API process). The API process caches the positions per numbered pair and key
 * (src/diff-service.ts) and sends each page only the slice it shows.
 */
import { ApiError, queryLimit } from "../errors.ts";
import { diffFrames, diffRowsPage, type DiffKind, type DiffResult, type DiffRowsPage } from "../frame/diff.ts";
import type { DataFileRef } from "../storage/types.ts";
import { openDataFile } from "./data-file.ts";
import { defineJob } from "./types.ts";

export interface DiffInput {
  from: DataFileRef;
  to: DataFileRef;
  key: string[];
  /** How the versions are named in errors (their numbers). */
  labels: { from: string; to: string };
}

export interface DiffRowsInput {
  from: DataFileRef;
  to: DataFileRef;
  key: string[];
  kind: DiffKind;
  /** The page's slice of the cached positions (DiffResult.positions). */
  positions: DiffResult["positions"];
}

/** A Polars failure while comparing is the versions' shapes, not a server fault: a 422 in our words. */
async function worded<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const first = String((error as Error)?.message ?? error).split("\n")[0]?.slice(0, 300) ?? "";
    throw queryLimit(`These versions cannot be compared this way: the query engine refused (${first}). Compare by a key of simple columns, or without the columns whose types differ.`);
  }
}

export const diffJob = defineJob<DiffInput, DiffResult>("diff", async ({ from, to, key, labels }) => {
  const [a, b] = await Promise.all([openDataFile(from), openDataFile(to)]);
  return worded(() => diffFrames(a, b, key, labels));
});

export const diffRowsJob = defineJob<DiffRowsInput, DiffRowsPage>("diffRows", async ({ from, to, key, kind, positions }) => {
  const [a, b] = await Promise.all([openDataFile(from), openDataFile(to)]);
  const slice: DiffResult = { key, schema: { added: [], removed: [], changed: [] }, rows: { added: 0, removed: 0, changed: 0, unchanged: 0 }, positions };
  return worded(() => diffRowsPage(a, b, slice, kind, 0, Number.MAX_SAFE_INTEGER));
});
