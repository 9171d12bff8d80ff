/**
 * Excel ingest (.xlsx, .xlsm, .xls) with SheetJS, in the isolated parser child (SheetJS parses
 * synchronously). Display formats are not data: every value is the cell's stored value.
 * - Cells are read with `cellDates: false` and `cellNF: true`: a number whose format is a date or
 *   time format is converted here from the serial number (1900 or 1904 system), rounded to the
 *   millisecond, so the server's time zone cannot shift it. Formats decide the kind: a date
 *   format → Date (Datetime(us) when any value has a time of day), a time-of-day format
 *   (`hh:mm:ss`, `h:mm AM/PM`) → Time, an elapsed format (`[h]:mm:ss`, `[mm]:ss`) → Duration(ms).
 *   Serial 60 is Excel's fictitious 1900-02-29: null, and named in a note.
 * - The used range is recomputed from real cells (never the declared `!ref`, which may be
 *   A1:XFD1048576); rows above `skipRows`/`headerRow` are left out, empty rows inside the range
 *   are dropped (noted).
 * - Column types: all-integral numbers within ±2^53 → Int64, other numbers → Float64, booleans →
 *   Boolean, text → String; a column mixing kinds is String with each value's own text (numbers in
 *   shortest round-trip form, dates ISO 8601), never Excel's display text (noted).
 * - An empty-string cell is `""` in a String column and null elsewhere (noted); error cells
 *   (#DIV/0!, …) and formulas without a stored result (openpyxl, xlsxwriter, exceljs store none;
 *   we do not evaluate formulas) are null, noted with their cells.
 * - A hidden sheet is never the default choice (`hidden: true` in `source.sheets`).
 */
import { readFile } from "node:fs/promises";
import pl from "nodejs-polars";
import XLSX from "xlsx";
import { badRequest, tooLarge, unparseable, unsupported } from "../errors.ts";
import type { SheetInfo, SourceInfo } from "../types.ts";
import { frameSeries, lazyOf } from "../frame/safe.ts";
import { polarsFailure } from "./csv.ts";
import { castTo, fitsForced, present, type Candidate } from "./infer.ts";
import { positionalNames, renamedNote, uniqueNames } from "./names.ts";
import { cellList, plural, quotedList } from "./notes.ts";
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
/** Cells named in a note (the rest are counted). */
const NOTE_CELLS = 10;

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
  } catch {
    throw unparseable("The .xls container (OLE2) is damaged and cannot be read; open it in Excel or LibreOffice and save it again.");
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

/** What a cell holds. `empty` is an empty-string cell; `missing` a formula without a stored result. */
type Kind = "bool" | "num" | "date" | "time" | "duration" | "str" | "empty" | "error" | "missing" | "fictitious";

interface CellValue {
  kind: Kind;
  /** bool: boolean; num: number; date: epoch ms (UTC wall time); time: ms of the day; duration: ms; str: text. */
  value: boolean | number | string | null;
  /** A number with a date format but outside Excel's date range. */
  undated?: boolean;
  /** A number with an elapsed-time format too large for an exact duration in milliseconds. */
  unelapsed?: boolean;
}

/** The first serial past Excel's last date, 9999-12-31 (2958465; 2957003 in the 1904 date system). */
const MAX_SERIAL = 2_958_466;
const MAX_SERIAL_1904 = 2_957_004;

const NULLISH: ReadonlySet<Kind> = new Set(["error", "missing", "fictitious"]);

/** A formula cell whose workbook stores no result (SheetJS gives it as a stub). */
function isMissingResult(cell: XLSX.CellObject): boolean {
  return cell.f !== undefined && (cell.t === "z" || cell.v === undefined);
}

/** No value at all: absent, a styled stub, or undefined. Empty strings and formula cells are values. */
function isBlank(cell: XLSX.CellObject | undefined): boolean {
  if (!cell) return true;
  if (isMissingResult(cell)) return false;
  return cell.t === "z" || cell.v === undefined;
}

/** What decides the used range: cells with a value (empty strings left aside, as Excel does). */
function holdsValue(cell: XLSX.CellObject | undefined): boolean {
  return !isBlank(cell) && !(cell!.t === "s" && cell!.v === "");
}

/** The bounding box of the sheet's cells with values at or below row `fromRow`, or null. */
function usedBox(ws: XLSX.WorkSheet, fromRow = 0): Box | null {
  let box: Box | null = null;
  for (const key of Object.keys(ws)) {
    if (key.startsWith("!")) continue;
    if (!holdsValue(ws[key] as XLSX.CellObject)) continue;
    const { r, c } = XLSX.utils.decode_cell(key);
    if (r < fromRow) continue;
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

type FormatKind = "date" | "time" | "duration" | null;

/**
 * Built-in number formats that Excel defines only per locale (East Asian dates and times, ids
 * 27–36 and 50–58, such as 31 = `yyyy"年"m"月"d"日"`): workbooks store just the id and SheetJS has
 * no text for it, so the cell comes without a format (`z`) and read as a plain number (QA Q26).
 * SheetJS still renders such a cell (`w`) through Excel's own fallback (its "default map": the
 * dates as `m/d/yy`, the times as `h:mm:ss`); a cell without a format whose rendering has one of
 * those two shapes is read as that kind. Every other cell has a format (`General` at least).
 */
function localeFormat(w: unknown): string | undefined {
  if (typeof w !== "string") return undefined;
  if (/^\d{1,2}\/\d{1,2}\/\d{2}$/.test(w)) return "m/d/yy";
  if (/^\d{1,2}:\d{2}:\d{2}$/.test(w)) return "h:mm:ss";
  return undefined;
}

const formatKinds = new Map<string, FormatKind>();

/**
 * What a number format says a number is: a date (or date and time), a time of day, an elapsed
 * time (`[h]`, `[m]`, `[s]`), or nothing temporal. Literal text and colours are not codes.
 */
export function formatKind(z: unknown): FormatKind {
  if (typeof z !== "string") return null;
  const known = formatKinds.get(z);
  if (known !== undefined) return known;
  let kind: FormatKind = null;
  if (XLSX.SSF.is_date(z)) {
    let code = (z.split(";")[0] ?? "").replace(/"[^"]*"/g, "").replace(/\\./g, "").replace(/_./g, "");
    const elapsed = /\[(h+|m+|s+)\]/i.test(code);
    code = code.replace(/\[[^\]]*\]/g, "");
    const ampm = /AM\/PM|A\/P/i.test(code);
    code = code.replace(/AM\/PM|A\/P/gi, "");
    const clock = ampm || /[hs]/i.test(code);
    const calendar = /[ydeb]/i.test(code) || (/m/i.test(code) && !/[hs]/i.test(code));
    kind = elapsed ? "duration" : calendar ? "date" : clock ? "time" : "date";
  }
  formatKinds.set(z, kind);
  return kind;
}

function serialToMs(serial: number, date1904: boolean): number {
  const base = date1904 ? Date.UTC(1904, 0, 1) : serial < 60 ? Date.UTC(1899, 11, 31) : Date.UTC(1899, 11, 30);
  return base + Math.round(serial * DAY_MS);
}

function pad(n: number, w = 2): string {
  return String(n).padStart(w, "0");
}

/** `.fff` when there are milliseconds. */
function millis(ms: number): string {
  return ms % 1000 === 0 ? "" : `.${pad(ms % 1000, 3)}`;
}

/** ISO 8601 text of epoch ms: a date, or a date and time (fraction only when non-zero). */
function isoOf(ms: number): string {
  const d = new Date(ms);
  const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
  if (ms % DAY_MS === 0) return date;
  return `${date}T${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${millis(((ms % 1000) + 1000) % 1000)}`;
}

function timeText(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}${millis(ms % 1000)}`;
}

/** ISO 8601 seconds, as durations are served: `PT5400S`, `-PT0.5S`. */
function durationText(ms: number): string {
  const abs = Math.abs(ms);
  return `${ms < 0 ? "-" : ""}PT${Math.floor(abs / 1000)}${millis(abs % 1000)}S`;
}

/** A number's exact text: the shortest that reads back as the same double (`-0` kept). */
export function numberText(v: number): string {
  return Object.is(v, -0) ? "-0" : String(v);
}

function readCell(cell: XLSX.CellObject | undefined, date1904: boolean): CellValue | null {
  if (!cell) return null;
  if (isMissingResult(cell)) return { kind: "missing", value: null };
  if (isBlank(cell)) return null;
  switch (cell.t) {
    case "b":
      return { kind: "bool", value: Boolean(cell.v) };
    case "e":
      return { kind: "error", value: null };
    case "n": {
      const v = cell.v as number;
      const kind = formatKind(cell.z ?? localeFormat(cell.w));
      if (kind === "duration") {
        // past 2^53 ms (about 285,000 years) a duration is no longer an exact number of milliseconds
        // (and far past it, 1e308 days, it would come out as 0): kept as the number it is, noted
        const ms = Math.round(v * DAY_MS);
        return Number.isSafeInteger(ms) ? { kind: "duration", value: ms } : { kind: "num", value: v, unelapsed: true };
      }
      if (kind === "time") {
        const ms = Math.round(v * DAY_MS);
        // A time format on a value with a day part shows only the time, but the value is a datetime.
        if (ms >= 0 && ms < DAY_MS) return { kind: "time", value: ms };
      }
      if (kind !== null) {
        // Outside Excel's own date range (it shows ####): a number with a date format, not a date.
        if (v < 0 || v >= (date1904 ? MAX_SERIAL_1904 : MAX_SERIAL)) return { kind: "num", value: v, undated: true };
        if (!date1904 && Math.floor(v) === 60) return { kind: "fictitious", value: null };
        return { kind: "date", value: serialToMs(v, date1904) };
      }
      return { kind: "num", value: v };
    }
    case "d": {
      const ms = cell.v instanceof Date ? cell.v.getTime() : Date.parse(`${String(cell.v)}${/Z|[+-]\d\d:?\d\d$/.test(String(cell.v)) ? "" : "Z"}`);
      return Number.isNaN(ms) ? { kind: "str", value: String(cell.v) } : { kind: "date", value: ms };
    }
    default: {
      const text = String(cell.v);
      return text === "" ? { kind: "empty", value: "" } : { kind: "str", value: text };
    }
  }
}

/** A value's own text (never its display format): for mixed columns, forced String and names. */
function valueText(c: CellValue | null): string | null {
  if (!c || c.value === null) return c?.kind === "empty" ? "" : null;
  switch (c.kind) {
    case "num":
      return numberText(c.value as number);
    case "date":
      return isoOf(c.value as number);
    case "time":
      return timeText(c.value as number);
    case "duration":
      return durationText(c.value as number);
    case "bool":
      return c.value ? "true" : "false";
    default:
      return String(c.value);
  }
}

interface BuiltColumn {
  series: pl.Series;
  dtype: string;
  mixed: boolean;
  /** Empty-string cells read as null (the column is not String). */
  emptiesNulled: number;
  /** Integral numbers beyond ±2^53 (doubles in the file already). */
  bigIntegers: number;
}

const EXACT_LIMIT = 2 ** 53;

function buildColumn(name: string, cells: (CellValue | null)[], forcedString: boolean): BuiltColumn {
  const kinds = new Set<Kind>();
  let empties = 0;
  for (const c of cells) {
    if (!c || NULLISH.has(c.kind)) continue;
    if (c.kind === "empty") empties++;
    else kinds.add(c.kind);
  }
  const mixed = kinds.size > 1;
  const base = { mixed, emptiesNulled: 0, bigIntegers: 0 };
  if (forcedString || mixed || kinds.size === 0 || kinds.has("str")) {
    return { ...base, series: pl.Series(name, cells.map(valueText), pl.String), dtype: "String" };
  }
  const values = cells.map((c) => (c && c.kind !== "empty" ? c.value : null));
  const out = { ...base, emptiesNulled: empties };
  if (kinds.has("bool")) return { ...out, series: pl.Series(name, values as (boolean | null)[], pl.Bool), dtype: "Boolean" };
  if (kinds.has("num")) {
    const nums = values as (number | null)[];
    const integral = nums.every((v) => v === null || Number.isSafeInteger(v));
    const bigIntegers = nums.filter((v) => v !== null && Number.isInteger(v) && Math.abs(v) >= EXACT_LIMIT).length;
    return integral
      ? { ...out, series: pl.Series(name, nums, pl.Int64), dtype: "Int64" }
      : { ...out, bigIntegers, series: pl.Series(name, nums, pl.Float64), dtype: "Float64" };
  }
  const ms = values as (number | null)[];
  if (kinds.has("time")) {
    return { ...out, series: pl.Series(name, ms.map((v) => (v === null ? null : v * 1_000_000)), pl.Int64).cast(pl.Time), dtype: "Time" };
  }
  if (kinds.has("duration")) return { ...out, series: pl.Series(name, ms, pl.Int64).cast(pl.Duration("ms")), dtype: "Duration(ms)" };
  if (ms.every((v) => v === null || v % DAY_MS === 0)) {
    const days = ms.map((v) => (v === null ? null : v / DAY_MS));
    return { ...out, series: pl.Series(name, days, pl.Int32).cast(pl.Date), dtype: "Date" };
  }
  return { ...out, series: pl.Series(name, ms, pl.Int64).cast(pl.Datetime("ms")).cast(pl.Datetime("us")), dtype: "Datetime(us)" };
}

/** Canonical text of a cell for forced non-String types (the texts CSV inference reads). */
function canonicalText(c: CellValue | null): string | null {
  if (!c || c.kind === "empty") return null;
  return valueText(c);
}

async function forceColumn(name: string, cells: (CellValue | null)[], type: Exclude<ForcedType, "String">): Promise<pl.Series> {
  // Converted under a fixed placeholder name (the column's own name may be a pattern such as `*`).
  const v = "v";
  const text = pl.DataFrame([pl.Series(v, cells.map(canonicalText), pl.String)]);
  const candidates: Candidate[] = type === "Datetime" ? ["Datetime", "DatetimeUTC"] : type === "Duration" ? ["Duration"] : [type];
  const c = pl.col(v);
  const lf = lazyOf(text);
  for (const cand of candidates) {
    // Excel's datetimes print as dates when they have no time; forced to Datetime they need one.
    const expr = cand === "Datetime" ? c.str.replace("^(\\d{4}-\\d{2}-\\d{2})$", "${1}T00:00:00") : c;
    const checked = lf.select(expr.alias(v));
    const misfits = (await checked.select(present(c).and(fitsForced(c, cand).not()).sum().alias("m"), c.filter(present(c).and(fitsForced(c, cand).not())).head(1).implode().alias("x")).collect()).toRecords()[0] as unknown as { m: number; x: unknown[] };
    if (Number(misfits.m) === 0) {
      const out = await checked.select(castTo(c, cand).alias(v)).collect();
      return frameSeries(out)[0]!.alias(name);
    }
    if (cand === candidates[candidates.length - 1]) {
      throw unparseable(`Column ${JSON.stringify(name)} cannot be read as ${type}: the value ${JSON.stringify(String(misfits.x?.[0] ?? ""))} does not convert.`, { column: name });
    }
  }
  throw unparseable(`Column ${JSON.stringify(name)} cannot be read as ${type}.`, { column: name });
}

/** Visibility of each sheet: 0 visible, 1 hidden, 2 "very hidden". */
function hiddenSheets(wb: XLSX.WorkBook): boolean[] {
  const meta = wb.Workbook?.Sheets ?? [];
  return wb.SheetNames.map((name, i) => {
    const m = meta.find((s) => s.name === name) ?? meta[i];
    return Boolean(m && Number(m.Hidden ?? 0) > 0);
  });
}

function pickSheet(wb: XLSX.WorkBook, boxes: (Box | null)[], hidden: boolean[], wanted: ParseOptions["sheet"], notes: string[]): number {
  const names = wb.SheetNames;
  const list = names.map((n, i) => `${JSON.stringify(n)}${hidden[i] ? " (hidden)" : ""}`).join(", ");
  if (wanted !== undefined) {
    let idx = names.indexOf(String(wanted));
    if (idx < 0 && typeof wanted === "string") idx = names.findIndex((n) => n.toLowerCase() === wanted.toLowerCase());
    if (idx < 0 && typeof wanted === "number" && wanted < names.length) idx = wanted;
    if (idx < 0) {
      throw badRequest(`The workbook has no sheet ${typeof wanted === "number" ? `with index ${wanted}` : JSON.stringify(wanted)}; its sheets are ${list} (index from 0).`, { sheets: names });
    }
    if (!boxes[idx]) throw unparseable(`The sheet ${JSON.stringify(names[idx])} is empty.`, { sheet: names[idx] });
    if (hidden[idx]) notes.push(`The sheet ${JSON.stringify(names[idx])} is hidden in the workbook; it was read as asked.`);
    return idx;
  }
  const idx = boxes.findIndex((b, i) => b !== null && !hidden[i]);
  if (idx < 0) {
    const hiddenData = names.filter((_, i) => hidden[i] && boxes[i] !== null);
    if (hiddenData.length > 0) {
      throw unparseable(`Every visible sheet of the workbook is empty; the hidden sheet(s) ${quotedList(hiddenData)} hold data. Choose one with sheet=.`, { sheets: names });
    }
    throw unparseable("The workbook has no data: every sheet is empty.");
  }
  const skipped = names.slice(0, idx).map((n, i) => `${JSON.stringify(n)}${hidden[i] ? " (hidden)" : boxes[i] === null ? " (empty)" : ""}`);
  if (idx > 0) notes.push(`The sheet ${JSON.stringify(names[idx])} was read: the sheet${idx > 1 ? "s" : ""} before it ${idx > 1 ? "are" : "is"} empty or hidden (${skipped.join(", ")}).`);
  return idx;
}

/**
 * Parses an Excel workbook.
 * @throws ApiError 400 (unknown sheet, unknown schema column), 413 (limits), 422 (unreadable).
 */
export async function parseExcel(filePath: string, zipEntries: ZipEntry[] | undefined, options: ParseOptions, limits: IngestLimits, wantReport: boolean): Promise<Parsed> {
  const memoryBytes = limits.memoryBytes ?? DEFAULT_MEMORY_BYTES;
  const skip = options.skipRows ?? 0;
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
      // Formulas are read only to see which have no stored result (we never evaluate them).
      cellFormula: true,
      // Stubs are how SheetJS shows a formula cell without a result.
      sheetStubs: true,
      cellHTML: false,
      cellStyles: false,
      bookVBA: false,
      // One more row than allowed (plus the header and skipped rows), so exceeding the limit is visible.
      sheetRows: limits.maxRows + skip + 2,
    });
  } catch (err) {
    if (err instanceof Error && /password/i.test(err.message)) throw unparseable(PASSWORD_PROTECTED);
    throw unparseable("The workbook could not be read: it is damaged or uses a structure this service cannot read. Open it in Excel or LibreOffice and save it again.");
  }
  const date1904 = Boolean(wb.Workbook?.WBProps?.date1904);
  const hidden = hiddenSheets(wb);
  const boxes = wb.SheetNames.map((n) => {
    const ws = wb.Sheets[n];
    return ws ? usedBox(ws, skip) : null;
  });
  const sheets: SheetInfo[] = wb.SheetNames.map((name, i) => {
    const b = boxes[i];
    return { name, rows: b ? b.r1 - b.r0 + 1 : 0, columns: b ? b.c1 - b.c0 + 1 : 0, ...(hidden[i] ? { hidden: true } : {}) };
  });
  const notes: string[] = [];
  const idx = pickSheet(wb, boxes, hidden, options.sheet, notes);
  const sheetName = wb.SheetNames[idx]!;
  const ws = wb.Sheets[sheetName]!;
  const box = boxes[idx]!;
  if (skip > 0) {
    notes.push(`Rows 1–${skip} of the sheet were left out (skipRows/headerRow); the ${options.header ? "header" : "first row"} was read from row ${box.r0 + 1}.`);
    if (box.r0 > skip) notes.push(`Rows ${skip + 1}–${box.r0} are empty; the first row with values is row ${box.r0 + 1}.`);
  }
  const width = box.c1 - box.c0 + 1;
  if (width > limits.maxColumns) throw tooLarge(`The sheet ${JSON.stringify(sheetName)} has ${width} columns; the limit of this service is ${limits.maxColumns}.`);
  const firstData = options.header ? box.r0 + 1 : box.r0;
  const spanned = Math.max(0, box.r1 - firstData + 1);
  if (spanned > limits.maxRows) throw tooLarge(`The sheet ${JSON.stringify(sheetName)} has more than ${limits.maxRows} rows, the limit of this service.`);
  // A few far-apart cells make a huge range of mostly empty cells, each of which costs memory here.
  const area = (box.r1 - box.r0 + 1) * width;
  if (area > memoryBytes / BYTES_PER_CELL) {
    throw tooLarge(`The sheet ${JSON.stringify(sheetName)} spans ${box.r1 - box.r0 + 1} rows × ${width} columns (${area} cells), more than this service's parser can hold (PARSE_MEMORY_MB).`);
  }
  const at = (r: number, c: number) => ws[XLSX.utils.encode_cell({ r, c })] as XLSX.CellObject | undefined;

  const rawNames: string[] = [];
  for (let c = box.c0; c <= box.c1; c++) rawNames.push(valueText(readCell(at(box.r0, c), date1904)) ?? "");
  const named = options.header ? uniqueNames(rawNames) : { names: positionalNames(width), renamed: [] };
  const names = named.names;
  const schema = options.schema ?? {};
  const unknown = Object.keys(schema).filter((n) => !names.includes(n));
  if (unknown.length > 0) {
    throw badRequest(`The form field "schema" names unknown column(s) ${quotedList(unknown)}; the sheet's columns are ${quotedList(names, 50)}.`, { columns: names.slice(0, 50) });
  }

  // Rows with no value at all (inside the range) are left out, like blank lines in CSV.
  const rows: number[] = [];
  for (let r = firstData; r <= box.r1; r++) {
    let blank = true;
    for (let c = box.c0; c <= box.c1 && blank; c++) blank = isBlank(at(r, c));
    if (!blank) rows.push(r);
  }
  const emptyRows = spanned - rows.length;

  const nullTexts = new Set(options.nullValues ?? []);
  const columns: pl.Series[] = [];
  const report: ColumnReport[] = [];
  const refs: Record<"error" | "missing" | "fictitious" | "undated" | "unelapsed", string[]> = { error: [], missing: [], fictitious: [], undated: [], unelapsed: [] };
  const counts = { error: 0, missing: 0, fictitious: 0, undated: 0, unelapsed: 0 };
  for (let j = 0; j < width; j++) {
    const name = names[j]!;
    let nulled = 0;
    const cells: (CellValue | null)[] = rows.map((r) => {
      const cell = readCell(at(r, box.c0 + j), date1904);
      const tally = cell?.undated ? "undated" : cell?.unelapsed ? "unelapsed" : cell && (cell.kind === "error" || cell.kind === "missing" || cell.kind === "fictitious") ? cell.kind : null;
      if (tally) {
        counts[tally]++;
        if (refs[tally].length < NOTE_CELLS) refs[tally].push(XLSX.utils.encode_cell({ r, c: box.c0 + j }));
      }
      if (cell && (cell.kind === "str" || cell.kind === "empty") && nullTexts.has(cell.value as string)) {
        nulled++;
        return null;
      }
      return cell;
    });
    const forced = Object.hasOwn(schema, name) ? schema[name] : undefined;
    const built = buildColumn(name, cells, forced === "String");
    if (built.mixed && forced === undefined) notes.push(`Column ${JSON.stringify(name)} mixes numbers, dates, text or booleans; it was read as String with each value's own text (numbers in full, dates as ISO 8601), not Excel's display format.`);
    if (built.emptiesNulled > 0 && forced === undefined) notes.push(`Column ${JSON.stringify(name)}: ${plural(built.emptiesNulled, "empty-string cell")} read as null.`);
    if (built.bigIntegers > 0) {
      notes.push(`Column ${JSON.stringify(name)}: ${plural(built.bigIntegers, "whole number")} at or beyond ±2^53 ${built.bigIntegers === 1 ? "is" : "are"} stored by Excel as a double (about 15–17 significant digits), so digits may already be lost in the file; read as Float64. Store identifiers as text in Excel.`);
    }
    if (nulled > 0) notes.push(`Column ${JSON.stringify(name)}: ${plural(nulled, "value")} listed in nullValues ${nulled === 1 ? "was" : "were"} read as null.`);
    columns.push(forced && forced !== "String" ? await forceColumn(name, cells, forced) : built.series);
    report.push({ name, dtype: built.dtype, nullCount: 0, counterexamples: [] });
  }
  if (emptyRows > 0) notes.push(`${plural(emptyRows, "empty row")} inside the sheet's range ${emptyRows === 1 ? "was" : "were"} skipped.`);
  if (counts.missing > 0) {
    notes.push(`${plural(counts.missing, "formula cell")} ${counts.missing === 1 ? "has" : "have"} no stored result and ${counts.missing === 1 ? "was" : "were"} read as null (${cellList(refs.missing, counts.missing)}): the program that wrote the file (such as openpyxl, xlsxwriter or exceljs) does not calculate formulas, and this service does not evaluate them. Open and save the file in Excel or LibreOffice to store the results.`);
  }
  if (counts.error > 0) notes.push(`${plural(counts.error, "error cell")} (such as #DIV/0! or #N/A) ${counts.error === 1 ? "was" : "were"} read as null (${cellList(refs.error, counts.error)}).`);
  if (counts.fictitious > 0) {
    notes.push(`${plural(counts.fictitious, "cell")} ${counts.fictitious === 1 ? "holds" : "hold"} serial 60, Excel's fictitious date 1900-02-29 (a leap day 1900 did not have), read as null (${cellList(refs.fictitious, counts.fictitious)}).`);
  }
  if (counts.undated > 0) {
    const range = date1904 ? "serials 0–2957003 in this workbook's 1904 date system" : "serials 0–2958465";
    notes.push(`${plural(counts.undated, "cell")} formatted as ${counts.undated === 1 ? "a date holds a number" : "dates hold numbers"} outside Excel's date range (${range}, up to 9999-12-31; Excel shows ####), read as ${counts.undated === 1 ? "a number" : "numbers"} (${cellList(refs.undated, counts.undated)}).`);
  }
  if (counts.unelapsed > 0) {
    notes.push(`${plural(counts.unelapsed, "cell")} formatted as elapsed time ([h]:mm:ss) ${counts.unelapsed === 1 ? "holds a number" : "hold numbers"} of days too large for an exact duration in milliseconds (beyond about 285,000 years), read as ${counts.unelapsed === 1 ? "a number" : "numbers"} (${cellList(refs.unelapsed, counts.unelapsed)}).`);
  }
  const merges = (ws["!merges"] ?? []).filter((m) => m.e.r >= box.r0 && m.s.r <= box.r1 && m.e.c >= box.c0 && m.s.c <= box.c1);
  if (merges.length > 0) {
    notes.push(`The sheet has ${plural(merges.length, "merged cell range")} (${cellList(merges.map((m) => XLSX.utils.encode_range(m)), merges.length)}): only the first cell of each holds its value; the others were read as empty.`);
  }
  const renamed = renamedNote(named.renamed);
  if (renamed) notes.push(renamed);

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
