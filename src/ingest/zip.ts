/**
 * Reads a zip file's central directory (names and declared sizes) without inflating anything:
 * enough to tell OOXML workbooks from OpenDocument/XLSB files and to see zip bombs coming.
 */
import type { FileHandle } from "node:fs/promises";

export interface ZipEntry {
  name: string;
  compressedSize: number;
  uncompressedSize: number;
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
    entries.push({ name, compressedSize, uncompressedSize });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}
