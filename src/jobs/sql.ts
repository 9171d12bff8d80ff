/**
 * Query-worker jobs for SQL: run a prepared query over version data files into a result file
 * (once per query and versions), then page it as exact JSON or write it as a download. Runs in a
 * query worker, never in the API process: computing the query and formatting values it made
 * (which ingest never proved renderable) can only cost this job.
 *
 * Messages are plain JSON: the prepared text, the tables (internal name, label, columns, data
 * file path) and file paths chosen by the API process.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { writeDownload, type DownloadFormat } from "../frame/download.ts";
import { scanDataFile, sqlError, sqlFrame, type SqlSource } from "../sql/execute.ts";
import { assertRenderable, materialize, resultColumns, resultPage, type ResultPage, type RowShape } from "../sql/result.ts";
import type { ColumnInfo, Version } from "../types.ts";

export interface SqlJobTable {
  internal: string;
  label: string;
  columns: ColumnInfo[];
  /** The version's Parquet data file. */
  path: string;
}

interface SqlJobBase {
  sql: string;
  tables: SqlJobTable[];
  /** Where the whole result is (or will be) materialised. */
  resultFile: string;
}

export type SqlJob =
  | (SqlJobBase & { kind: "sql-page"; offset: number; limit: number; shape: RowShape })
  | (SqlJobBase & { kind: "sql-download"; format: DownloadFormat });

export interface SqlDownloadReply {
  path: string;
  contentType: string;
  extension: string;
}

async function ensureResult(job: SqlJobBase): Promise<void> {
  if (existsSync(job.resultFile)) return;
  const sources: SqlSource[] = job.tables.map((t) => ({ internal: t.internal, label: t.label, columns: t.columns, frame: scanDataFile(t.path) }));
  const frame = sqlFrame(job.sql, sources);
  try {
    await materialize(frame, job.resultFile);
  } catch (err) {
    // errors while computing (types that do not combine, …) in our words, without internal names
    throw sqlError(err, sources);
  }
}

/** A stand-in Version for the result file, so the download writer can describe it. */
function resultVersion(file: string, columns: { name: string; dtype: string }[]): Version {
  return {
    datasetId: `sql-result:${path.basename(file)}`,
    version: 1,
    createdAt: "",
    source: { filename: "query.parquet", format: "parquet", sizeBytes: 0, sha256: "", sheet: null },
    rowCount: 0,
    columnCount: columns.length,
    columns: columns.map((c) => ({ ...c, nullable: true })),
  };
}

export async function runSqlJob(job: SqlJob): Promise<ResultPage | SqlDownloadReply> {
  await ensureResult(job);
  if (job.kind === "sql-page") return resultPage(job.resultFile, job.offset, job.limit, job.shape);
  // text formats write dates out; Parquet and Arrow keep them as numbers
  if (job.format !== "parquet" && job.format !== "arrow") await assertRenderable(scanDataFile(job.resultFile));
  const file = await writeDownload(scanDataFile(job.resultFile), resultVersion(job.resultFile, await resultColumns(job.resultFile)), { format: job.format });
  return { path: file.path, contentType: file.contentType, extension: file.extension };
}
