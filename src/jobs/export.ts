/**
 * A download (any format, with columns/sort/filters; frame/download.ts decides the bytes) written
 * to the spool file the API process took (`query.into`, src/spool.ts); the API streams the file to
 * the client and releases it afterwards.
 */
import { writeDownload, type DownloadQuery } from "../frame/download.ts";
import type { DataFileRef } from "../storage/types.ts";
import type { Version } from "../types.ts";
import { openDataFile } from "./data-file.ts";
import { defineJob } from "./types.ts";

export interface ExportInput {
  file: DataFileRef;
  version: Version;
  /** With `into`: the spool file (made and released by the API process) the export is written to. */
  query: DownloadQuery & { into: string };
}

export interface ExportOutput {
  path: string;
  contentType: string;
  extension: string;
}

export const exportJob = defineJob<ExportInput, ExportOutput>("export", async ({ file, version, query }) => {
  const written = await writeDownload(await openDataFile(file), version, query);
  return { path: written.path, contentType: written.contentType, extension: written.extension };
});
