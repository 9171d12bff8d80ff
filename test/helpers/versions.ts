/**
 * New versions for storage tests, made the way the parser child makes them: the frame written as
 * a Parquet data file, with its checksum and column descriptions. No vitest imports, so child
 * processes of tests can use it too.
 */
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type pl from "nodejs-polars";
import { describeColumns } from "../../src/frame/dtype.ts";
import { estimatedBytes, frameHeight } from "../../src/frame/safe.ts";
import { checksumFileSync } from "../../src/storage/checksum.ts";
import type { NewVersion } from "../../src/storage/types.ts";
import type { SourceInfo } from "../../src/types.ts";

let staging: string | undefined;
function stagingDir(): string {
  if (!staging) {
    const dir = mkdtempSync(path.join(os.tmpdir(), "ds-test-staging-"));
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
    staging = dir;
  }
  return staging;
}

/** `file` defaults to a fresh path in a per-process staging folder (removed at exit). */
export function versionOf(frame: pl.DataFrame, source: SourceInfo, file = path.join(stagingDir(), `${randomUUID()}.parquet`)): NewVersion {
  frame.writeParquet(file, { compression: "zstd" });
  return { dataFile: file, source, columns: describeColumns(frame), rowCount: frameHeight(frame), frameBytes: estimatedBytes(frame), checksum: checksumFileSync(file) };
}

/** The same, written in row groups of `rowGroupSize` rows (a lazy sink, as the parser child writes). */
export async function versionInGroups(frame: pl.DataFrame, source: SourceInfo, rowGroupSize: number, file = path.join(stagingDir(), `${randomUUID()}.parquet`)): Promise<NewVersion> {
  await frame.lazy().sinkParquet(file, { compression: "zstd", rowGroupSize }).collect();
  return { dataFile: file, source, columns: describeColumns(frame), rowCount: frameHeight(frame), frameBytes: estimatedBytes(frame), checksum: checksumFileSync(file) };
}
