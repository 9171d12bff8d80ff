/**
 * One filtered and/or sorted page of a version that is not in the API process's memory (a cold
 * version on disk): the whole query (filter → sort → slice) runs here, and the page comes back
 * as JSON text, rendered by the same code (frame/page.ts) that renders in-memory pages.
 */
import { readPage, type Page, type PageQuery, type RowShape } from "../frame/page.ts";
import type { DataFileRef } from "../storage/types.ts";
import type { Version } from "../types.ts";
import { openDataFile } from "./data-file.ts";
import { defineJob } from "./types.ts";

export interface PageInput {
  file: DataFileRef;
  version: Version;
  query: PageQuery;
  shape: RowShape;
}

export const pageJob = defineJob<PageInput, Page>("page", async ({ file, version, query, shape }) => readPage(await openDataFile(file), version, query, shape));
