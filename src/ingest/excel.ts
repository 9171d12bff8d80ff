/**
 * Excel ingest (.xlsx, .xlsm, .xls) with SheetJS.
 *
 * SheetJS parses synchronously, so this blocks the calling thread; issue 5 moves it into the
 * isolated parser child. Decisions:
 * - Cells are read with `cellDates: false` and `cellNF: true`: a date is a number whose format is a
 *   date format, converted here from the serial number (1900 or 1904 system) to UTC-free wall time,
 *   rounded to the millisecond. SheetJS's own Date conversion depends on the process time zone
 *   (off by seconds to hours), which would make dates depend on the server.
 * - The used range is recomputed from real cells (never the declared `!ref`, which may be
 *   A1:XFD1048576); leading/trailing empty rows and columns fall outside it.
 * - Column types: all-integral safe numbers → Int64, other numbers → Float64, booleans → Boolean,
 *   dates → Date (Datetime(us) when any has a time part), text → String; a column mixing kinds is
 *   String with each value as Excel displays it (noted). Error cells (#DIV/0!, …) and empty-string
 *   cells are null (errors are noted).
 */
import { readFile } from "node:fs/promises";
import pl from "nodejs-polars";
import XLSX from "xlsx";
import { badRequest, tooLarge, unparseable, unsupported } from "../errors.ts";
import type { SheetInfo, SourceInfo } from "../types.ts";
import { frameSeries, lazyOf } from "../frame/safe.ts";
import { polarsFailure } from "./csv.ts";
import { castTo, fitsForced, present, type Candidate } from "./infer.ts";
import { positionalNames, uniqueNames } from "./names.ts";
import type { ForcedType, ParseOptions } from "./options.ts";
import { DEFAULT_MEMORY_BYTES, type ColumnReport, type IngestLimits, type Parsed } from "./types.ts";
import { verifyWorkbookZip, type ZipEntry } from "./zip.ts";

const DAY_MS = 86_400_000;
/** SheetJS holds the whole inflated XML plus ~100 bytes per cell: an eighth of the parse memory. */
const XML_SHARE_OF_MEMORY = 8;
/** Bytes of parse memory per cell of a sheet's used range (SheetJS cell objects plus our columns). */
const BYTES_PER_CELL = 128;
/** Entries inflating more than this many times are zip bombs (deflate's maximum is ~1032). */
const MAX_ZIP_RATIO = 500;

/**
 * The SheetJS book types this service reads: OOXML (.xlsx/.xlsm) and BIFF5/BIFF8 (.xls) inside an
 * OLE2 container. SheetJS 0.18.5 does not report the type it read, and falls back to parsing
 * anything as delimited text (random bytes become thousands of garbage rows), so the type is
 * established here from the container before SheetJS sees the bytes.
 */
const PASSWORD_PROTECTED = "The workbook is password-protected (encrypted); save it without a password and upload it again.";

export const ALLOWED_BOOK_TYPES: ReadonlySet<string> = new Set(["xlsx", "xlsm", "biff8", "biff5"]);

/**
 * The book type of an OLE2 file: "biff8"/"biff5" from the workbook stream's BOF record.
 * @throws 422 for encrypted OOXML packages, 415 for OLE2 documents that hold no workbook.
 */
function oleBookType(bytes: Buffer): string {
  let cfb: ReturnType<typeof XLSX.CFB.read>;
  try {
    cfb = XLSX.CFB.read(bytes, { type: "buffer" });
  } catch (err) {
    // SheetJS's own messages are useful ("Major Version: Expected 3 or 4…"); JS type errors are not.
    if (err instanceof TypeError || err instanceof RangeError) throw unparseable("The .xls container (OLE2) is damaged and cannot be read.");
    throw polarsFailure(err, "The .xls container (OLE2) is damaged");
  }
  if (XLSX.CFB.find(cfb, "EncryptedPackage")) throw unparseable(PASSWORD_PROTECTED);
  const stream = XLSX.CFB.find(cfb, "Workbook") ?? XLSX.CFB.find(cfb, "Book");
  const content = stream?.content;
  if (!content || content.length < 8) throw unsupported("The file is an OLE2 document (like a Word or Outlook file) without an Excel workbook in it. Supported formats are CSV/TSV, Excel (.xlsx, .xlsm, .xls) and Parquet.");
  const view = Buffer.from(content as Uint8Array);
  const bof = view.readUInt16LE(0);
  const version = view.readUInt16LE(4);
  if (bof !== 0x0809) throw unparseable("The .xls workbook stream does not start with a BIFF record; the file is damaged.");
  return version === 0x0600 ? "biff8" : version === 0x0500 ? "biff5" : `biff(0x${version.toString(16)})`;
}

interface Box {
  r0: number;
  c0: number;
  r1: number;
  c1: number;
}

type Kind = "bool" | "num" | "date" | "str";

interface CellValue {
  kind: Kind;
  /** bool: boolean; num: number; date: epoch milliseconds (UTC wall time); str: string. */
  value: boolean | number | string;
  display: string;
}

function isEmptyCell(cell: XLSX.CellObject | undefined): boolean {
  return !cell || cell.t === "z" || (cell.t === "s" && cell.v === "") || cell.v === undefined;
}

/** The bounding box of the sheet's non-empty cells, or null for an empty sheet. */
function usedBox(ws: XLSX.WorkSheet): Box | null {
  let box: Box | null = null;
  for (const key of Object.keys(ws)) {
    if (key.startsWith("!")) continue;
    if (isEmptyCell(ws[key] as XLSX.CellObject)) continue;
    const { r, c } = XLSX.utils.decode_cell(key);
    if (!box) box = { r0: r, c0: c, r1: r, c1: c };
    else {
      if (r < box.r0) box.r0 = r;
      if (r > box.r1) box.r1 = r;
      if (c < box.c0) box.c0 = c;
      if (c > box.c1) box.c1 = c;
    }
  }
  return box;
}

function serialToMs(serial: number, date1904: boolean): number {
  const base = date1904 ? Date.UTC(1904, 0, 1) : serial < 60 ? Date.UTC(1899, 11, 31) : Date.UTC(1899, 11, 30);
  return base + Math.round(serial * DAY_MS);
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

function isoOf(ms: number): string {
  const d = new Date(ms);
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  if (ms % DAY_MS === 0) return date;
  return `${date}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
}

function readCell(cell: XLSX.CellObject | undefined, date1904: boolean): CellValue | "error" | null {
  if (isEmptyCell(cell) || !cell) return null;
  const display = cell.w ?? String(cell.v);
  switch (cell.t) {
    case "b":
      return { kind: "bool", value: Boolean(cell.v), display };
    case "e":
      return "error";
    case "n": {
      const v = cell.v as number;
      if (typeof cell.z === "string" && XLSX.SSF.is_date(cell.z)) return { kind: "date", value: serialToMs(v, date1904), display };
      return { kind: "num", value: v, display };
    }
    case "d": {
      const ms = cell.v instanceof Date ? cell.v.getTime() : Date.parse(`${String(cell.v)}${/Z|[+-]\d\d:?\d\d$/.test(String(cell.v)) ? "" : "Z"}`);
      return Number.isNaN(ms) ? { kind: "str", value: display, display } : { kind: "date", value: ms, display };
    }
    default:
      return { kind: "str", value: String(cell.v), display };
  }
}

interface BuiltColumn {
  series: pl.Series;
  dtype: string;
  mixed: boolean;
  errors: number;
}

function buildColumn(name: string, cells: (CellValue | "error" | null)[], forcedString: boolean): BuiltColumn {
  const kinds = new Set<Kind>();
  let errors = 0;
  for (const c of cells) {
    if (c === "error") errors++;
    else if (c) kinds.add(c.kind);
  }
  const val = (c: CellValue | "error" | null) => (c && c !== "error" ? c : null);
  const mixed = kinds.size > 1;
  if (forcedString || mixed || kinds.size === 0 || kinds.has("str")) {
    const values = cells.map((c) => {
      const v = val(c);
      return v === null ? null : v.kind === "str" ? (v.value as string) : v.display;
    });
    return { series: pl.Series(name, values, pl.String), dtype: "String", mixed, errors };
  }
  const values = cells.map((c) => val(c)?.value ?? null);
  if (kinds.has("bool")) return { series: pl.Series(name, values as (boolean | null)[], pl.Bool), dtype: "Boolean", mixed, errors };
  if (kinds.has("num")) {
    const nums = values as (number | null)[];
    const integral = nums.every((v) => v === null || Number.isSafeInteger(v));
    return integral
      ? { series: pl.Series(name, nums, pl.Int64), dtype: "Int64", mixed, errors }
      : { series: pl.Series(name, nums, pl.Float64), dtype: "Float64", mixed, errors };
  }
  const ms = values as (number | null)[];
  if (ms.every((v) => v === null || v % DAY_MS === 0)) {
    const days = ms.map((v) => (v === null ? null : v / DAY_MS));
    return { series: pl.Series(name, days, pl.Int32).cast(pl.Date), dtype: "Date", mixed, errors };
  }
  return { series: pl.Series(name, ms, pl.Int64).cast(pl.Datetime("ms")).cast(pl.Datetime("us")), dtype: "Datetime(us)", mixed, errors };
}

/** Canonical text of a cell for forced non-String types (numbers as JS writes them, dates ISO). */
function canonicalText(c: CellValue | "error" | null): string | null {
  if (!c || c === "error") return null;
  if (c.kind === "date") return isoOf(c.value as number).replace(/\.000$/, "");
  return String(c.value);
}

async function forceColumn(name: string, cells: (CellValue | "error" | null)[], type: Exclude<ForcedType, "String">): Promise<pl.Series> {
  const text = pl.DataFrame([pl.Series(name, cells.map(canonicalText), pl.String)]);
  const candidates: Candidate[] = type === "Datetime" ? ["Datetime", "DatetimeUTC"] : [type];
  const c = pl.col(name);
  const lf = lazyOf(text);
  for (const cand of candidates) {
    // Excel's datetimes print with milliseconds; Date cells forced to Datetime print as dates.
    const expr = cand === "Datetime" ? c.str.replace("^(\\d{4}-\\d{2}-\\d{2})$", "${1}T00:00:00") : c;
    const checked = lf.select(expr.alias(name));
    const misfits = (await checked.select(present(c).and(fitsForced(c, cand).not()).sum().alias("m")).collect()).toRecords()[0] as { m: number };
    if (Number(misfits.m) === 0) {
      const out = await checked.select(castTo(c, cand).alias(name)).collect();
      return frameSeries(out)[0]!;
    }
  }
  throw unparseable(`Column ${JSON.stringify(name)} cannot be read as ${type}.`, { column: name });
}

function pickSheet(wb: XLSX.WorkBook, boxes: (Box | null)[], wanted: ParseOptions["sheet"], notes: string[]): number {
  const names = wb.SheetNames;
  const list = names.map((n) => JSON.stringify(n)).join(", ");
  if (wanted !== undefined) {
    let idx = names.indexOf(String(wanted));
    if (idx < 0 && typeof wanted === "string") idx = names.findIndex((n) => n.toLowerCase() === wanted.toLowerCase());
    if (idx < 0 && typeof wanted === "number" && wanted < names.length) idx = wanted;
    if (idx < 0) {
      throw badRequest(`The workbook has no sheet ${typeof wanted === "number" ? `with index ${wanted}` : JSON.stringify(wanted)}; its sheets are ${list} (index from 0).`, { sheets: names });
    }
    if (!boxes[idx]) throw unparseable(`The sheet ${JSON.stringify(names[idx])} is empty.`, { sheet: names[idx] });
    return idx;
  }
  const idx = boxes.findIndex((b) => b !== null);
  if (idx < 0) throw unparseable("The workbook has no data: every sheet is empty.");
  if (idx > 0) notes.push(`The first sheet${idx > 1 ? "s" : ""} (${names.slice(0, idx).map((n) => JSON.stringify(n)).join(", ")}) ${idx > 1 ? "are" : "is"} empty; the sheet ${JSON.stringify(names[idx])} was read.`);
  return idx;
}

/**
 * Parses an Excel workbook.
 * @throws ApiError 400 (unknown sheet, unknown schema column), 413 (limits), 422 (unreadable).
 */
export async function parseExcel(filePath: string, zipEntries: ZipEntry[] | undefined, options: ParseOptions, limits: IngestLimits, wantReport: boolean): Promise<Parsed> {
  const memoryBytes = limits.memoryBytes ?? DEFAULT_MEMORY_BYTES;
  if (zipEntries) await verifyWorkbookZip(filePath, zipEntries, { maxTotalBytes: memoryBytes / XML_SHARE_OF_MEMORY, maxRatio: MAX_ZIP_RATIO });
  const bytes = await readFile(filePath);
  const bookType = zipEntries ? (zipEntries.some((e) => e.name === "xl/vbaProject.bin") ? "xlsm" : "xlsx") : oleBookType(bytes);
  if (!ALLOWED_BOOK_TYPES.has(bookType)) throw unsupported(`The workbook is of type ${bookType}, which this service does not read. Supported formats are CSV/TSV, Excel (.xlsx, .xlsm, .xls) and Parquet.`);
  let wb: XLSX.WorkBook;
  try {
    wb = XLSX.read(bytes, {
      type: "buffer",
      cellNF: true,
      cellDates: false,
      cellFormula: false,
      cellHTML: false,
      cellStyles: false,
      bookVBA: false,
      // One more row than allowed (plus the header), so exceeding the limit is visible, not silent.
      sheetRows: limits.maxRows + 2,
    });
  } catch (err) {
    if (err instanceof Error && /password/i.test(err.message)) throw unparseable(PASSWORD_PROTECTED);
    throw polarsFailure(err, "The workbook could not be read");
  }
  const date1904 = Boolean(wb.Workbook?.WBProps?.date1904);
  const boxes = wb.SheetNames.map((n) => {
    const ws = wb.Sheets[n];
    return ws ? usedBox(ws) : null;
  });
  const sheets: SheetInfo[] = wb.SheetNames.map((name, i) => {
    const b = boxes[i];
    return { name, rows: b ? b.r1 - b.r0 + 1 : 0, columns: b ? b.c1 - b.c0 + 1 : 0 };
  });
  const notes: string[] = [];
  const idx = pickSheet(wb, boxes, options.sheet, notes);
  const sheetName = wb.SheetNames[idx]!;
  const ws = wb.Sheets[sheetName]!;
  const box = boxes[idx]!;
  const width = box.c1 - box.c0 + 1;
  if (width > limits.maxColumns) throw tooLarge(`The sheet ${JSON.stringify(sheetName)} has ${width} columns; the limit of this service is ${limits.maxColumns}.`);
  const firstData = options.header ? box.r0 + 1 : box.r0;
  const rowCount = Math.max(0, box.r1 - firstData + 1);
  if (rowCount > limits.maxRows) throw tooLarge(`The sheet ${JSON.stringify(sheetName)} has more than ${limits.maxRows} rows, the limit of this service.`);
  // A few far-apart cells make a huge range of mostly empty cells, each of which costs memory here.
  const area = (box.r1 - box.r0 + 1) * width;
  if (area > memoryBytes / BYTES_PER_CELL) {
    throw tooLarge(`The sheet ${JSON.stringify(sheetName)} spans ${box.r1 - box.r0 + 1} rows × ${width} columns (${area} cells), more than this service's parser can hold (PARSE_MEMORY_MB).`);
  }

  const rawNames: string[] = [];
  for (let c = box.c0; c <= box.c1; c++) {
    const cell = ws[XLSX.utils.encode_cell({ r: box.r0, c })] as XLSX.CellObject | undefined;
    rawNames.push(isEmptyCell(cell) || !cell ? "" : (cell.w ?? String(cell.v)));
  }
  const named = options.header ? uniqueNames(rawNames) : { names: positionalNames(width), renamed: [] };
  const names = named.names;
  const schema = options.schema ?? {};
  const unknown = Object.keys(schema).filter((n) => !names.includes(n));
  if (unknown.length > 0) {
    throw badRequest(`The form field "schema" names unknown column(s) ${unknown.map((n) => JSON.stringify(n)).join(", ")}; the sheet's columns are ${names.slice(0, 20).map((n) => JSON.stringify(n)).join(", ")}.`);
  }

  const columns: pl.Series[] = [];
  const report: ColumnReport[] = [];
  let errorCells = 0;
  for (let j = 0; j < width; j++) {
    const name = names[j]!;
    const cells: (CellValue | "error" | null)[] = new Array(rowCount);
    for (let r = 0; r < rowCount; r++) cells[r] = readCell(ws[XLSX.utils.encode_cell({ r: firstData + r, c: box.c0 + j })] as XLSX.CellObject | undefined, date1904);
    const forced = Object.hasOwn(schema, name) ? schema[name] : undefined;
    const built = buildColumn(name, cells, forced === "String");
    errorCells += built.errors;
    if (built.mixed && forced === undefined) notes.push(`Column ${JSON.stringify(name)} mixes numbers, dates, text or booleans; it was read as String with values as Excel displays them.`);
    columns.push(forced && forced !== "String" ? await forceColumn(name, cells, forced) : built.series);
    report.push({ name, dtype: built.dtype, nullCount: 0, counterexamples: [] });
  }
  if (errorCells > 0) notes.push(`${errorCells} error cell${errorCells === 1 ? "" : "s"} (such as #DIV/0! or #N/A) ${errorCells === 1 ? "was" : "were"} read as null.`);
  if (named.renamed.length > 0) notes.push(`${named.renamed.length} empty or repeated column name${named.renamed.length === 1 ? " was" : "s were"} renamed; see renamedColumns.`);

  let frame: pl.DataFrame;
  try {
    frame = pl.DataFrame(columns);
  } catch (err) {
    throw polarsFailure(err, "The sheet could not be converted");
  }
  const source: Partial<SourceInfo> = {
    sheet: sheetName,
    sheets,
    header: options.header,
    ...(named.renamed.length > 0 ? { renamedColumns: named.renamed } : {}),
    notes,
  };
  return { frame, source, report: wantReport ? report : undefined };
}
