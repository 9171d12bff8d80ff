/**
 * A streaming, quote-aware (RFC 4180) pre-scan of a UTF-8 CSV file, run before polars sees it.
 *
 * Polars cannot tell which line a bad row is on and is lenient by default, so this pass counts the
 * fields of every record and knows its physical line: it finds ragged rows (422 naming the line,
 * or a list of rows to leave out), blank lines, the header's column count (413 over the limit,
 * before any parsing), the row count (413 over the limit) and the line-ending style.
 *
 * Quoting rules (the same as polars'): a quote opens a quoted field only at the start of a field;
 * inside, `""` is a literal quote and delimiters/newlines are data. Text between a closing quote and
 * the next delimiter is malformed (422), as is a quote left open at the end of the file.
 */
import { createReadStream } from "node:fs";
import { open } from "node:fs/promises";
import { tooLarge, unparseable } from "../errors.ts";

export const DELIMITER_CANDIDATES = [",", "\t", ";", "|"] as const;

export interface BadRecord {
  /** 1-based physical line where the record starts. */
  line: number;
  found: number;
}

export interface CsvScan {
  delimiter: string;
  /** Whether the delimiter was sniffed (false when given by the user). */
  sniffed: boolean;
  /** Raw cells of the first record (the header when there is one). */
  firstRecord: string[];
  columnCount: number;
  /** Rows polars will produce (after the header; blank and bad records included). */
  polarsRows: number;
  /** Polars row indices (0-based, after the header) to leave out: blank lines and skipped bad rows. */
  dropRows: number[];
  blankLines: number;
  badRecords: number;
  /** The first 100 bad records. */
  badSample: BadRecord[];
  /** Rows that will be kept. */
  rows: number;
  /** Record terminator to give polars: "\r" for files with CR-only line endings. */
  eol: "\n" | "\r";
}

export interface ScanOptions {
  delimiter?: string;
  header: boolean;
  onBadRows: "fail" | "skip";
  maxColumns: number;
  maxRows: number;
}

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;
const CHUNK = 1024 * 1024;
const SNIFF_BYTES = 64 * 1024;
const SNIFF_RECORDS = 50;
/** A header longer than this is not a header; it is a hostile or broken file. */
const MAX_HEADER_BYTES = 4 * 1024 * 1024;
/**
 * Longest record (quoted newlines included). Polars materialises a record's fields at once and
 * has hung on a 50 MB single-line file; no table row legitimately needs more.
 */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;

/** Splits one record's text into cells (quote-aware; `text` has no record terminator). */
export function splitRecord(text: string, delimiter: string): string[] {
  const cells: string[] = [];
  let cell = "";
  let i = 0;
  let atStart = true;
  while (i < text.length) {
    const ch = text[i]!;
    if (atStart && ch === '"') {
      i++;
      for (;;) {
        if (i >= text.length) break;
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            cell += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        cell += text[i];
        i++;
      }
      atStart = false;
      continue;
    }
    if (ch === delimiter) {
      cells.push(cell);
      cell = "";
      atStart = true;
      i++;
      continue;
    }
    cell += ch;
    atStart = false;
    i++;
  }
  cells.push(cell);
  return cells;
}

/** Field counts of the complete, non-blank records in `sample` for one delimiter. */
function fieldCounts(sample: Buffer, delimiter: number, complete: boolean): number[] {
  const counts: number[] = [];
  let inQuotes = false;
  let fields = 1;
  let atFieldStart = true;
  let empty = true;
  for (let i = 0; i < sample.length && counts.length < SNIFF_RECORDS; i++) {
    const b = sample[i]!;
    if (inQuotes) {
      if (b === QUOTE) {
        if (sample[i + 1] === QUOTE) i++;
        else inQuotes = false;
      }
      continue;
    }
    if (b === LF || b === CR) {
      if (!empty) counts.push(fields);
      fields = 1;
      atFieldStart = true;
      empty = true;
      continue;
    }
    empty = false;
    if (b === QUOTE && atFieldStart) {
      inQuotes = true;
      atFieldStart = false;
    } else if (b === delimiter) {
      fields++;
      atFieldStart = true;
    } else atFieldStart = false;
  }
  if (complete && !inQuotes && !empty && counts.length < SNIFF_RECORDS) counts.push(fields);
  return counts;
}

/**
 * Picks the delimiter whose field count is the same on most sampled records (header included),
 * preferring more than one column; ties go to the order `,` `\t` `;` `|` (tab first for .tsv).
 */
export function sniffDelimiter(sample: Buffer, complete: boolean, preferTab: boolean): string {
  const order = preferTab ? ["\t", ",", ";", "|"] : [...DELIMITER_CANDIDATES];
  let best = order[0]!;
  let bestScore = -1;
  for (const d of order) {
    const counts = fieldCounts(sample, d.charCodeAt(0), complete);
    if (counts.length === 0) continue;
    const first = counts[0]!;
    if (first < 2) continue;
    const agreeing = counts.filter((c) => c === first).length / counts.length;
    // Consistency matters most; more columns only breaks near-ties.
    const score = agreeing * 1000 + Math.min(first, 999) / 1000;
    if (score > bestScore + 1e-9 && agreeing >= 0.5) {
      best = d;
      bestScore = score;
    }
  }
  return best;
}

async function readRange(filePath: string, start: number, length: number): Promise<Buffer> {
  const fh = await open(filePath, "r");
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, start);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function badRowError(bad: BadRecord, expected: number, header: boolean) {
  return unparseable(
    `Line ${bad.line} has ${bad.found} field${bad.found === 1 ? "" : "s"} but ${expected} ${header ? "columns are named in the header" : "were found on the first row"}. Fix the row, or upload with onBadRows=skip to leave such rows out.`,
    { line: bad.line, expectedFields: expected, foundFields: bad.found },
  );
}

/**
 * Scans the whole UTF-8 file once.
 * @throws 413 FILE_TOO_LARGE over the column/row limits, 422 UNPARSEABLE_FILE for a ragged row
 * (when onBadRows=fail), a quote left open or text after a closing quote.
 */
export async function scanCsv(filePath: string, preferTab: boolean, options: ScanOptions): Promise<CsvScan> {
  const sample = await readRange(filePath, 0, SNIFF_BYTES + 1);
  const complete = sample.length <= SNIFF_BYTES;
  const sniffed = options.delimiter === undefined;
  const delimiter = options.delimiter ?? sniffDelimiter(sample.subarray(0, SNIFF_BYTES), complete, preferTab);
  const d = delimiter.charCodeAt(0);

  let inQuotes = false;
  let quotePending = false;
  let afterQuote = false;
  let fieldStart = true;
  let quotedCR = false;
  let terminatorCR = false;
  let sawLF = false;
  let sawBareCR = false;
  let delims = 0;
  let recordBytes = 0;
  let line = 1;
  let recordLine = 1;
  let offset = 0;
  let recordStart = 0;

  let firstRecordRange: [number, number] | null = null;
  let expected = -1;
  let polarsRows = 0;
  let rows = 0;
  let blankLines = 0;
  let badRecords = 0;
  const badSample: BadRecord[] = [];
  const dropRows: number[] = [];

  const endRecord = (end: number) => {
    if (end - recordStart > MAX_RECORD_BYTES) {
      throw tooLarge(`The record starting on line ${recordLine} is longer than ${MAX_RECORD_BYTES / 1024 / 1024} MiB, the limit of this service (a quote left open can cause this).`);
    }
    if (recordBytes === 0 && delims === 0) {
      // Blank line. Before the first record polars skips it; after, it would be an all-null row.
      if (firstRecordRange !== null) {
        blankLines++;
        dropRows.push(polarsRows++);
      }
    } else if (firstRecordRange === null) {
      firstRecordRange = [recordStart, end];
      expected = delims + 1;
      if (!options.header) {
        polarsRows++;
        rows++;
      }
    } else {
      const found = delims + 1;
      if (found !== expected) {
        const bad = { line: recordLine, found };
        if (options.onBadRows === "fail") throw badRowError(bad, expected, options.header);
        badRecords++;
        if (badSample.length < 100) badSample.push(bad);
        dropRows.push(polarsRows);
      } else {
        rows++;
        if (rows > options.maxRows) throw tooLarge(`The file has more than ${options.maxRows} rows, the limit of this service.`);
      }
      polarsRows++;
    }
    delims = 0;
    recordBytes = 0;
    fieldStart = true;
    afterQuote = false;
  };

  for await (const data of createReadStream(filePath, { highWaterMark: CHUNK })) {
    const buf = data as Buffer;
    const n = buf.length;
    for (let i = 0; i < n; i++) {
      const b = buf[i]!;
      if (terminatorCR) {
        terminatorCR = false;
        if (b === LF) {
          sawLF = true;
          recordStart = offset + i + 1;
          continue;
        }
        sawBareCR = true;
      }
      if (inQuotes) {
        if (quotePending) {
          quotePending = false;
          if (b === QUOTE) continue;
          inQuotes = false;
          afterQuote = true;
          // this byte follows a closing quote: handle it below as unquoted
        } else {
          if (b === QUOTE) quotePending = true;
          else if (b === LF) {
            if (!quotedCR) line++;
          } else if (b === CR) line++;
          quotedCR = b === CR;
          continue;
        }
      }
      if (b === d) {
        delims++;
        fieldStart = true;
        afterQuote = false;
        if (firstRecordRange === null && delims >= options.maxColumns) {
          throw tooLarge(`The header row has more than ${options.maxColumns} columns, the limit of this service.`);
        }
        continue;
      }
      if (b === LF || b === CR) {
        if (b === LF) sawLF = true;
        endRecord(offset + i);
        line++;
        recordLine = line;
        recordStart = offset + i + 1;
        terminatorCR = b === CR;
        continue;
      }
      if (afterQuote) {
        throw unparseable(`Line ${line}: unexpected text after the closing quote of a quoted field (a quote inside a quoted field must be doubled: "").`, { line });
      }
      if (b === QUOTE && fieldStart) {
        inQuotes = true;
        quotedCR = false;
      }
      fieldStart = false;
      recordBytes++;
      if (firstRecordRange === null && offset + i - recordStart > MAX_HEADER_BYTES) {
        throw tooLarge(`The first row is longer than ${MAX_HEADER_BYTES / 1024 / 1024} MiB; this does not look like a CSV header.`);
      }
    }
    offset += n;
  }
  if (quotePending) inQuotes = false;
  if (inQuotes) throw unparseable(`The quoted field starting on line ${recordLine} is never closed.`, { line: recordLine });
  if (recordBytes > 0 || delims > 0) endRecord(offset);
  if (sawLF && sawBareCR) {
    throw unparseable("The file mixes CR-only line endings with LF/CRLF line endings; save it with one line-ending style.");
  }
  const range = firstRecordRange as [number, number] | null;
  if (range === null) throw unparseable("The file has no rows: it contains only blank lines.");

  const headerText = (await readRange(filePath, range[0], range[1] - range[0])).toString("utf8").replace(/^\uFEFF/, "");
  const firstRecord = splitRecord(headerText, delimiter);
  if (firstRecord.length > options.maxColumns) {
    throw tooLarge(`The file has ${firstRecord.length} columns; the limit of this service is ${options.maxColumns}.`);
  }
  return {
    delimiter,
    sniffed,
    firstRecord,
    columnCount: firstRecord.length,
    polarsRows,
    dropRows,
    blankLines,
    badRecords,
    badSample,
    rows,
    eol: sawBareCR ? "\r" : "\n",
  };
}
