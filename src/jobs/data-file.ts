/**
 * How a query worker opens a version's data file: verified against its checksum first (a damaged
 * or missing file is a 410 VERSION_DAMAGED reply, which the API turns into an excluded version),
 * then scanned lazily. A file verified once is not hashed again while its size, mtime and inode
 * stay the same, so repeated jobs on one version pay for the hash once per worker.
 */
import { stat } from "node:fs/promises";
import pl from "nodejs-polars";
import { versionDamaged } from "../errors.ts";
import { VerifiedFile } from "../storage/checksum.ts";
import type { DataFileRef } from "../storage/types.ts";

const VERIFIED_ENTRIES = 256;
const verified = new Map<string, string>();

export async function openDataFile(ref: DataFileRef): Promise<pl.LazyDataFrame> {
  let stamp: string;
  try {
    const s = await stat(ref.path);
    stamp = `${s.size}:${s.mtimeMs}:${s.ino}:${ref.checksum.sha256}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw versionDamaged("its data file is missing");
    throw error;
  }
  if (verified.get(ref.path) !== stamp) {
    const problem = await new VerifiedFile(ref.path, ref.checksum).verify();
    if (problem) throw versionDamaged(problem);
    verified.delete(ref.path);
    verified.set(ref.path, stamp);
    if (verified.size > VERIFIED_ENTRIES) verified.delete(verified.keys().next().value as string);
  }
  // No globbing or hive parsing: data folders may contain `[`, `*`, `?` or `k=v`.
  return pl.scanParquet(ref.path, { glob: false, hivePartitioning: false });
}
