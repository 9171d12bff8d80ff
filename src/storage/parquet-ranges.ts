/**
 * Which bytes of a Parquet data file a read needs: the footer, and for a slice of rows the column
 * chunks (plus their page indexes) of the row groups that hold those rows. Used to verify exactly
 * those blocks before a cold page is read (checksum.ts), so the first page of a version on disk
 * stays fast while nothing unverified is ever decoded. The footer is decoded with ingest's
 * bounded Thrift reader, after its own blocks were verified.
 */
import type { FileHandle } from "node:fs/promises";
import { bigintOf, decodeStruct, intOf, listOf, structOf, type TStruct } from "../ingest/thrift.ts";

export type ByteRange = readonly [start: number, end: number];

export interface RowGroupBytes {
  firstRow: number;
  rows: number;
  /** Byte ranges of the row group's column chunks and page indexes. */
  ranges: ByteRange[];
}

export interface ParquetLayout {
  /** The footer: metadata, its length and the closing magic. */
  footer: ByteRange;
  rowGroups: RowGroupBytes[];
}

/** The last 8 bytes: footer length and `PAR1`. */
export function tailRange(size: number): ByteRange {
  return [Math.max(0, size - 8), size];
}

/** The footer's range, from the file's last 8 bytes (which the caller verified). */
export async function footerRange(handle: FileHandle, size: number): Promise<ByteRange | string> {
  if (size < 12) return "its data file is too short to be Parquet";
  const tail = Buffer.alloc(8);
  await handle.read(tail, 0, 8, size - 8);
  if (tail.toString("latin1", 4) !== "PAR1") return "its data file lacks the Parquet magic bytes";
  const length = tail.readUInt32LE(0);
  if (length > size - 12) return "its data file's footer is longer than the file";
  return [size - 8 - length, size];
}

/** Decodes the (verified) footer into row groups and the bytes each one spans. */
export async function readLayout(handle: FileHandle, footer: ByteRange): Promise<ParquetLayout> {
  const bytes = Buffer.alloc(footer[1] - footer[0] - 8);
  await handle.read(bytes, 0, bytes.length, footer[0]);
  const meta = decodeStruct(bytes).value;
  const rowGroups: RowGroupBytes[] = [];
  let firstRow = 0;
  for (const rg of listOf(meta, 4)) {
    if (!(rg instanceof Map)) continue;
    const rows = Number(bigintOf(rg, 3) ?? 0n);
    const ranges: ByteRange[] = [];
    for (const chunk of listOf(rg, 1)) {
      if (!(chunk instanceof Map)) continue;
      ranges.push(...chunkRanges(chunk));
    }
    rowGroups.push({ firstRow, rows, ranges });
    firstRow += rows;
  }
  return { footer, rowGroups };
}

function chunkRanges(chunk: TStruct): ByteRange[] {
  const out: ByteRange[] = [];
  const meta = structOf(chunk, 3);
  if (meta) {
    const data = intOf(meta, 9) ?? 0;
    const dict = intOf(meta, 11);
    const start = dict !== undefined && dict > 0 && dict < data ? dict : data;
    out.push([start, start + Math.max(0, intOf(meta, 7) ?? 0)]);
  }
  // offset index (4, 5) and column index (6, 7), which readers may consult
  for (const [offsetId, lengthId] of [[4, 5], [6, 7]] as const) {
    const offset = intOf(chunk, offsetId);
    const length = intOf(chunk, lengthId);
    if (offset !== undefined && length !== undefined && offset >= 0 && length > 0) out.push([offset, offset + length]);
  }
  return out;
}

/** The byte ranges a read of rows `[offset, offset + limit)` needs (all columns). */
export function rangesForRows(layout: ParquetLayout, offset: number, limit: number): ByteRange[] {
  const out: ByteRange[] = [layout.footer];
  const end = offset + limit;
  for (const rg of layout.rowGroups) {
    if (limit <= 0) break;
    if (rg.firstRow + rg.rows <= offset || rg.firstRow >= end) continue;
    out.push(...rg.ranges);
  }
  return out;
}
