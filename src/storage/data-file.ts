/**
 * A version's data file: the Parquet file the parser child writes once, which storage then moves
 * into place (local), uploads as is (postgres) or reads into its frame and keeps for the query
 * workers (memory). Everything storage needs to know about it comes with it, computed where the
 * frame is (the child), so the API process never describes a frame or hashes a file itself.
 */
import type pl from "nodejs-polars";
import { describeColumns } from "../frame/dtype.ts";
import { estimatedBytes, frameHeight, writeParquetFile } from "../frame/safe.ts";
import type { ColumnInfo } from "../types.ts";
import { checksumFile, type Checksum } from "./checksum.ts";

/** Facts about a written data file (what `NewVersion` carries besides the path and the source). */
export interface DataFileFacts {
  columns: ColumnInfo[];
  rowCount: number;
  /** Polars' estimate of the frame's size in memory (budgets and caching decide on it). */
  frameBytes: number;
  checksum: Checksum;
}

/** Writes `frame` to `file` as zstd Parquet (off the event loop) and returns its facts. */
export async function writeDataFile(frame: pl.DataFrame, file: string): Promise<DataFileFacts> {
  await writeParquetFile(frame, file);
  return { columns: describeColumns(frame), rowCount: frameHeight(frame), frameBytes: estimatedBytes(frame), checksum: await checksumFile(file) };
}
