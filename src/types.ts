/**
 * The service's own vocabulary: what the API returns and storage keeps. No Polars types here.
 * The shapes are written once, as zod schemas in src/schemas.ts (which also validate, document
 * and type the client); these are their TypeScript types. Add a field there, not here.
 */
import type { z } from "zod";
import type * as S from "./schemas.ts";

export type FileFormat = (typeof S.FILE_FORMATS)[number];
export type SheetInfo = z.output<typeof S.SheetInfo>;
/** Where a version came from and what ingest did to get it (all of it goes into `version.source`). */
export type SourceInfo = z.output<typeof S.SourceInfo>;
export type ColumnInfo = z.output<typeof S.ColumnInfo>;
export type Dataset = z.output<typeof S.Dataset>;
export type Version = z.output<typeof S.Version>;
/** A version in a listing: the same object without `columns`. */
export type VersionSummary = Omit<Version, "columns">;

export function summarize(v: Version): VersionSummary {
  const { columns: _columns, ...rest } = v;
  return rest;
}
