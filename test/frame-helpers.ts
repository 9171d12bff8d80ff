/** Helpers for the frame tests: a Version object describing an in-memory frame. */
import type pl from "nodejs-polars";
import { describeColumns } from "../src/frame/dtype.ts";
import { frameHeight } from "../src/frame/safe.ts";
import type { Version } from "../src/types.ts";

let nextId = 0;

/** A version 1 of a fresh dataset id (so per-version caches never mix tests up). */
export function versionOf(df: pl.DataFrame, prefix = "frame-test"): Version {
  nextId += 1;
  const columns = describeColumns(df);
  return {
    datasetId: `${prefix}-${nextId}`,
    version: 1,
    createdAt: "2024-01-01T00:00:00.000Z",
    source: { filename: "x.csv", format: "csv", sizeBytes: 0, sha256: "", sheet: null },
    rowCount: frameHeight(df),
    columnCount: columns.length,
    columns,
  };
}
