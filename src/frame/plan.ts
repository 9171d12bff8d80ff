/**
 * The shared shape of every query over a version: its schema (cached per version), columns
 * renamed to positional aliases, then filter → sort → projection, all lazy.
 *
 * Column references: `pl.col(name)` treats `*` and `^…$` names as a wildcard/regex, and user
 * files choose column names. When every name is plain (the usual case) queries refer to columns
 * by name. Otherwise the first step renames every column to `c0, c1, …` (`LazyDataFrame.rename`
 * takes names literally) and everything after refers to those. Renaming is the exception
 * because it costs: nodejs-polars 0.26 sinks stop streaming (memory grows with the data) once a
 * plan renames or aliases columns.
 */
import pl from "nodejs-polars";
import { badRequest } from "../errors.ts";
import { unknownColumn } from "../suggest.ts";
import type { Version } from "../types.ts";
import { nativeDtype } from "./dtype.ts";
import { cached, colExpr } from "./exprcache.ts";
import { filterExpr } from "./query.ts";
import { searchExpr } from "./search.ts";
import type { Filter, SortKey } from "./query.ts";
import { nativeSeries } from "./safe.ts";

export interface FrameSchema {
  names: string[];
  dtypes: pl.DataType[];
  /** API dtype names (`Int64`, `Datetime(us, UTC)`, …), index-aligned with `names`. */
  dtypeNames: string[];
  /** Whether queries refer to columns by their own names (all plain) rather than by aliases. */
  direct: boolean;
  /** Column name → the name queries use for it: itself when `direct`, else `c0`, `c1`, …. */
  aliasOf: Map<string, string>;
  /** Index-aligned with `names`: the name queries use for each column. */
  refs: string[];
  /** Column name → index. */
  indexOf: Map<string, number>;
}

const SCHEMA_CACHE_SIZE = 512;
const schemas = new Map<string, FrameSchema>();

/** Versions are immutable, so a version's schema is read once (one empty collect) and kept. */
export async function schemaOf(lf: pl.LazyDataFrame | (() => pl.LazyDataFrame), version: Version): Promise<FrameSchema> {
  const key = `${version.datasetId}\u0000${version.version}\u0000${version.createdAt}`;
  const hit = schemas.get(key);
  if (hit) {
    // refresh its place in the LRU order
    schemas.delete(key);
    schemas.set(key, hit);
    return hit;
  }
  const empty = await (typeof lf === "function" ? lf() : lf).limit(0).collect();
  const series = nativeSeries(empty) as unknown as Parameters<typeof nativeDtype>[0][];
  const names = series.map((s) => s.name);
  const types = series.map((s) => nativeDtype(s));
  const direct = names.every(isPlainName);
  const refs = names.map((n, i) => (direct ? n : `c${i}`));
  const schema: FrameSchema = {
    names,
    dtypes: types.map((t) => t.dtype),
    dtypeNames: types.map((t) => t.name),
    direct,
    aliasOf: new Map(names.map((n, i) => [n, refs[i] as string])),
    refs,
    indexOf: new Map(names.map((n, i) => [n, i])),
  };
  schemas.set(key, schema);
  if (schemas.size > SCHEMA_CACHE_SIZE) schemas.delete(schemas.keys().next().value as string);
  return schema;
}

/** Drops the cached schema of a version (see page.ts `forgetVersion`). */
export function forgetSchema(datasetId: string, version: number): void {
  const prefix = `${datasetId}\u0000${version}\u0000`;
  for (const key of schemas.keys()) if (key.startsWith(prefix)) schemas.delete(key);
}

/** Whether `pl.col(name)` means exactly the column called `name` (not a wildcard or regex). */
export function isPlainName(name: string): boolean {
  return name !== "*" && !(name.startsWith("^") && name.endsWith("$"));
}

/** The alias of a column, or 400 naming it when the version has no such column. */
export function aliasFor(schema: FrameSchema, name: string): string {
  const alias = schema.aliasOf.get(name);
  if (alias === undefined) throw unknownColumn(name, schema.names);
  return alias;
}

/** Validates a projection (known, distinct names); all columns in frame order when absent. */
export function projection(schema: FrameSchema, columns: string[] | undefined): string[] {
  if (!columns) return schema.names;
  if (columns.length === 0) throw badRequest("columns must name at least one column.", { parameter: "columns" });
  const seen = new Set<string>();
  for (const c of columns) {
    aliasFor(schema, c);
    if (seen.has(c)) throw badRequest(`Column "${c}" is listed twice in columns.`, { column: c });
    seen.add(c);
  }
  return columns;
}

/** The lazy frame with its columns under the names queries use (renamed only when needed). */
export function aliased(lf: pl.LazyDataFrame, schema: FrameSchema): pl.LazyDataFrame {
  return schema.direct ? lf : lf.rename(Object.fromEntries(schema.aliasOf));
}

/** The AND of the filters as one predicate over aliased columns, or null without filters. */
export function predicate(schema: FrameSchema, filters: Filter[] | undefined): pl.Expr | null {
  if (!filters || filters.length === 0) return null;
  const parts = filters.map((f) => {
    if (f.op === "search") {
      // q=: every text column of the version (Categorical compared as its text)
      const text = schema.refs.flatMap((ref, i) => {
        const dt = schema.dtypeNames[i] ?? "";
        if (dt === "String") return [colExpr(ref)];
        return dt === "Categorical" || dt.startsWith("Enum") ? [colExpr(ref).cast(pl.Utf8)] : [];
      });
      return { key: `search\u0000${schema.refs.join("\u0000")}\u0001${schema.dtypeNames.join("\u0000")}\u0001${f.values[0] ?? ""}`, build: () => searchExpr(text, f.values[0] ?? "") };
    }
    const i = schema.indexOf.get(f.column);
    if (i === undefined) throw unknownColumn(f.column, schema.names, { lead: `Filter "${f.raw}" names unknown column "${f.column}".`, extra: { filter: f.raw } });
    const dtype = schema.dtypeNames[i] ?? "";
    // alias + dtype + op + values fully determine the predicate
    const ref = schema.refs[i] as string;
    return { key: `${ref}\u0000${dtype}\u0000${f.op}\u0000${f.values.join("\u0000")}`, build: () => filterExpr(f, colExpr(ref), dtype) };
  });
  return cached(`filter\u0001${parts.map((p) => p.key).join("\u0001")}`, () =>
    parts.map((p) => cached(`filter\u0001${p.key}`, p.build)).reduce((a, b) => a.and(b)),
  );
}

/** Filtered rows (aliased columns, all of them), before sorting. */
export function filtered(lf: pl.LazyDataFrame, schema: FrameSchema, filters: Filter[] | undefined): pl.LazyDataFrame {
  const base = aliased(lf, schema);
  const p = predicate(schema, filters);
  return p ? base.filter(p) : base;
}

/** The sort key of a column: floats with NaN as null, so NaN sorts with the nulls (last). */
function sortKey(schema: FrameSchema, column: string): pl.Expr {
  const ref = aliasFor(schema, column);
  const dtype = schema.dtypeNames[schema.indexOf.get(column) as number];
  if (dtype !== "Float32" && dtype !== "Float64") return colExpr(ref);
  return cached(`sortkey\u0000${ref}`, () => {
    const c = colExpr(ref);
    return pl.when(c.isNan()).then(pl.lit(null)).otherwise(c);
  });
}

/** Stable multi-key sort, nulls (and NaN) last; the input unchanged without keys. */
export function sorted(lf: pl.LazyDataFrame, schema: FrameSchema, sort: SortKey[] | undefined): pl.LazyDataFrame {
  if (!sort || sort.length === 0) return lf;
  return lf.sort({
    by: sort.map((k) => sortKey(schema, k.column)),
    descending: sort.map((k) => k.descending),
    nullsLast: true,
    maintainOrder: true,
  });
}
