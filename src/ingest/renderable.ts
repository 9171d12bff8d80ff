/**
 * Render proof: before a version is stored, prove that every value in it can be rendered in every
 * format the service serves, or refuse the file with 422 UNPARSEABLE_FILE naming the column, the
 * row and the problem. Runs in the parser child (and, for versions written by an older build, in a
 * query worker): Polars' temporal formatting panics on out-of-range values inside a function that
 * cannot unwind, which aborts the whole process, so it must never first meet such a value in the
 * API process.
 *
 * Two steps, cheap first:
 * 1. Range checks on physical values (native min/max per column, no expressions): dates and
 *    datetimes within years −99,999 to 99,999 (Polars' formatter handles about ±262,000; the margin
 *    covers time-zone shifts and histogram edges), times of day within 00:00–24:00. Inside structs
 *    (field by field) and lists (their elements) too.
 * 2. Actual rendering of the rows that hold each column's extremes (plus the first and last row)
 *    through the primitives every output path uses (the page writer path: per-column strftime /
 *    casts, then Polars' JSON writer; the fragments path: Polars' JSON encoder), then through the
 *    serving code itself: `readPage` in both shapes (in-memory and lazy) and `writeDownload` in
 *    every download format. If a formatter still panics, only this child
 *    dies; a marker written to stderr before each step tells the parent which format it was.
 * Both steps are linear in the number of columns with a small constant (native calls and one
 * writer call per format), so they cost a small fraction of the parse.
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import pl from "nodejs-polars";
import { _DataFrame } from "nodejs-polars/bin/dataframe.js";
import nativeBinding from "nodejs-polars/bin/native-polars.js";
import { excerpt, unparseable } from "../errors.ts";
import { DOWNLOAD_FORMATS, writeDownload } from "../frame/download.ts";
import { datetimeFormat, TEMPORAL_FORMATS } from "../frame/json.ts";
import { forgetVersion, readPage } from "../frame/page.ts";
import { frameHeight, lazyOf, nativeSeries, type NativeSeries } from "../frame/safe.ts";
import type { Version } from "../types.ts";

/** The years the service handles in dates and datetimes (inclusive). */
export const MIN_YEAR = -99_999;
export const MAX_YEAR = 99_999;

const NS_PER_DAY = 86_400_000_000_000;
const UNITS_PER_DAY: Record<string, bigint> = { ms: 86_400_000n, us: 86_400_000_000n, ns: 86_400_000_000_000n };
/** Rows rendered at most (the extremes of 2,000 columns fit). */
const MAX_PROOF_ROWS = 8192;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

/** The proleptic Gregorian year of a day number. */
export function yearOfDays(days: number): number {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  return yoe + era * 400 + (month <= 2 ? 1 : 0);
}

export const MIN_DAYS = daysFromCivil(MIN_YEAR, 1, 1);
export const MAX_DAYS = daysFromCivil(MAX_YEAR, 12, 31);

/** What the step callback hears before each risky call (the parser child writes it to stderr). */
export type StepListener = (what: string) => void;

interface NativeColumn extends NativeSeries {
  toPhysical(): NativeColumn;
  argMax(): number | null;
  argMin(): number | null;
  explode(): NativeColumn;
  structToFrame(): { getColumns(): NativeColumn[] };
  strftime(format: string): NativeColumn;
  cast(dtype: pl.DataType, strict: boolean): NativeColumn;
  slice(offset: number, length: number): NativeColumn;
  len(): number;
}

interface NativeFrame {
  take(indices: number[]): NativeFrame;
  getColumns(): NativeColumn[];
  writeJson(dest: Writable, options: { format: "json" }): void;
}

const JsDataFrame = (nativeBinding as unknown as { JsDataFrame: new (columns: NativeSeries[]) => NativeFrame }).JsDataFrame;

function variantOf(dtype: NativeSeries["dtype"]): string {
  return typeof dtype === "string" ? dtype : dtype.variant;
}

function innerOf(dtype: NativeSeries["dtype"]): unknown {
  return typeof dtype === "string" ? null : dtype.inner;
}

function num(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  const n = Number(value);
  return Number.isNaN(n) ? null : n;
}

function formatYear(year: number): string {
  return year.toLocaleString("en-US");
}

const HANDLED = `the service handles dates and times from year ${formatYear(MIN_YEAR)} to ${formatYear(MAX_YEAR)}`;

function refuse(column: string, row: number | null, what: string, handled: string): never {
  const where = row === null ? "" : ` (row ${row + 1})`;
  throw unparseable(`Column ${JSON.stringify(column)} holds ${what}${where}; ${handled}. Nothing was stored.`, { column, ...(row === null ? {} : { row: row + 1 }) });
}

/**
 * Step 1: throws 422 naming the first column (and row) whose values lie outside what the
 * formatters handle. `rowsMap` is false inside lists, where element positions are not rows.
 */
function checkColumn(s: NativeColumn, name: string, rowsMap: boolean): void {
  const dtype = s.dtype;
  const v = variantOf(dtype);
  if (v === "Struct") {
    for (const field of s.structToFrame().getColumns()) checkColumn(field, `${name}.${field.name}`, rowsMap);
    return;
  }
  if (v === "List" || v === "FixedSizeList" || v === "Array") {
    checkColumn(s.explode(), name, false);
    return;
  }
  if (v !== "Date" && v !== "Datetime" && v !== "Time") return;
  const physical = s.toPhysical();
  const lo = num(physical.min());
  const hi = num(physical.max());
  if (lo === null || hi === null) return;
  const rowOf = (which: "min" | "max") => (rowsMap ? (which === "min" ? physical.argMin() : physical.argMax()) : null);
  if (v === "Date") {
    if (lo < MIN_DAYS) refuse(name, rowOf("min"), `a date in year ${formatYear(yearOfDays(lo))}`, HANDLED);
    if (hi > MAX_DAYS) refuse(name, rowOf("max"), `a date in year ${formatYear(yearOfDays(hi))}`, HANDLED);
    return;
  }
  if (v === "Time") {
    if (lo < 0) refuse(name, rowOf("min"), "a negative time of day", "times of day must lie within 00:00:00–23:59:59.999999999");
    if (hi >= NS_PER_DAY) refuse(name, rowOf("max"), `a time of day of ${Math.floor(hi / 3.6e12)} hours or more`, "times of day must lie within 00:00:00–23:59:59.999999999");
    return;
  }
  const unit = String((innerOf(dtype) as unknown[] | null)?.[0] ?? "us");
  const perDay = UNITS_PER_DAY[unit] ?? (UNITS_PER_DAY.us as bigint);
  // min/max arrive as doubles; the extremes themselves are read exactly (as text of the integer)
  const exact = (which: "min" | "max"): bigint => {
    const row = which === "min" ? physical.argMin() : physical.argMax();
    const text = row === null ? undefined : physical.slice(row, 1).cast(pl.Utf8, false).toArray()[0];
    return typeof text === "string" ? BigInt(text) : BigInt(Math.round(which === "min" ? lo : hi));
  };
  const floorDiv = (a: bigint, b: bigint) => (a >= 0n ? a / b : -((-a + b - 1n) / b));
  const daysLo = Number(floorDiv(exact("min"), perDay));
  const daysHi = Number(floorDiv(exact("max"), perDay));
  if (daysLo < MIN_DAYS) refuse(name, rowOf("min"), `a date-time in year ${formatYear(yearOfDays(daysLo))}`, HANDLED);
  if (daysHi > MAX_DAYS) refuse(name, rowOf("max"), `a date-time in year ${formatYear(yearOfDays(daysHi))}`, HANDLED);
}

/** Step 1 over every column. Throws 422 UNPARSEABLE_FILE naming the column and row. */
export function checkValueRanges(frame: pl.DataFrame): void {
  for (const s of nativeSeries(frame) as NativeColumn[]) checkColumn(s, s.name, true);
}

/** The rows to render: first, last, and each column's physical extremes. */
function proofRows(columns: NativeColumn[], height: number): number[] {
  const rows = new Set<number>([0, height - 1]);
  for (const s of columns) {
    if (rows.size >= MAX_PROOF_ROWS) break;
    const v = variantOf(s.dtype);
    if (v === "Struct" || v === "List" || v === "FixedSizeList" || v === "Array" || v === "Null" || v === "Object") continue;
    // Text and booleans render the same whatever their order (escaping, quoting): their extremes
    // prove nothing the first and last rows do not, and finding text's cost ~12 ms per 200k-row
    // upload with four text columns (string comparisons), more than every other column together.
    if (v === "String" || v === "Utf8" || v === "Bool" || v === "Boolean") continue;
    try {
      const physical = v === "Date" || v === "Datetime" || v === "Time" || v === "Duration" ? s.toPhysical() : s;
      for (const r of [physical.argMin(), physical.argMax()]) if (typeof r === "number" && r >= 0 && r < height) rows.add(r);
    } catch {
      // a dtype without an order (e.g. Decimal's Int128 in this build): first and last rows stand for it
    }
  }
  return [...rows].filter((r) => r >= 0 && r < height).sort((a, b) => a - b);
}

/** The writer path's conversion of one column (as page.ts does per page), or the column itself. */
function writerReady(s: NativeColumn): NativeColumn {
  const v = variantOf(s.dtype);
  if (v === "Date") return s.strftime(TEMPORAL_FORMATS.date);
  if (v === "Datetime") return s.strftime(datetimeFormat({ variant: "Datetime", inner: innerOf(s.dtype) } as unknown as pl.DataType));
  if (v === "Decimal" || v === "Categorical" || v === "Time") return s.cast(pl.Utf8, false);
  return s;
}

function jsonText(frame: NativeFrame): number {
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      done(null);
    },
  });
  frame.writeJson(sink, { format: "json" });
  sink.end();
  return bytes;
}

/**
 * Step 2: renders the extreme rows in every output format. Throws (422) when a writer reports an
 * error; a writer that panics takes the process down, which the caller's pool reports.
 */
export async function renderExtremes(frame: pl.DataFrame, onStep: StepListener = () => {}): Promise<void> {
  const height = frameHeight(frame);
  if (height === 0) return;
  const all = new JsDataFrame(nativeSeries(frame));
  const proof = all.take(proofRows(all.getColumns(), height));
  const columns = proof.getColumns();
  const wrapped = _DataFrame(proof) as pl.DataFrame;

  const attempt = async (what: string, render: () => unknown): Promise<void> => {
    onStep(`render ${what}`);
    try {
      await render();
    } catch (error) {
      throw unparseable(`The file's values cannot be rendered as ${what}: ${excerpt(error instanceof Error ? error.message : String(error), 200)}. Nothing was stored.`);
    }
  };
  await attempt("JSON pages (writer path)", () => jsonText(new JsDataFrame(columns.map(writerReady))));
  await attempt("JSON pages (fragments path)", () => lazyOf(wrapped).select(pl.struct(pl.all()).struct.jsonEncode().alias("row")).collect());

  // Then the real serving code on the same rows: pages through both shapes (the in-memory path
  // and the lazy path a cold version takes) and every download format, exactly as a request
  // would run them, so a format the frame layer handles itself (nested values in CSV, durations,
  // binary) is proven the way it is served.
  const proofVersion: Version = {
    datasetId: `render-proof-${randomUUID()}`,
    version: 1,
    createdAt: new Date(0).toISOString(),
    source: { filename: "proof", format: "parquet", sizeBytes: 0, sha256: "", sheet: null },
    rowCount: frameHeight(wrapped),
    columnCount: columns.length,
    columns: [],
  };
  const dir = await mkdtemp(path.join(tmpdir(), "render-proof-"));
  try {
    for (const shape of ["objects", "arrays"] as const) {
      await attempt(`JSON pages (${shape})`, () => readPage(lazyOf(wrapped), proofVersion, { offset: 0, limit: MAX_PROOF_ROWS }, shape, wrapped));
      await attempt(`JSON pages (${shape}, from disk)`, () => readPage(lazyOf(wrapped), proofVersion, { offset: 0, limit: MAX_PROOF_ROWS }, shape));
    }
    for (const format of DOWNLOAD_FORMATS) {
      await attempt(format.toUpperCase(), async () => {
        const file = await writeDownload(lazyOf(wrapped), proofVersion, { format }, { dir });
        await file.cleanup();
      });
    }
    onStep("render done");
  } finally {
    forgetVersion(proofVersion.datasetId, proofVersion.version);
    await rm(dir, { recursive: true, force: true });
  }
}

/** Both steps: the proof every stored version passes. */
export async function proveRenderable(frame: pl.DataFrame, onStep?: StepListener): Promise<void> {
  checkValueRanges(frame);
  await renderExtremes(frame, onStep);
}
