/**
 * Proof of a data file written by an earlier build (local layout 1: no checksum, never proven
 * renderable): the same render proof uploads pass in the parser child, then a checksum, so the
 * version can be recorded as layout 2. Runs in a query worker because the proof may crash.
 */
import pl from "nodejs-polars";
import { describeColumns } from "../frame/dtype.ts";
import { frameHeight } from "../frame/safe.ts";
import { proveRenderable } from "../ingest/renderable.ts";
import { step } from "../sandbox/child.ts";
import { checksumFile, type Checksum } from "../storage/checksum.ts";
import type { ColumnInfo } from "../types.ts";
import { defineJob } from "./types.ts";

export interface ProveStoredInput {
  file: string;
}

export interface ProveStoredOutput {
  checksum: Checksum;
  columns: ColumnInfo[];
  rowCount: number;
}

export const proveStoredJob = defineJob<ProveStoredInput, ProveStoredOutput>("proveStored", async ({ file }) => {
  // hashed first: the checksum then covers exactly the bytes the proof reads next
  const checksum = await checksumFile(file);
  step("read the stored file");
  const frame = await pl.scanParquet(file, { glob: false, hivePartitioning: false }).collect();
  await proveRenderable(frame, step);
  return { checksum, columns: describeColumns(frame), rowCount: frameHeight(frame) };
});
