/**
 * Query-worker jobs for SQL: run a prepared query (sql/prepare.ts) over version data files into a
 * result file (once per query and versions), then page it as exact JSON (`sqlPage`) or write it
 * as a download (`sqlDownload`). Computing the query and formatting the values it made (which
 * ingest never proved renderable, e.g. a date plus a huge interval) happen here, never in the API
 * process.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { writeDownload, type DownloadFormat } from "../frame/download.ts";
import { sqlError, sqlFrame, type SqlSource, scanDataFile } from "../sql/execute.ts";
import { assertRenderable, materialize, resultColumns, resultPage, type ResultPage, type RowShape } from "../sql/result.ts";
import type { DataFileRef } from "../storage/types.ts";
import type { ColumnInfo, Version } from "../types.ts";
import { step } from "../sandbox/child.ts";
import { openDataFile } from "./data-file.ts";
import { defineJob } from "./types.ts";

export interface SqlJobTable {
  internal: string;
  label: string;
  columns: ColumnInfo[];
  file: DataFileRef;
}

export interface SqlJobBase {
  /** The prepared text (internal table names). */
  sql: string;
  tables: SqlJobTable[];
  /** Where the whole result is (or will be) materialised; chosen by the API process. */
  resultFile: string;
}

export interface SqlPageInput extends SqlJobBase {
  offset: number;
  limit: number;
  shape: RowShape;
}

export interface SqlDownloadInput extends SqlJobBase {
  format: DownloadFormat;
  /** The spool file (taken and released by the API process) the download is written to. */
  into: string;
}

export interface SqlDownloadOutput {
  path: string;
  contentType: string;
  extension: string;
}

async function ensureResult(job: SqlJobBase): Promise<void> {
  if (existsSync(job.resultFile)) return;
  const sources: SqlSource[] = await Promise.all(job.tables.map(async (t) => ({ internal: t.internal, label: t.label, columns: t.columns, frame: await openDataFile(t.file) })));
  const frame = sqlFrame(job.sql, sources);
  step("run the SQL query");
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

export const sqlPageJob = defineJob<SqlPageInput, ResultPage>("sqlPage", async (job) => {
  await ensureResult(job);
  step("render the SQL result as JSON");
  return resultPage(job.resultFile, job.offset, job.limit, job.shape);
});

export const sqlDownloadJob = defineJob<SqlDownloadInput, SqlDownloadOutput>("sqlDownload", async (job) => {
  await ensureResult(job);
  // text formats write dates out; Parquet and Arrow keep them as numbers
  if (job.format !== "parquet" && job.format !== "arrow") await assertRenderable(scanDataFile(job.resultFile));
  step(`write the SQL result as ${job.format}`);
  const file = await writeDownload(scanDataFile(job.resultFile), resultVersion(job.resultFile, await resultColumns(job.resultFile)), { format: job.format, into: job.into });
  return { path: file.path, contentType: file.contentType, extension: file.extension };
});
