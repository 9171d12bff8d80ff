/** Shapes of the public API (see /work/shared/API.md) as the viewer reads them. */

export interface Dataset {
  id: string;
  name: string;
  description: string;
  createdAt: string;
  updatedAt: string;
  latestVersion: number | null;
  versionCount: number;
}

export interface ColumnInfo {
  name: string;
  dtype: string;
  nullable?: boolean;
}

export interface SourceInfo {
  filename: string;
  format: string;
  sizeBytes: number;
  sha256?: string;
  sheet?: string | null;
  encoding?: string;
  delimiter?: string;
  skippedRows?: number;
  skippedLines?: number[];
}

export interface Version {
  datasetId: string;
  version: number;
  createdAt: string;
  source: SourceInfo;
  rowCount: number;
  columnCount: number;
  columns?: ColumnInfo[];
}

export interface DatasetDetail extends Dataset {
  versions: Version[];
}

export interface DatasetList {
  items: Dataset[];
  total: number;
  offset: number;
  limit: number;
}

export interface UploadResult {
  dataset: Dataset;
  version: Version;
}

export type Cell = string | number | boolean | null;

export interface DataPage {
  datasetId: string;
  version: number;
  offset: number;
  limit: number;
  totalRows: number;
  columns: ColumnInfo[];
  rows: Record<string, Cell>[];
  next?: string | null;
}

export interface Histogram {
  edges: (number | string | null)[];
  counts: number[];
}

export interface ColumnStats {
  name: string;
  dtype: string;
  count: number;
  nullCount: number;
  distinctCount?: number | null;
  nanCount?: number;
  min?: number | string | null;
  max?: number | string | null;
  mean?: number | null;
  std?: number | null;
  median?: number | null;
  quantiles?: Partial<Record<"p05" | "p25" | "p75" | "p95", number | null>> | null;
  histogram?: Histogram | null;
  zeros?: number;
  minLength?: number | null;
  maxLength?: number | null;
  meanLength?: number | null;
  topValues?: { value: string | null; count: number }[];
  trueCount?: number;
  falseCount?: number;
}

export interface Stats {
  datasetId: string;
  version: number;
  rowCount: number;
  columns: ColumnStats[];
}

/** RFC 9457 problem details, as the service sends them. */
export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  code?: string;
  datasetId?: string;
  [extra: string]: unknown;
}
