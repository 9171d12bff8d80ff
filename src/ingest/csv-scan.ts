/**
 * A streaming, quote-aware pre-scan of a UTF-8 CSV file, run before polars sees it.
 *
 * Polars cannot tell which line a bad row is on and is lenient by default, so this pass decides
 * what the records are and knows their physical lines: it finds ragged rows (422 naming the line,
 * or a list of rows to leave out), blank lines, comment lines, the header (after any title lines
 * left out with skipRows/headerRow), its column count (413 over the limit, before any parsing),
 * the row count (413 over the limit) and the line-ending style.
 *
 * Quoting (`quoting=`):
 * - `strict` (default, RFC 4180): a quote opens a quoted field only at the start of a field;
 *   inside, `""` is a literal quote and delimiters/newlines are data. A quote inside an unquoted
 *   field, text after a closing quote and a quote left open at the end are 422s naming the line
 *   and column, with the way out.
 * - `lenient` (Python's csv module, `strict=False`): as strict, except that a quote inside an
 *   unquoted field is an ordinary character and text after a closing quote joins the field.
 * - `none`: quotes are ordinary characters everywhere (fields never span lines).
 *
 * When polars cannot read the file as it is (title lines, comment lines, lenient or no quoting),
 * the scan also writes the records it found, one per line with RFC 4180 quoting and without the
 * header, to `rowsPath`: polars then reads exactly the records this scan decided, so the two can
 * never disagree.
 */
import { open, type FileHandle } from "node:fs/promises";
import { tooLarge, unparseable } from "../errors.ts";

export const DELIMITER_CANDIDATES = [",", "\t", ";", "|"] as const;

export type Quoting = "strict" | "lenient" | "none";

export interface BadRecord {
  /** 1-based physical line where the record starts. */
  line: number;
  found: number;
}

export interface CsvScan {
  delimiter: string;
  /** Whether the delimiter was sniffed (false when given by the user). */
  sniffed: boolean;
  /** Cells of the first record (the header when there is one). */
  firstRecord: string[];
  columnCount: number;
  /** 1-based physical line of the first record. */
  firstRecordLine: number;
  /** Rows polars will produce (after the header; blank and bad records included). */
  polarsRows: number;
  /** Polars row indices (0-based, after the header) to leave out: blank lines and skipped bad rows. */
  dropRows: number[];
  blankLines: number;
  /** Lines left out before the header (skipRows / headerRow). */
  skippedLines: number;
  /** Lines left out because they start with the comment prefix. */
  commentLines: number;
  /** Fields that hold a quote character as data outside quoting (quoting=lenient or none). */
  literalQuoteFields: number;
  /** Quoted fields with text after their closing quote, kept as part of the field (quoting=lenient). */
  afterQuoteFields: number;
  /** The quoted field spanning the most lines (quoting=lenient), when it spans several. */
  longestQuoted: { line: number; lines: number } | null;
  badRecords: number;
  /** The first 100 bad records. */
  badSample: BadRecord[];
  /** Rows that will be kept. */
  rows: number;
  /** Record terminator to give polars: "\r" for files with CR-only line endings. */
  eol: "\n" | "\r";
  /**
   * The file polars must read instead of the input, without a header row and with only the kept
   * records; null when polars reads the input itself (with `dropRows`).
   */
  rowsPath: string | null;
}

export interface ScanOptions {
  delimiter?: string;
  header: boolean;
  onBadRows: "fail" | "skip";
  maxColumns: number;
  maxRows: number;
  /** Physical lines to leave out at the start of the file (title rows). */
  skipLines?: number;
  /** Lines starting with this text are left out. */
  commentPrefix?: string;
  quoting?: Quoting;
  /** Where to write the normalised records when polars cannot read the input itself. */
  rowsPath: string;
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
/** A lenient quoted field spanning this many lines is worth a note (quotes may not be quoting). */
const LONG_QUOTED_LINES = 5;

interface Field {
  text: string;
  quoted: boolean;
}

/**
 * Splits one record's text into fields (`text` has no record terminator), by the quoting rules
 * of the scan (text after a closing quote is appended, though the scan refuses it before).
 */
export function splitFields(text: string, delimiter: string, quoting: Quoting = "strict"): Field[] {
  const fields: Field[] = [];
  let cell = "";
  let quoted = false;
  let i = 0;
  let atStart = true;
  while (i < text.length) {
    const ch = text[i]!;
    if (atStart && ch === '"' && quoting !== "none") {
      quoted = true;
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
      fields.push({ text: cell, quoted });
      cell = "";
      quoted = false;
      atStart = true;
      i++;
      continue;
    }
    cell += ch;
    atStart = false;
    i++;
  }
  fields.push({ text: cell, quoted });
  return fields;
}

/** Splits one record's text into cells (quote-aware; `text` has no record terminator). */
export function splitRecord(text: string, delimiter: string, quoting: Quoting = "strict"): string[] {
  return splitFields(text, delimiter, quoting).map((f) => f.text);
}

/** One field as RFC 4180 text: quoted when it was, or when it holds a quote. */
function rfcField(f: Field): string {
  return f.quoted || f.text.includes('"') ? `"${f.text.replaceAll('"', '""')}"` : f.text;
}

/** Where the `skip`+1-th physical line starts in `sample` (-1 when the sample ends first). */
function lineStart(sample: Buffer, skip: number): number {
  let i = 0;
  for (let n = 0; n < skip; n++) {
    while (i < sample.length && sample[i] !== LF && sample[i] !== CR) i++;
    if (i >= sample.length) return -1;
    if (sample[i] === CR && sample[i + 1] === LF) i++;
    i++;
  }
  return i;
}

function startsWith(buf: Buffer, at: number, prefix: Buffer): boolean {
  if (at + prefix.length > buf.length) return false;
  for (let k = 0; k < prefix.length; k++) if (buf[at + k] !== prefix[k]) return false;
  return true;
}

/** Field counts of the complete, non-blank, non-comment records in `sample` for one delimiter. */
function fieldCounts(sample: Buffer, delimiter: number, complete: boolean, quoting: Quoting, comment: Buffer | null): number[] {
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
    if (empty && comment && startsWith(sample, i, comment)) {
      while (i + 1 < sample.length && sample[i + 1] !== LF && sample[i + 1] !== CR) i++;
      continue;
    }
    empty = false;
    if (b === QUOTE && atFieldStart && quoting !== "none") {
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
export function sniffDelimiter(sample: Buffer, complete: boolean, preferTab: boolean, quoting: Quoting = "strict", comment: Buffer | null = null): string {
  const order = preferTab ? ["\t", ",", ";", "|"] : [...DELIMITER_CANDIDATES];
  let best = order[0]!;
  let bestScore = -1;
  for (const d of order) {
    const counts = fieldCounts(sample, d.charCodeAt(0), complete, quoting, comment);
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

type QuoteProblem = "inside" | "after";

/** The 422 for a quote the strict rules refuse, naming line and column in the user's terms. */
function quoteError(kind: QuoteProblem, line: number, field: number, names: string[] | null) {
  const column = names?.[field] !== undefined ? `column ${JSON.stringify(names[field])}` : names === null ? "in the header row" : `field ${field + 1}`;
  const where = `Line ${line}, ${column}`;
  if (kind === "inside") {
    return unparseable(
      `${where}: a quote (") inside an unquoted field, as in 5'11". In CSV, a field holding quotes must be quoted as a whole with its quotes doubled ("5'11"""). Upload with quoting=lenient to read such quotes as ordinary characters (as Python's csv module does), or fix the file.`,
      { line, field: field + 1, ...(names?.[field] !== undefined ? { column: names[field] } : {}) },
    );
  }
  return unparseable(
    `${where}: text follows the closing quote of a quoted field. Quotes inside a quoted field must be doubled (""); a backslash before a quote (\\") is not CSV escaping. Re-save the file with standard CSV quoting, or upload with quoting=lenient (the text joins the field, as Python's csv module reads it) or quoting=none (quotes are ordinary characters).`,
    { line, field: field + 1, ...(names?.[field] !== undefined ? { column: names[field] } : {}) },
  );
}

/** A buffered reader that can guarantee a few bytes of lookahead. */
class Reader {
  buf = Buffer.alloc(CHUNK + 64);
  /** Bytes held in `buf`. */
  n = 0;
  /** File offset of `buf[0]`. */
  base = 0;
  eof = false;
  readonly #fh: FileHandle;
  constructor(fh: FileHandle) {
    this.#fh = fh;
  }

  /** Drops `buf[0..keepFrom)` and reads more after what is held. */
  async refill(keepFrom: number): Promise<void> {
    if (keepFrom > 0) {
      this.buf.copy(this.buf, 0, keepFrom, this.n);
      this.n -= keepFrom;
      this.base += keepFrom;
    }
    if (this.n + CHUNK > this.buf.length) {
      const bigger = Buffer.alloc(this.n + CHUNK + 64);
      this.buf.copy(bigger, 0, 0, this.n);
      this.buf = bigger;
    }
    const { bytesRead } = await this.#fh.read(this.buf, this.n, this.buf.length - this.n, this.base + this.n);
    if (bytesRead === 0) this.eof = true;
    this.n += bytesRead;
  }
}

/** Buffered writes of the normalised records. */
class RowsWriter {
  #parts: Buffer[] = [];
  #size = 0;
  readonly #fh: FileHandle;
  constructor(fh: FileHandle) {
    this.#fh = fh;
  }

  push(b: Buffer): void {
    this.#parts.push(b);
    this.#size += b.length;
  }

  async flushIfFull(): Promise<void> {
    if (this.#size >= CHUNK) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#size === 0) return;
    const data = Buffer.concat(this.#parts, this.#size);
    this.#parts = [];
    this.#size = 0;
    await this.#fh.write(data);
  }
}

const NEWLINE = Buffer.from("\n");

/**
 * Scans the whole UTF-8 file once (writing `rowsPath` when polars cannot read the file itself).
 * @throws 413 FILE_TOO_LARGE over the column/row limits, 422 UNPARSEABLE_FILE for a ragged row
 * (when onBadRows=fail), a quote the quoting rules refuse, a quote left open, or a file without rows.
 */
export async function scanCsv(filePath: string, preferTab: boolean, options: ScanOptions): Promise<CsvScan> {
  const quoting = options.quoting ?? "strict";
  const skipLines = options.skipLines ?? 0;
  const comment = options.commentPrefix ? Buffer.from(options.commentPrefix, "utf8") : null;
  const rewrite = skipLines > 0 || comment !== null || quoting !== "strict";

  const sample = await readRange(filePath, 0, SNIFF_BYTES + 1);
  const complete = sample.length <= SNIFF_BYTES;
  const sniffed = options.delimiter === undefined;
  const sampleStart = Math.max(0, lineStart(sample.subarray(0, SNIFF_BYTES), skipLines));
  const delimiter = options.delimiter ?? sniffDelimiter(sample.subarray(sampleStart, SNIFF_BYTES), complete, preferTab, quoting, comment);
  const d = delimiter.charCodeAt(0);
  const quoteChar = quoting === "none" ? -1 : QUOTE;

  const fh = await open(filePath, "r");
  const out = rewrite ? await open(options.rowsPath, "w") : null;
  const writer = out ? new RowsWriter(out) : null;
  try {
    const reader = new Reader(fh);
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
    let quoteOpenLine = 0;
    /** File offset where the current record starts. */
    let recordStart = 0;
    /** Rewrite mode: bytes of the current record from earlier buffers. */
    let carry: Buffer[] = [];
    let carryBytes = 0;
    let literalInRecord = false;
    let literalInField = false;

    let skipping = skipLines;
    let inComment = false;
    let firstRecord: string[] | null = null;
    let firstRecordLine = 0;
    let expected = -1;
    let polarsRows = 0;
    let rows = 0;
    let blankLines = 0;
    let commentLines = 0;
    let literalQuoteFields = 0;
    let afterQuoteFields = 0;
    let longestQuoted: { line: number; lines: number } | null = null;
    let badRecords = 0;
    const badSample: BadRecord[] = [];
    const dropRows: number[] = [];
    const bomAt0 = sample.length >= 3 && sample[0] === 0xef && sample[1] === 0xbb && sample[2] === 0xbf;

    const recordText = (endAbs: number): Buffer => {
      const tail = reader.buf.subarray(Math.max(0, recordStart - reader.base), endAbs - reader.base);
      return carryBytes > 0 ? Buffer.concat([...carry, tail]) : Buffer.from(tail);
    };

    const endRecord = (endAbs: number) => {
      if (endAbs - recordStart > MAX_RECORD_BYTES) {
        throw tooLarge(`The record starting on line ${recordLine} is longer than ${MAX_RECORD_BYTES / 1024 / 1024} MiB, the limit of this service (a quote left open can cause this).`);
      }
      if (recordBytes === 0 && delims === 0) {
        // Blank line. Before the first record polars skips it; after, it would be an all-null row.
        if (firstRecord !== null) {
          blankLines++;
          if (!rewrite) dropRows.push(polarsRows++);
        }
      } else if (firstRecord === null) {
        const bytes = recordText(endAbs);
        firstRecord = splitRecord(bytes.toString("utf8"), delimiter, quoting);
        firstRecordLine = recordLine;
        expected = delims + 1;
        if (firstRecord.length > options.maxColumns) {
          throw tooLarge(`The file has ${firstRecord.length} columns; the limit of this service is ${options.maxColumns}.`);
        }
        if (!options.header) {
          polarsRows++;
          rows++;
          if (writer) emit(bytes);
        }
      } else {
        const found = delims + 1;
        if (found !== expected) {
          const bad = { line: recordLine, found };
          if (options.onBadRows === "fail") throw badRowError(bad, expected, options.header);
          badRecords++;
          if (badSample.length < 100) badSample.push(bad);
          if (!rewrite) dropRows.push(polarsRows);
        } else {
          rows++;
          if (rows > options.maxRows) throw tooLarge(`The file has more than ${options.maxRows} rows, the limit of this service.`);
          if (writer) emit(recordText(endAbs));
        }
        if (!rewrite) polarsRows++;
      }
      delims = 0;
      recordBytes = 0;
      fieldStart = true;
      afterQuote = false;
      carry = [];
      carryBytes = 0;
      literalInRecord = false;
      literalInField = false;
    };

    const emit = (bytes: Buffer) => {
      if (literalInRecord) {
        writer!.push(Buffer.from(splitFields(bytes.toString("utf8"), delimiter, quoting).map(rfcField).join(delimiter), "utf8"));
      } else {
        writer!.push(bytes);
      }
      writer!.push(NEWLINE);
    };

    const refuse = (kind: QuoteProblem): never => {
      const header = firstRecord === null ? (options.header ? null : []) : options.header ? firstRecord : [];
      throw quoteError(kind, line, delims, header);
    };

    /**
     * The byte-by-byte scan of what `reader.buf` holds, from `start` to its end (with a comment
     * prefix, to where too few bytes are left to match one); returns where it stopped. A small
     * synchronous function apart from the reading loop, so that V8 optimises it on its own and
     * quickly: as the body of one big async function it was recompiled several times during the
     * first uploads of a fresh parser child (~120 ms of CPU for 18 MB, against ~50 ms warm).
     */
    const scanHeld = (start: number): number => {
      const buf = reader.buf;
      const n = reader.n;
      let i = start;
      for (;;) {
        if (i >= n || (comment !== null && !reader.eof && i + comment.length > n)) return i;
        const b = buf[i]!;
        const abs = reader.base + i;
        if (terminatorCR) {
          terminatorCR = false;
          if (b === LF) {
            sawLF = true;
            recordStart = abs + 1;
            i++;
            continue;
          }
          sawBareCR = true;
        }
        if (skipping > 0 || inComment) {
          if (b === LF || b === CR) {
            if (b === LF) sawLF = true;
            if (skipping > 0) skipping--;
            else commentLines++;
            inComment = false;
            line++;
            recordLine = line;
            recordStart = abs + 1;
            terminatorCR = b === CR;
          }
          i++;
          continue;
        }
        if (inQuotes) {
          if (quotePending) {
            quotePending = false;
            if (b === QUOTE) {
              i++;
              continue;
            }
            inQuotes = false;
            afterQuote = true;
            if (quoting === "lenient" && line - quoteOpenLine + 1 >= LONG_QUOTED_LINES && (longestQuoted === null || line - quoteOpenLine + 1 > longestQuoted.lines)) {
              longestQuoted = { line: quoteOpenLine, lines: line - quoteOpenLine + 1 };
            }
            // this byte follows a closing quote: handle it below as unquoted
          } else {
            if (b === QUOTE) quotePending = true;
            else if (b === LF) {
              if (!quotedCR) line++;
            } else if (b === CR) line++;
            quotedCR = b === CR;
            i++;
            // the rest of a quoted run: only quotes and line ends matter (one tight loop, not the whole dispatch)
            if (b !== QUOTE) {
              while (i < n) {
                const c = buf[i]!;
                if (c === QUOTE || c === LF || c === CR) break;
                i++;
                quotedCR = false;
              }
            }
            continue;
          }
        }
        if (b === d) {
          delims++;
          fieldStart = true;
          literalInField = false;
          afterQuote = false;
          if (firstRecord === null && delims >= options.maxColumns) {
            throw tooLarge(`The header row has more than ${options.maxColumns} columns, the limit of this service.`);
          }
          i++;
          continue;
        }
        if (b === LF || b === CR) {
          if (b === LF) sawLF = true;
          endRecord(abs);
          line++;
          recordLine = line;
          recordStart = abs + 1;
          terminatorCR = b === CR;
          i++;
          continue;
        }
        if (afterQuote) {
          if (quoting === "strict") refuse("after");
          // lenient: the text joins the field, as Python's csv module reads it
          afterQuote = false;
          afterQuoteFields++;
          literalInRecord = true;
        }
        if (comment !== null && recordBytes === 0 && delims === 0 && b === comment[0] && startsWith(buf.subarray(0, n), i, comment)) {
          inComment = true;
          i++;
          continue;
        }
        if (b === quoteChar && fieldStart) {
          inQuotes = true;
          quotedCR = false;
          quoteOpenLine = line;
        } else if (b === QUOTE) {
          // A quote as data: outside quoting (quoting=none), or inside an unquoted field.
          if (quoting === "strict") refuse("inside");
          if (!literalInField) literalQuoteFields++;
          literalInField = true;
          literalInRecord = true;
        }
        fieldStart = false;
        recordBytes++;
        if (firstRecord === null && abs - recordStart > MAX_HEADER_BYTES) {
          throw tooLarge(`The first row is longer than ${MAX_HEADER_BYTES / 1024 / 1024} MiB; this does not look like a CSV header.`);
        }
        i++;
        // the rest of an unquoted field: plain bytes only count (one tight loop, not the whole
        // dispatch); the header row keeps the byte-by-byte path for its length check
        if (!inQuotes && firstRecord !== null) {
          const from = i;
          while (i < n) {
            const c = buf[i]!;
            if (c === d || c === LF || c === CR || c === QUOTE) break;
            i++;
          }
          recordBytes += i - from;
        }

      }
    };

    await reader.refill(0);
    // The scan starts after a UTF-8 byte-order mark (polars drops it too).
    let i = bomAt0 ? 3 : 0;
    recordStart = i;
    for (;;) {
      i = scanHeld(i);
      // at the end of the file, scanHeld stops only once every byte is scanned
      if (reader.eof) break;
      // Keep the current record's bytes (its text is needed at its end) before the buffer moves on.
      if (!inComment && skipping === 0) {
        const from = Math.max(0, recordStart - reader.base);
        if (from < i) {
          carry.push(Buffer.from(reader.buf.subarray(from, i)));
          carryBytes += i - from;
        }
      }
      if (writer) await writer.flushIfFull();
      const keep = i;
      await reader.refill(keep);
      i -= keep;
    }
    if (quotePending) inQuotes = false;
    if (inQuotes) throw unparseable(`The quoted field starting on line ${quoteOpenLine} is never closed. Quotes inside a quoted field must be doubled (""); upload with quoting=lenient if quotes appear inside unquoted text, or quoting=none if quotes are never used for quoting.`, { line: quoteOpenLine });
    if (skipping > 0) throw unparseable(`The file has fewer than ${skipLines + 1} lines: leaving out the first ${skipLines} (skipRows/headerRow) leaves nothing to read.`);
    if (inComment) commentLines++;
    else if (recordBytes > 0 || delims > 0) endRecord(reader.base + reader.n);
    if (sawLF && sawBareCR) {
      throw unparseable("The file mixes CR-only line endings with LF/CRLF line endings; save it with one line-ending style.");
    }
    if (firstRecord === null) throw unparseable(skipLines > 0 || commentLines > 0 ? "The file has no rows after the lines left out (skipRows/headerRow, comment lines)." : "The file has no rows: it contains only blank lines.");
    const first = firstRecord as string[];
    if (writer) await writer.flush();
    return {
      delimiter,
      sniffed,
      firstRecord: first,
      columnCount: first.length,
      firstRecordLine,
      polarsRows: rewrite ? rows : polarsRows,
      dropRows,
      blankLines,
      skippedLines: skipLines,
      commentLines,
      literalQuoteFields,
      afterQuoteFields,
      longestQuoted,
      badRecords,
      badSample,
      rows,
      eol: rewrite ? "\n" : sawBareCR ? "\r" : "\n",
      rowsPath: rewrite ? options.rowsPath : null,
    };
  } finally {
    await fh.close();
    await out?.close();
  }
}
