/**
 * A download (any format, with columns/sort/filters; frame/download.ts decides the bytes) written
 * to a folder the API process chose and cleans; the API streams the file to the client and
 * removes the folder afterwards.
 */
import { writeDownload, type DownloadQuery } from "../frame/download.ts";
import type { DataFileRef } from "../storage/types.ts";
import type { Version } from "../types.ts";
import { openDataFile } from "./data-file.ts";
import { defineJob } from "./types.ts";

export interface ExportInput {
  file: DataFileRef;
  version: Version;
  query: DownloadQuery;
  /** Folder (made by the API process) the export file is written in. */
  dir: string;
}

export interface ExportOutput {
  path: string;
  contentType: string;
  extension: string;
}

export const exportJob = defineJob<ExportInput, ExportOutput>("export", async ({ file, version, query, dir }) => {
  const written = await writeDownload(await openDataFile(file), version, query, { dir });
  return { path: written.path, contentType: written.contentType, extension: written.extension };
});
