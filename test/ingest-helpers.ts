/** Helpers for the ingest tests: uploads from files on disk and exact row values of frames. */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import pl from "nodejs-polars";
import { seriesDtypeName } from "../src/frame/dtype.ts";
import { frameSeries, lazyOf } from "../src/frame/safe.ts";
import type { UploadedFile } from "../src/ingest/index.ts";
import { DEFAULT_OPTIONS, type ParseOptions } from "../src/ingest/options.ts";

export const FIXTURES = path.resolve(import.meta.dirname, "..", "fixtures");
export const LIMITS = { maxColumns: 2000, maxRows: 1_000_000 };

export function fixture(name: string): UploadedFile {
  const p = path.join(FIXTURES, name);
  return { path: p, originalName: name, sizeBytes: statSync(p).size };
}

export function opts(extra: Partial<ParseOptions> = {}): ParseOptions {
  return { ...DEFAULT_OPTIONS, ...extra };
}

/** A temp dir for generated files; `write` puts a file in it and returns it as an upload. */
export function tempDir(): { write(name: string, content: string | Buffer): UploadedFile; dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ingest-test-"));
  return {
    dir,
    write(name, content) {
      const p = path.join(dir, name);
      writeFileSync(p, content);
      return { path: p, originalName: name, sizeBytes: statSync(p).size };
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Column names and API dtype names. */
export function columnsOf(df: pl.DataFrame): { name: string; dtype: string }[] {
  return frameSeries(df).map((s) => ({ name: s.name, dtype: seriesDtypeName(s) }));
}

/**
 * Rows as the API serialises them (Int64 beyond 2^53 as strings, dates/datetimes as ISO text);
 * Datetime(ns), Time and Duration as their integer count (ns, ns of the day, units) in a string.
 */
export async function rowsOf(df: pl.DataFrame): Promise<unknown[][]> {
  const cols = columnsOf(df);
  // Columns addressed by position (`p0`, …): a name such as `*` or `^a$` is a pattern in pl.col.
  const positional: Record<string, string> = Object.create(null) as Record<string, string>;
  cols.forEach((c, i) => (positional[c.name] = `p${i}`));
  const exprs = cols.map((c, i) => {
    const e = pl.col(`p${i}`);
    const alias = `c${i}`;
    if (c.dtype === "Date") return e.dt.strftime("%Y-%m-%d").alias(alias);
    if (c.dtype === "Datetime(us)") return e.dt.strftime("%Y-%m-%dT%H:%M:%S%.f").alias(alias);
    if (c.dtype === "Datetime(us, UTC)") return e.dt.strftime("%Y-%m-%dT%H:%M:%S%.fZ").alias(alias);
    if (c.dtype === "Int64") return e.cast(pl.String).alias(alias);
    if (c.dtype.startsWith("Decimal(")) return e.cast(pl.String).alias(alias);
    // Nested values as Polars' own JSON text (parsed below): toRecords cannot convert structs.
    if (/^(List|Struct|Array)\(/.test(c.dtype)) return pl.struct([e.alias("v")]).struct.jsonEncode().alias(alias);
    // NaN and ±inf as text (the API shows them as null; ingest tests must tell them apart).
    if (c.dtype === "Float64" || c.dtype === "Float32") return e.cast(pl.Float64).alias(alias);
    // Exact integers for the types JS cannot hold: nanoseconds (since the epoch, of the day) and duration counts.
    if (/^(Datetime\(ns|Time$|Duration)/.test(c.dtype)) return e.cast(pl.Int64).cast(pl.String).alias(alias);
    return e.alias(alias);
  });
  const floats = cols.flatMap((c, i) => (c.dtype === "Float64" || c.dtype === "Float32" ? [pl.when(pl.col(`p${i}`).isFinite().not()).then(pl.col(`p${i}`).cast(pl.String)).otherwise(pl.lit(null).cast(pl.String)).alias(`t${i}`)] : []));
  const records = (await lazyOf(df).rename(positional).select([...exprs, ...floats]).collect()).toRecords() as Record<string, unknown>[];
  return records.map((r) =>
    cols.map((c, i) => {
      let v = r[`c${i}`];
      if (/^(List|Struct|Array)\(/.test(c.dtype)) return typeof v === "string" ? (JSON.parse(v) as { v: unknown }).v : null;
      if ((c.dtype === "Float64" || c.dtype === "Float32") && typeof r[`t${i}`] === "string") v = r[`t${i}`];
      if (c.dtype === "Int64" && typeof v === "string") {
        const n = Number(v);
        return Number.isSafeInteger(n) ? n : v;
      }
      return v ?? null;
    }),
  );
}
