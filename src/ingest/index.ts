/**
 * The ingest layer's entry points: an uploaded file on disk → a typed DataFrame plus a SourceInfo
 * saying what was read and how (`parseUpload`), or the dry-run report (`inspectUpload`).
 * Nothing is stored and the upload itself is never deleted here (the caller owns it); temp files
 * this layer makes (transcoded text) are removed before returning.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import pl from "nodejs-polars";
import { describeColumns, nativeDtype } from "../frame/dtype.ts";
import { rowsJsonText } from "../frame/json.ts";
import { frameHeight, frameSeries, lazyOf, nativeSeries } from "../frame/safe.ts";
import type { SheetInfo, SourceInfo } from "../types.ts";
import { ApiError } from "../errors.ts";
import { parseCsv, polarsFailure } from "./csv.ts";
import { detectFormat } from "./detect.ts";
import { parseExcel } from "./excel.ts";
import { inapplicable, type ParseOptions } from "./options.ts";
import { parseParquet, parquetFailure } from "./parquet.ts";
import { checkValueRanges } from "./renderable.ts";
import type { IngestLimits, Parsed, UploadedFile } from "./types.ts";
import { timed } from "../timing.ts";

export type { ColumnReport, IngestLimits, UploadedFile } from "./types.ts";

/** SHA-256 of the file's bytes, streamed (hex). */
export async function sha256File(filePath: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(filePath, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

async function parseAny(file: UploadedFile, options: ParseOptions, limits: IngestLimits, wantReport: boolean): Promise<{ parsed: Parsed; source: SourceInfo }> {
  const detection = await timed("detect", () => detectFormat(file.path, file.originalName, file.sizeBytes, options.encoding));
  const parse = async (): Promise<Parsed> => {
    try {
      // CSV times its own stages (decode, prescan, parse, infer); the other readers are one "parse"
      return detection.family === "text"
        ? await parseCsv(file.path, detection.extension, options, limits, wantReport)
        : detection.family === "excel"
          ? await timed("parse", () => parseExcel(file.path, detection.zipEntries, options, limits, wantReport))
          : await timed("parse", () => parseParquet(file.path, file.sizeBytes, limits));
    } catch (err) {
      // Whatever a reader library throws reaches the client in our words, never as its own message.
      if (err instanceof ApiError) throw err;
      throw detection.family === "parquet" ? parquetFailure(err) : polarsFailure(err, detection.family === "excel" ? "The workbook could not be read" : "The CSV file could not be read");
    }
  };
  // hashed while receiving when the upload came through the API (http/upload.ts); else here, beside the parse
  const [sha256, parsed] = await Promise.all([file.sha256 ?? timed("hash", () => sha256File(file.path)), parse()]);
  const ignored = inapplicable(options, detection.family);
  const notes = [...detection.notes, ...(ignored.length > 0 ? [`The option${ignored.length === 1 ? "" : "s"} ${ignored.join(", ")} ${ignored.length === 1 ? "does" : "do"} not apply to ${detection.family === "excel" ? "Excel" : detection.family === "parquet" ? "Parquet" : "CSV"} files and ${ignored.length === 1 ? "was" : "were"} ignored.`] : []), ...(parsed.source.notes ?? [])];
  const source: SourceInfo = {
    filename: file.originalName,
    format: parsed.source.format ?? detection.format,
    sizeBytes: file.sizeBytes,
    sha256,
    ...parsed.source,
    sheet: parsed.source.sheet ?? null,
    notes,
  };
  if (notes.length === 0) delete source.notes;
  return { parsed, source };
}

/**
 * Parses an uploaded file into a frame and the version's `source` description.
 * @throws ApiError 400 (bad option for this file, e.g. unknown sheet), 413 (column/row limits),
 * 415 (unsupported or contradictory format), 422 (unreadable content, with a human detail).
 */
export async function parseUpload(file: UploadedFile, options: ParseOptions, limits: IngestLimits): Promise<{ frame: pl.DataFrame; source: SourceInfo }> {
  const { parsed, source } = await parseAny(file, options, limits, false);
  return { frame: parsed.frame, source };
}

/** The body of `POST /api/datasets/inspect` (see API.md). */
export interface InspectReport {
  format: SourceInfo["format"];
  encoding: string | null;
  delimiter: string | null;
  header: boolean;
  sheets: SheetInfo[] | null;
  sheet: string | null;
  rowCount: number;
  columns: { name: string; dtype: string; nullCount: number; counterexamples: string[] }[];
  /**
   * JSON text of the first rows (an array of row objects), rendered like pages. Kept as text to
   * the response (routes/datasets.ts splices it in): parsing it in JS would turn `-0.0` into `0` and put
   * integer-like keys first.
   */
  previewJson: string;
  /** Everything ingest would record in the version's `source` (notes, renamed columns, skipped rows). */
  source: SourceInfo;
}

const PREVIEW_ROWS = 20;

/** Parses like an upload and describes the result: types, null counts, counterexamples, first rows. */
export async function inspectUpload(file: UploadedFile, options: ParseOptions, limits: IngestLimits): Promise<InspectReport> {
  const { parsed, source } = await parseAny(file, options, limits, true);
  const frame = parsed.frame;
  // the preview formats values: refuse what an upload would refuse before it does (renderable.ts)
  checkValueRanges(frame);
  const described = describeColumns(frame);
  const nullCounts = frameSeries(frame).map((s) => s.nullCount());
  const examples = new Map((parsed.report ?? []).map((r) => [r.name, r.counterexamples]));
  const previewJson = await rowsJsonText(lazyOf(frame).head(PREVIEW_ROWS), nativeSeries(frame).map((s) => ({ name: s.name, dtype: nativeDtype(s).dtype })));
  return {
    format: source.format,
    encoding: source.encoding ?? null,
    delimiter: source.delimiter ?? null,
    header: source.header ?? options.header,
    sheets: source.sheets ?? null,
    sheet: source.sheet,
    rowCount: frameHeight(frame),
    columns: described.map((c, i) => ({ name: c.name, dtype: c.dtype, nullCount: nullCounts[i] ?? 0, counterexamples: examples.get(c.name) ?? [] })),
    previewJson,
    source,
  };
}
