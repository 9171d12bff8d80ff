/**
 * Zip archives of OOXML workbooks: the central directory (names and declared sizes, read without
 * inflating anything: enough to tell workbooks from OpenDocument/XLSB files and to see zip bombs
 * coming), and a streaming inflation of every entry (constant memory, stopped at the first byte
 * past the cap) so that the caps hold for the real sizes, whatever the directory declares.
 */
import { createReadStream } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { createInflateRaw } from "node:zlib";
import { tooLarge, unparseable } from "../errors.ts";

export interface ZipEntry {
  name: string;
  compressedSize: number;
  uncompressedSize: number;
  /** 0 stored, 8 deflate; anything else is refused. */
  method: number;
  /** Offset of the entry's local header. */
  localOffset: number;
}

const EOCD_SIG = 0x06054b50;
const CDH_SIG = 0x02014b50;
/** End-of-central-directory record (22 bytes) plus the longest possible comment. */
const EOCD_SEARCH = 22 + 0xffff;
/** A workbook's directory is a few KB; refuse to read absurd ones. */
const MAX_DIRECTORY_BYTES = 16 * 1024 * 1024;

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}

/**
 * The entries of the zip's central directory, or null when no valid directory is found
 * (truncated or not a zip). ZIP64 sizes are reported as 0xFFFFFFFF, i.e. "huge".
 */
export async function readZipDirectory(fh: FileHandle, size: number): Promise<ZipEntry[] | null> {
  const tailStart = Math.max(0, size - EOCD_SEARCH);
  const tail = await readAt(fh, tailStart, size - tailStart);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (tail.readUInt32LE(i) === EOCD_SIG) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return null;
  const count = tail.readUInt16LE(eocd + 10);
  const dirSize = tail.readUInt32LE(eocd + 12);
  const dirOffset = tail.readUInt32LE(eocd + 16);
  if (dirSize > MAX_DIRECTORY_BYTES || dirOffset + dirSize > size) return null;
  const dir = await readAt(fh, dirOffset, dirSize);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < count && p + 46 <= dir.length; i++) {
    if (dir.readUInt32LE(p) !== CDH_SIG) return null;
    const compressedSize = dir.readUInt32LE(p + 20);
    const uncompressedSize = dir.readUInt32LE(p + 24);
    const nameLen = dir.readUInt16LE(p + 28);
    const extraLen = dir.readUInt16LE(p + 30);
    const commentLen = dir.readUInt16LE(p + 32);
    const name = dir.toString("utf8", p + 46, p + 46 + nameLen);
    entries.push({ name, compressedSize, uncompressedSize, method: dir.readUInt16LE(p + 10), localOffset: dir.readUInt32LE(p + 42) });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

export interface ZipCaps {
  /** Largest declared (and verified) uncompressed total. */
  maxTotalBytes: number;
  /** Largest compression ratio of an entry over 1 MiB uncompressed (deflate tops out near 1032). */
  maxRatio: number;
}

const MiB = 1024 * 1024;
/** ZIP64 marks sizes this way; such a workbook is beyond any limit of this service. */
const ZIP64 = 0xffffffff;

function mib(bytes: number): string {
  return bytes < MiB ? `${Math.ceil(bytes / 1024)} KiB` : `${Math.round(bytes / MiB)} MiB`;
}

/** Inflates one entry, counting bytes and stopping once past `limit`; returns the bytes counted. */
async function inflatedSize(filePath: string, start: number, compressed: number, limit: number): Promise<number> {
  if (compressed === 0) return 0;
  let count = 0;
  const input = createReadStream(filePath, { start, end: start + compressed - 1, highWaterMark: 256 * 1024 });
  const inflate = createInflateRaw();
  input.pipe(inflate);
  try {
    for await (const chunk of inflate) {
      count += (chunk as Buffer).length;
      if (count > limit) break;
    }
  } finally {
    input.destroy();
    inflate.destroy();
  }
  return count;
}

/**
 * Checks a workbook's zip before SheetJS inflates it (it inflates everything into memory, with
 * no limit of its own): declared total and per-entry ratio against `caps`, then the same caps
 * against the real sizes, every entry inflated (streaming, constant memory) and counted.
 * @throws 413 FILE_TOO_LARGE for a (would-be) zip bomb, 422 UNPARSEABLE_FILE for a damaged or
 * lying archive.
 */
export async function verifyWorkbookZip(filePath: string, entries: ZipEntry[], caps: ZipCaps): Promise<void> {
  let total = 0;
  for (const e of entries) {
    if (e.uncompressedSize === ZIP64 || e.compressedSize === ZIP64) throw tooLarge("The workbook's zip archive uses ZIP64 sizes (parts over 4 GiB), more than this service accepts.");
    total += e.uncompressedSize;
    if (e.uncompressedSize > MiB && e.uncompressedSize > e.compressedSize * caps.maxRatio) {
      throw tooLarge(`The workbook part ${JSON.stringify(e.name.slice(0, 100))} would inflate ${Math.round(e.uncompressedSize / Math.max(1, e.compressedSize))} times (to ${mib(e.uncompressedSize)}); this looks like a zip bomb and is refused.`);
    }
  }
  if (total > caps.maxTotalBytes) {
    throw tooLarge(`The workbook would decompress to ${mib(total)}, more than this service's parser can hold (${mib(caps.maxTotalBytes)}, from PARSE_MEMORY_MB).`);
  }
  const fh = await open(filePath, "r");
  let size: number;
  const starts: number[] = [];
  try {
    size = (await fh.stat()).size;
    for (const e of entries) {
      const header = await readAt(fh, e.localOffset, 30);
      if (header.length < 30 || header.readUInt32LE(0) !== 0x04034b50) throw unparseable(`The workbook's zip archive is damaged (entry ${JSON.stringify(e.name.slice(0, 100))}).`);
      starts.push(e.localOffset + 30 + header.readUInt16LE(26) + header.readUInt16LE(28));
    }
  } finally {
    await fh.close();
  }
  // Declared sizes are only a first filter: some writers get them slightly wrong (harmlessly), and
  // a bomb can lie. The real inflated bytes are what the caps apply to.
  let realTotal = 0;
  for (const [i, e] of entries.entries()) {
    const start = starts[i]!;
    const name = JSON.stringify(e.name.slice(0, 100));
    if (start + e.compressedSize > size) throw unparseable(`The workbook's zip archive is damaged (entry ${name}).`);
    if (e.method !== 0 && e.method !== 8) throw unparseable(`The workbook's zip archive uses compression method ${e.method}, which this service does not read.`);
    const budget = caps.maxTotalBytes - realTotal;
    let real: number;
    try {
      real = e.method === 0 ? e.compressedSize : await inflatedSize(filePath, start, e.compressedSize, budget);
    } catch {
      throw unparseable(`The workbook's zip archive is damaged (entry ${name} does not inflate).`);
    }
    realTotal += real;
    if (real > budget) {
      throw tooLarge(`The workbook inflates to more than ${mib(caps.maxTotalBytes)} (its zip directory declared ${mib(total)}), more than this service's parser can hold; this looks like a zip bomb and is refused.`);
    }
    if (real > MiB && real > e.compressedSize * caps.maxRatio) {
      throw tooLarge(`The workbook part ${name} inflates ${Math.round(real / Math.max(1, e.compressedSize))} times (to ${mib(real)}); this looks like a zip bomb and is refused.`);
    }
  }
}
