/**
 * Text encodings of CSV uploads: detection (BOMs, strict UTF-8 validation, a Windows-1252
 * heuristic) and transcoding to a UTF-8 temp file beside the upload, which is what polars reads.
 *
 * Detection rule (documented for users):
 * - a UTF-16 LE/BE byte-order mark → UTF-16, transcoded;
 * - valid UTF-8 (with or without BOM; the BOM is dropped) → UTF-8, read in place;
 * - otherwise, when the file holds no valid multi-byte UTF-8 sequence and none of the five bytes
 *   Windows-1252 leaves undefined → Windows-1252 (a superset of Latin-1's printable range), transcoded;
 * - otherwise (broken UTF-8) → 422 naming the byte offset of the first invalid byte.
 * `encoding=` skips detection; the file must then decode without errors in that encoding.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { open } from "node:fs/promises";
import { isUtf8 } from "node:buffer";
import { pipeline } from "node:stream/promises";
import { unparseable } from "../errors.ts";

export interface TextSource {
  /** A UTF-8 file to parse: the upload itself, or a transcoded copy. */
  path: string;
  /** The encoding the upload was in (WHATWG name: utf-8, utf-16le, utf-16be, windows-1252, …). */
  encoding: string;
  /** Set when `path` is a temp file the caller must delete. */
  tempPath: string | null;
  notes: string[];
}

const CHUNK = 1024 * 1024;

async function readHead(filePath: string, n: number): Promise<Buffer> {
  const fh = await open(filePath, "r");
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Length of the UTF-8 sequence a lead byte starts (0 for a continuation or invalid byte). */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** Where a chunk can be cut so that no multi-byte sequence is split (the rest is carried over). */
function completePrefixLength(buf: Buffer): number {
  for (let back = 1; back <= 3 && back <= buf.length; back++) {
    const b = buf[buf.length - back]!;
    if (b < 0x80) return buf.length;
    if (b >= 0xc0) return sequenceLength(b) > back ? buf.length - back : buf.length;
  }
  return buf.length;
}

/** Fast strict check of a whole file, chunk by chunk with native `isUtf8`. */
async function isUtf8File(filePath: string): Promise<boolean> {
  let carry: Buffer = Buffer.alloc(0);
  for await (const data of createReadStream(filePath, { highWaterMark: CHUNK })) {
    const chunk: Buffer = carry.length ? Buffer.concat([carry, data as Buffer]) : (data as Buffer);
    const cut = completePrefixLength(chunk);
    if (!isUtf8(chunk.subarray(0, cut))) return false;
    carry = Buffer.from(chunk.subarray(cut));
  }
  return carry.length === 0;
}

interface ByteReport {
  firstInvalidOffset: number;
  validMultibyte: number;
  undefinedIn1252: boolean;
}

/** Byte-exact UTF-8 state machine (overlongs and surrogates rejected), run only on invalid files. */
async function classifyBytes(filePath: string): Promise<ByteReport> {
  const report: ByteReport = { firstInvalidOffset: -1, validMultibyte: 0, undefinedIn1252: false };
  let need = 0;
  let lo = 0x80;
  let hi = 0xbf;
  let seqStart = 0;
  let offset = 0;
  const invalid = (at: number) => {
    if (report.firstInvalidOffset < 0) report.firstInvalidOffset = at;
  };
  for await (const data of createReadStream(filePath, { highWaterMark: CHUNK })) {
    const buf = data as Buffer;
    for (let i = 0; i < buf.length; i++, offset++) {
      const b = buf[i]!;
      if (b === 0x81 || b === 0x8d || b === 0x8f || b === 0x90 || b === 0x9d) report.undefinedIn1252 = true;
      if (need > 0) {
        if (b >= lo && b <= hi) {
          lo = 0x80;
          hi = 0xbf;
          if (--need === 0) report.validMultibyte++;
          continue;
        }
        invalid(seqStart);
        need = 0;
        // fall through: this byte starts afresh
      }
      if (b < 0x80) continue;
      seqStart = offset;
      const len = sequenceLength(b);
      if (len === 0) {
        invalid(offset);
        continue;
      }
      need = len - 1;
      if (b === 0xe0) lo = 0xa0;
      else if (b === 0xed) hi = 0x9f;
      else if (b === 0xf0) lo = 0x90;
      else if (b === 0xf4) hi = 0x8f;
    }
  }
  if (need > 0) invalid(seqStart);
  return report;
}

async function transcode(src: string, encoding: string): Promise<string> {
  const dest = `${src}.utf8`;
  const decoder = new TextDecoder(encoding, { fatal: true });
  let consumed = 0;
  try {
    await pipeline(
      createReadStream(src, { highWaterMark: CHUNK }),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          yield decoder.decode(chunk, { stream: true });
          consumed += chunk.length;
        }
        yield decoder.decode();
      },
      createWriteStream(dest),
    );
  } catch (err) {
    if (err instanceof TypeError) {
      throw unparseable(`The file is not valid ${encoding} (decoding failed in the 1 MiB block starting at byte ${consumed}).`, { encoding });
    }
    throw err;
  }
  return dest;
}

function invalidUtf8(offset: number) {
  return unparseable(
    `The file is not valid UTF-8: the byte at offset ${offset} does not belong to a UTF-8 character. If the file uses another encoding, give it with encoding= (e.g. windows-1252).`,
    { byteOffset: offset },
  );
}

/**
 * Detects (or, with `override`, applies) the file's encoding and returns a UTF-8 file to parse.
 * @throws 422 UNPARSEABLE_FILE for undecodable text.
 */
export async function prepareText(filePath: string, override?: string): Promise<TextSource> {
  const head = await readHead(filePath, 4);
  const notes: string[] = [];
  const utf8Bom = head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf;
  const bomNote = "The file starts with a UTF-8 byte-order mark, which was dropped.";

  let encoding = override;
  if (!encoding) {
    // UTF-32 starts like UTF-16 LE (FF FE) and would be misread as it: say so instead
    const utf32 = head.length >= 4 && ((head[0] === 0xff && head[1] === 0xfe && head[2] === 0 && head[3] === 0) || (head[0] === 0 && head[1] === 0 && head[2] === 0xfe && head[3] === 0xff));
    if (utf32) throw unparseable("The file is UTF-32 text (it starts with a UTF-32 byte-order mark), which this service does not read. Save it as UTF-8 (or UTF-16), e.g. `iconv -f UTF-32 -t UTF-8 file.csv > file-utf8.csv`.");
    if (head[0] === 0xff && head[1] === 0xfe) encoding = "utf-16le";
    else if (head[0] === 0xfe && head[1] === 0xff) encoding = "utf-16be";
  }
  if (encoding && encoding !== "utf-8") {
    const tempPath = await transcode(filePath, encoding);
    notes.push(`The file was decoded from ${encoding}${override ? " (as requested)" : ""} to UTF-8.`);
    return { path: tempPath, encoding, tempPath, notes };
  }
  if (await isUtf8File(filePath)) {
    if (utf8Bom) notes.push(bomNote);
    return { path: filePath, encoding: "utf-8", tempPath: null, notes };
  }
  const report = await classifyBytes(filePath);
  if (override === "utf-8" || report.validMultibyte > 0 || report.undefinedIn1252 || utf8Bom) {
    throw invalidUtf8(report.firstInvalidOffset);
  }
  const tempPath = await transcode(filePath, "windows-1252");
  notes.push("The file is not UTF-8; it was read as Windows-1252 (Latin-1). Give encoding= if that is wrong.");
  return { path: tempPath, encoding: "windows-1252", tempPath, notes };
}
