/**
 * Polars type names as the API reports them (`Int64`, `Datetime(us, UTC)`, `List(Int64)`, …) and
 * the column descriptions stored with each version.
 */
import type pl from "nodejs-polars";
import type { ColumnInfo } from "../types.ts";
import { frameSeries } from "./safe.ts";

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

/** Reads a Duration series' unit from its printed header (`[duration[μs]]`). */
function durationUnitOf(series: pl.Series): string | undefined {
  const header = String(series.head(0)).split("\n")[1] ?? "";
  const m = /\[duration\[(ns|μs|ms)\]\]\s*$/.exec(header);
  return m?.[1] === "μs" ? "us" : m?.[1];
}

/** Name of a Series' dtype, with the Duration unit read reliably. */
export function seriesDtypeName(series: pl.Series): string {
  const dt = series.dtype;
  return dtypeName(dt, parts(dt).variant === "Duration" ? durationUnitOf(series) : undefined);
}

/** Name, dtype and nullability (at least one null) of every column, in frame order. */
export function describeColumns(df: pl.DataFrame): ColumnInfo[] {
  return frameSeries(df).map((s) => ({ name: s.name, dtype: seriesDtypeName(s), nullable: s.nullCount() > 0 }));
}
