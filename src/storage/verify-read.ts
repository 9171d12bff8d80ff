/**
 * Verification of a version's Parquet data file before a read trusts it, shared by the backends
 * that read files in place: for a page of rows, the file's tail, its footer and the row groups
 * holding those rows (with `limit: 0`, just the footer a schema read decodes); for anything else,
 * every block. Blocks are hashed afresh on every read (a cold page reads a few blocks:
 * milliseconds), so bytes that rot while the server runs are caught too; only the decoded footer
 * layout is remembered for the life of this object.
 */
import { promises as fs } from "node:fs";
import { VerifiedFile, type Checksum } from "./checksum.ts";
import { footerRange, rangesForRows, readLayout, tailRange, type ParquetLayout } from "./parquet-ranges.ts";
import type { ReadOptions } from "./types.ts";

export class ReadVerifier {
  readonly #path: string;
  readonly #checksum: Checksum;
  #layout: ParquetLayout | undefined;

  constructor(path: string, checksum: Checksum) {
    this.#path = path;
    this.#checksum = checksum;
  }

  /** Checks what a read announced with `rows` decodes (every block without it); what is wrong, or null. */
  async verify(rows: ReadOptions["rows"]): Promise<string | null> {
    const file = new VerifiedFile(this.#path, this.#checksum);
    if (rows === undefined) return file.verify();
    const size = this.#checksum.bytes;
    const tail = await file.verifyRanges([tailRange(size)]);
    if (tail) return tail;
    if (!this.#layout) {
      let handle;
      try {
        handle = await fs.open(this.#path, "r");
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return "its data file is missing";
        throw error;
      }
      try {
        const footer = await footerRange(handle, size);
        if (typeof footer === "string") return footer;
        const problem = await file.verifyRanges([footer]);
        if (problem) return problem;
        this.#layout = await readLayout(handle, footer);
      } finally {
        await handle.close();
      }
    }
    return file.verifyRanges(rangesForRows(this.#layout, rows.offset, rows.limit));
  }
}
