/**
 * Polars type names as the API reports them (`Int64`, `Datetime(us, UTC)`, `List(Int64)`, …) and
 * the column descriptions stored with each version.
 */
import pl from "nodejs-polars";
import * as DataTypeModule from "nodejs-polars/bin/datatypes/datatype.js";
import type { ColumnInfo } from "../types.ts";
import { nativeSeries } from "./safe.ts";

// the namespace behind the typings' `DataType` (not re-exported by the package's entry point)
const DataTypeNs = DataTypeModule.DataType as unknown as { deserialize(raw: unknown): unknown };

/**
 * The parts of a polars DataType this module reads. `inner` is `protected` in the typings but is
 * the only way to reach time units, time zones, precision and nested types.
 */
interface DtypeParts {
  variant: string;
  inner: unknown;
}

interface FieldParts {
  name: string;
  dtype: pl.DataType;
}

function parts(dt: pl.DataType): DtypeParts {
  return dt as unknown as DtypeParts;
}

/** Time unit and zone of a Datetime dtype (zone null when naive). */
export function datetimeParts(dt: pl.DataType): { unit: "ns" | "us" | "ms"; timeZone: string | null } {
  const inner = parts(dt).inner as [string | undefined, string | null | undefined] | null;
  const unit = inner?.[0];
  return { unit: unit === "ns" || unit === "ms" ? unit : "us", timeZone: inner?.[1] || null };
}

/** The element type of a List/Array dtype. */
export function listInner(dt: pl.DataType): pl.DataType | null {
  const inner = parts(dt).inner as unknown[] | null;
  return (inner?.[0] as pl.DataType | undefined) ?? null;
}

/** The fields of a Struct dtype. */
export function structFields(dt: pl.DataType): FieldParts[] {
  return (parts(dt).inner as FieldParts[] | null) ?? [];
}

/**
 * The API's name for a polars dtype. `durationUnit` overrides the unit of a Duration: the
 * JS-side DataType of nodejs-polars 0.26 always reports `ms` for durations (see `describeColumns`).
 */
export function dtypeName(dt: pl.DataType, durationUnit?: string): string {
  const { variant, inner } = parts(dt);
  switch (variant) {
    case "Bool":
      return "Boolean";
    case "Utf8":
    case "String":
      return "String";
    case "Datetime": {
      const { unit, timeZone } = datetimeParts(dt);
      return timeZone ? `Datetime(${unit}, ${timeZone})` : `Datetime(${unit})`;
    }
    case "Duration":
      return `Duration(${durationUnit ?? (inner as string[] | null)?.[0] ?? "us"})`;
    case "Decimal": {
      const [precision, scale] = (inner as (number | null)[] | null) ?? [];
      return `Decimal(${precision ?? 38}, ${scale ?? 0})`;
    }
    case "List": {
      const el = listInner(dt);
      return `List(${el ? dtypeName(el) : "Null"})`;
    }
    case "FixedSizeList": {
      const [el, size] = (inner as [pl.DataType, number] | null) ?? [];
      return `Array(${el ? dtypeName(el) : "Null"}, ${size ?? 0})`;
    }
    case "Struct":
      return `Struct({${structFields(dt).map((f) => `${JSON.stringify(f.name)}: ${dtypeName(f.dtype)}`).join(", ")}})`;
    default:
      return variant;
  }
}

/** The members of a native (napi) series read here; see `NativeSeries` in safe.ts. */
interface TypedNative {
  readonly name: string;
  readonly dtype: unknown;
  nullCount(): number;
  toString(): string;
}

/**
 * A stand-in DataType for types nodejs-polars cannot describe to JavaScript (reading a Binary
 * series' dtype throws "DataType Binary is not supported for JS conversion"). Only `variant` is
 * read by this codebase; nothing ever casts to it.
 */
function opaque(variant: string): pl.DataType {
  return { variant, inner: null, toString: () => variant } as unknown as pl.DataType;
}

/** The dtype from a native series' printed header (`Series: 'x' [duration[μs]]`). */
function headerDtype(series: TypedNative): string {
  const text = series.toString();
  const header = text.split("\n").find((line) => line.startsWith("Series: ")) ?? "";
  return /\[([^\]]*(?:\][^\]]*)*)\]\s*$/.exec(header)?.[1] ?? "";
}

/**
 * DataType and API name of a native series, without building a JS Series (~0.5 ms each in
 * nodejs-polars, which made a 1000-column schema cost a second). Duration units come from the
 * printed header (the JS-side DataType always says `ms`); Binary, which JS cannot describe at
 * all, becomes an opaque `Binary` type; anything else undescribable is `Unsupported`.
 */
export function nativeDtype(series: TypedNative): { dtype: pl.DataType; name: string } {
  let raw: unknown;
  try {
    raw = series.dtype;
  } catch {
    const header = headerDtype(series);
    const variant = header === "binary" ? "Binary" : "Unsupported";
    return { dtype: opaque(variant), name: variant === "Binary" ? "Binary" : `Unsupported(${header})` };
  }
  const dtype = DataTypeNs.deserialize(raw) as pl.DataType;
  if (parts(dtype).variant !== "Duration") return { dtype, name: dtypeName(dtype) };
  const m = /duration\[(ns|μs|ms)\]/.exec(headerDtype(series));
  const unit = m?.[1] === "μs" ? "us" : (m?.[1] ?? "us");
  return { dtype: pl.Duration(unit as "ms" | "us" | "ns"), name: `Duration(${unit})` };
}

/** Name of a Series' dtype, with the Duration unit read reliably. */
export function seriesDtypeName(series: pl.Series): string {
  return nativeDtype((series as unknown as { _s: TypedNative })._s).name;
}

/** Name, dtype and nullability (at least one null) of every column, in frame order. */
export function describeColumns(df: pl.DataFrame): ColumnInfo[] {
  return (nativeSeries(df) as unknown as TypedNative[]).map((s) => ({ name: s.name, dtype: nativeDtype(s).name, nullable: s.nullCount() > 0 }));
}
