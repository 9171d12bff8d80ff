/**
 * The row numbers of a version that pass filters, in sort order: what the API process needs to
 * serve every page of a filtered/sorted query from its in-memory frame by gathering (frame/page.ts
 * keeps them in a bounded cache). Comes back as a Uint32Array, transferred, not copied to JSON.
 */
import pl from "nodejs-polars";
import { filtered, schemaOf, sorted, type FrameSchema } from "../frame/plan.ts";
import type { Filter, SortKey } from "../frame/query.ts";
import { nativeSeries } from "../frame/safe.ts";
import type { DataFileRef } from "../storage/types.ts";
import type { Version } from "../types.ts";
import { openDataFile } from "./data-file.ts";
import { defineJob } from "./types.ts";

export interface RowOrderInput {
  file: DataFileRef;
  version: Version;
  filters: Filter[];
  sort: SortKey[];
}

/** A column name for the row index that no column of the version (or its alias) has. */
function rowIndexName(schema: FrameSchema): string {
  let name = "\u0000row";
  while (schema.indexOf.has(name) || schema.refs.includes(name)) name += "_";
  return name;
}

export const rowOrderJob = defineJob<RowOrderInput, Uint32Array>("rowOrder", async ({ file, version, filters, sort }) => {
  const lf = await openDataFile(file);
  const schema = await schemaOf(lf, version);
  const idx = rowIndexName(schema);
  const out = await sorted(filtered(lf.withRowIndex(idx), schema, filters), schema, sort).select(pl.col(idx)).collect();
  const column = nativeSeries(out)[0] as unknown as { toTypedArray(): unknown; toArray(): unknown[] };
  const typed = column.toTypedArray();
  return typed instanceof Uint32Array ? typed : Uint32Array.from(column.toArray() as (number | bigint)[], Number);
});
