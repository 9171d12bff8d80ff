/**
 * Every route of the service, in the order they are matched and documented. A new endpoint is one
 * `defineRoute` (see src/routes/define.ts for how) plus one line here.
 */
import type { Route } from "./define.ts";
import { deleteDataset, getDataset, listDatasets, updateDataset } from "./datasets.ts";
import { exportDataset, importDataset } from "./archive.ts";
import { getData } from "./data.ts";
import { diffRows, diffVersions } from "./diff.ts";
import { downloadVersion } from "./download.ts";
import { getFacets } from "./facets.ts";
import { health, liveness, metrics, openapi } from "./operations.ts";
import { downloadSql, runSql } from "./sql.ts";
import { addVersion, inspectUpload, uploadDataset } from "./uploads.ts";
import { deleteVersion, getSchema, getStats, getVersion, listVersions } from "./versions.ts";

export const ROUTES: readonly Route[] = [
  uploadDataset,
  inspectUpload,
  listDatasets,
  getDataset,
  updateDataset,
  deleteDataset,
  addVersion,
  listVersions,
  getVersion,
  deleteVersion,
  getSchema,
  getStats,
  getData,
  downloadVersion,
  getFacets,
  runSql,
  downloadSql,
  diffVersions,
  diffRows,
  exportDataset,
  importDataset,
  health,
  liveness,
  metrics,
  openapi,
];
