/**
 * Decides an upload's format from its content (magic bytes, zip directory) together with its
 * extension. Content wins over the name; a name that contradicts the content is a 415, because a
 * guess either way would hand the user garbage (random bytes named .xls parse into "rows").
 */
import { open } from "node:fs/promises";
import path from "node:path";
import { unparseable, unsupported } from "../errors.ts";
import type { FileFormat } from "../types.ts";
import { readZipDirectory, type ZipEntry } from "./zip.ts";

export type Family = "text" | "excel" | "parquet";

export interface Detection {
  family: Family;
  /** Final for Excel and Parquet; for text, "csv" until the delimiter is known. */
  format: FileFormat;
  /** The lower-cased extension without the dot ("" when none). */
  extension: string;
  /** Zip directory of an OOXML workbook (for size checks before inflating). */
  zipEntries?: ZipEntry[];
  notes: string[];
}

const HEAD_BYTES = 64 * 1024;

const EXTENSION_FAMILY: Record<string, Family> = {
  csv: "text",
  tsv: "text",
  tab: "text",
  txt: "text",
  xlsx: "excel",
  xlsm: "excel",
  xls: "excel",
  parquet: "parquet",
  pq: "parquet",
};

/** Extensions of formats people often try, answered with a specific 415. */
const KNOWN_UNSUPPORTED: Record<string, string> = {
  ods: "OpenDocument spreadsheets (.ods)",
  xlsb: "binary Excel workbooks (.xlsb)",
  numbers: "Apple Numbers files",
  json: "JSON files",
  ndjson: "NDJSON files",
  jsonl: "JSON Lines files",
  zip: "zip archives",
  gz: "gzip-compressed files",
  pdf: "PDF files",
  arrow: "Arrow IPC files",
  feather: "Feather files",
  avro: "Avro files",
  orc: "ORC files",
};

const SUPPORTED = "Supported formats are CSV/TSV, Excel (.xlsx, .xlsm, .xls) and Parquet.";

const OLE2 = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);

type Content =
  | { kind: "text" }
  | { kind: "parquet" }
  | { kind: "ooxml"; macro: boolean; entries: ZipEntry[] }
  | { kind: "ole2" }
  | { kind: "other"; what: string };

/** Text has no NUL bytes and few control characters; anything else is binary. */
function looksLikeText(head: Buffer): boolean {
  let controls = 0;
  for (const b of head) {
    if (b === 0) return false;
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c) controls++;
  }
  return controls <= head.length / 100;
}

/** A UTF-16 byte-order mark, or a UTF-32 one (text too: encoding.ts refuses it in words that say so). */
function hasUtf16Bom(head: Buffer): boolean {
  const utf32be = head.length >= 4 && head[0] === 0 && head[1] === 0 && head[2] === 0xfe && head[3] === 0xff;
  return utf32be || (head.length >= 2 && ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff)));
}

async function sniffContent(filePath: string, size: number, encodingHint: string | undefined): Promise<Content> {
  const fh = await open(filePath, "r");
  try {
    const head = Buffer.alloc(Math.min(size, HEAD_BYTES));
    await fh.read(head, 0, head.length, 0);
    const tail = Buffer.alloc(Math.min(size, 4));
    await fh.read(tail, 0, tail.length, size - tail.length);

    // "PARE": a Parquet file with an encrypted footer; the footer check explains it.
    if (head.subarray(0, 4).toString("latin1") === "PARE") return { kind: "parquet" };
    if (head.subarray(0, 4).toString("latin1") === "PAR1") {
      if (size >= 12 && tail.toString("latin1") === "PAR1") return { kind: "parquet" };
      return { kind: "other", what: "a truncated Parquet file (its footer is missing)" };
    }
    if (head[0] === 0x50 && head[1] === 0x4b && (head[2] === 0x03 || head[2] === 0x05)) {
      const entries = await readZipDirectory(fh, size);
      if (!entries) return { kind: "other", what: "a damaged zip archive" };
      const names = new Set(entries.map((e) => e.name));
      if (names.has("xl/workbook.xml")) return { kind: "ooxml", macro: names.has("xl/vbaProject.bin"), entries };
      if (names.has("xl/workbook.bin")) return { kind: "other", what: "a binary Excel workbook (.xlsb)" };
      if (names.has("mimetype") && names.has("content.xml")) return { kind: "other", what: "an OpenDocument file (.ods)" };
      return { kind: "other", what: "a zip archive that is not an Excel workbook" };
    }
    if (head.subarray(0, 8).equals(OLE2)) return { kind: "ole2" };
    if (hasUtf16Bom(head)) return { kind: "text" };
    // A declared UTF-16 encoding legitimately has NUL bytes; let the decoder judge it.
    if (encodingHint?.startsWith("utf-16")) return { kind: "text" };
    if (looksLikeText(head)) return { kind: "text" };
    return { kind: "other", what: "binary data" };
  } finally {
    await fh.close();
  }
}

/**
 * Detects the format of the file at `filePath` uploaded as `originalName`.
 * @throws 422 UNPARSEABLE_FILE for an empty file, 415 UNSUPPORTED_FORMAT for anything unsupported or contradictory.
 */
export async function detectFormat(filePath: string, originalName: string, size: number, encodingHint?: string): Promise<Detection> {
  if (size === 0) throw unparseable("The file is empty.");
  const extension = path.extname(originalName).slice(1).toLowerCase();
  const unsupportedName = KNOWN_UNSUPPORTED[extension];
  if (unsupportedName) throw unsupported(`${unsupportedName} are not supported. ${SUPPORTED}`);
  const claimed: Family | undefined = EXTENSION_FAMILY[extension];
  const content = await sniffContent(filePath, size, encodingHint);
  const notes: string[] = [];

  switch (content.kind) {
    case "other":
      throw unsupported(`The file ${JSON.stringify(originalName)} contains ${content.what}${claimed === "text" ? `, not text: a .${extension} file must be text (no NUL bytes)` : ""}. ${SUPPORTED}`);
    case "text":
      if (claimed && claimed !== "text") {
        throw unsupported(`The file is named .${extension} but contains text, not ${claimed === "excel" ? "an Excel workbook" : "Parquet data"}. ${SUPPORTED}`);
      }
      return { family: "text", format: extension === "tsv" || extension === "tab" ? "tsv" : "csv", extension, notes };
    case "parquet":
      if (claimed && claimed !== "parquet") throw unsupported(`The file is named .${extension} but contains Parquet data; rename it to .parquet.`);
      return { family: "parquet", format: "parquet", extension, notes };
    case "ooxml":
    case "ole2": {
      if (claimed && claimed !== "excel") {
        throw unsupported(`The file is named .${extension} but contains an Excel workbook; rename it to .xlsx or .xls.`);
      }
      const format: FileFormat = content.kind === "ole2" ? "xls" : content.macro || extension === "xlsm" ? "xlsm" : "xlsx";
      // Within the Excel family a wrong extension is common and harmless: read what is there.
      if (claimed && extension !== format && !(extension === "xlsx" && format === "xlsm")) {
        notes.push(`The file is named .${extension} but is an ${format === "xls" ? "Excel 97-2003 (.xls)" : "Office Open XML (.xlsx/.xlsm)"} workbook; it was read as such.`);
      }
      return { family: "excel", format, extension, zipEntries: content.kind === "ooxml" ? content.entries : undefined, notes };
    }
  }
}
