/**
 * Checksums of version data files: a whole-file SHA-256 (what a person or another tool checks)
 * plus one SHA-256 per fixed-size block, so that a reader can verify exactly the bytes it is
 * about to read (a cold page reads the footer and one row group) without hashing the whole file.
 *
 * Computed once, in the process that wrote the file (the parser child); verified by whoever reads
 * it: the API process before a cold page or a cache load, query workers before a job. Block
 * verification hashes with WebCrypto, which runs on libuv's thread pool, so the event loop only
 * schedules reads and compares strings.
 */
import { createHash, webcrypto } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";

/** Stored with every version (local: in `<n>.json`; postgres: in the registry). */
export interface Checksum {
  /** Size of the file in bytes. */
  bytes: number;
  /** Hex SHA-256 of the whole file. */
  sha256: string;
  /** Size of every block but the last. */
  blockBytes: number;
  /** Hex SHA-256 of each block, in file order. */
  blocks: string[];
}

export const BLOCK_BYTES = 1024 * 1024;

/** Whole-file and per-block SHA-256 of blocks given in file order (every block but the last full). */
function checksumOfBlocks(blockBytes: number) {
  const whole = createHash("sha256");
  const blocks: string[] = [];
  let bytes = 0;
  return {
    add(block: Buffer): void {
      whole.update(block);
      blocks.push(createHash("sha256").update(block).digest("hex"));
      bytes += block.length;
    },
    result: (): Checksum => ({ bytes, sha256: whole.digest("hex"), blockBytes, blocks }),
  };
}

/** Hashes a file in one streaming pass: whole-file and per-block SHA-256. */
export async function checksumFile(file: string, blockBytes = BLOCK_BYTES): Promise<Checksum> {
  const handle = await open(file, "r");
  try {
    const sum = checksumOfBlocks(blockBytes);
    const buf = Buffer.alloc(blockBytes);
    for (let position = 0; ; ) {
      const n = await readFull(handle, buf, position);
      if (n === 0) break;
      sum.add(buf.subarray(0, n));
      position += n;
      if (n < blockBytes) break;
    }
    return sum.result();
  } finally {
    await handle.close();
  }
}

/** The same, synchronously (tests and scripts). */
export function checksumFileSync(file: string, blockBytes = BLOCK_BYTES): Checksum {
  const fd = openSync(file, "r");
  try {
    const sum = checksumOfBlocks(blockBytes);
    const buf = Buffer.alloc(blockBytes);
    for (let position = 0; ; ) {
      let n = 0;
      while (n < blockBytes) {
        const got = readSync(fd, buf, n, blockBytes - n, position + n);
        if (got === 0) break;
        n += got;
      }
      if (n === 0) break;
      sum.add(buf.subarray(0, n));
      position += n;
      if (n < blockBytes) break;
    }
    return sum.result();
  } finally {
    closeSync(fd);
  }
}

async function readFull(handle: FileHandle, buf: Buffer, position: number): Promise<number> {
  let n = 0;
  while (n < buf.length) {
    const { bytesRead } = await handle.read(buf, n, buf.length - n, position + n);
    if (bytesRead === 0) break;
    n += bytesRead;
  }
  return n;
}

/** The blocks holding any byte of the half-open ranges `[start, end)`, ascending, without repeats. */
export function blocksCovering(ranges: readonly (readonly [number, number])[], checksum: Checksum): number[] {
  const out = new Set<number>();
  for (const [start, end] of ranges) {
    const lo = Math.max(0, Math.floor(start / checksum.blockBytes));
    const hi = Math.min(checksum.blocks.length - 1, Math.floor((Math.max(start, end) - 1) / checksum.blockBytes));
    for (let b = lo; b <= hi; b++) out.add(b);
  }
  return [...out].sort((a, b) => a - b);
}

/** Whether a checksum is one this code can use (shape only; a hand-edited record is refused). */
export function isChecksum(value: unknown): value is Checksum {
  if (typeof value !== "object" || value === null) return false;
  const c = value as Record<string, unknown>;
  const hex = (v: unknown) => typeof v === "string" && /^[0-9a-f]{64}$/.test(v);
  return (
    Number.isSafeInteger(c.bytes) &&
    (c.bytes as number) >= 0 &&
    hex(c.sha256) &&
    Number.isSafeInteger(c.blockBytes) &&
    (c.blockBytes as number) > 0 &&
    Array.isArray(c.blocks) &&
    c.blocks.every(hex) &&
    c.blocks.length === Math.ceil((c.bytes as number) / (c.blockBytes as number))
  );
}

/**
 * An open data file whose blocks are checked against its checksum before anything trusts them.
 * Verified blocks are remembered for the life of this object.
 */
export class VerifiedFile {
  readonly path: string;
  readonly checksum: Checksum;
  readonly #verified = new Set<number>();

  constructor(path: string, checksum: Checksum) {
    this.path = path;
    this.checksum = checksum;
  }

  get fullyVerified(): boolean {
    return this.#verified.size === this.checksum.blocks.length;
  }

  /**
   * Checks the given blocks (default: all) that were not checked before. Returns what is wrong
   * (missing file, wrong size, a block that does not match), or null when they are intact.
   */
  async verify(blocks?: Iterable<number>): Promise<string | null> {
    const wanted = [...(blocks ?? this.checksum.blocks.keys())].filter((b) => !this.#verified.has(b));
    if (wanted.length === 0) return null;
    let handle: FileHandle;
    try {
      handle = await open(this.path, "r");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return "its data file is missing";
      throw error;
    }
    try {
      const { size } = await handle.stat();
      if (size !== this.checksum.bytes) return `its data file has ${size} bytes, ${this.checksum.bytes} expected`;
      const { blockBytes, blocks } = this.checksum;
      // Two blocks in flight: reads and hashes overlap, memory stays at two blocks.
      const buffers = [Buffer.alloc(blockBytes), Buffer.alloc(blockBytes)];
      let problem: string | null = null;
      for (let k = 0; k < wanted.length && problem === null; k += 2) {
        const pair = wanted.slice(k, k + 2);
        const results = await Promise.all(
          pair.map(async (b, j) => {
            const buf = buffers[j]!;
            const n = await readFull(handle, buf.subarray(0, Math.min(blockBytes, size - b * blockBytes)), b * blockBytes);
            const digest = Buffer.from(await webcrypto.subtle.digest("SHA-256", buf.subarray(0, n))).toString("hex");
            return digest === blocks[b] ? null : `block ${b} (bytes ${b * blockBytes}–${b * blockBytes + n - 1}) of its data file does not match its checksum`;
          }),
        );
        problem = results.find((r) => r !== null) ?? null;
        if (problem === null) for (const b of pair) this.#verified.add(b);
      }
      return problem;
    } finally {
      await handle.close();
    }
  }

  /** Checks the blocks holding `[start, end)`. */
  verifyRanges(ranges: readonly (readonly [number, number])[]): Promise<string | null> {
    return this.verify(blocksCovering(ranges, this.checksum));
  }
}
