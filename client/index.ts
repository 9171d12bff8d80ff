/**
 * The typed client of the dataset service: openapi-fetch over the types in ./schema.ts, which
 * `npm run generate` makes from the OpenAPI document (itself made from the route definitions).
 * Paths, parameters, bodies and answers are all checked by TypeScript:
 *
 *   const api = createDatasetClient({ baseUrl: "http://127.0.0.1:3000" });
 *   const { data, error } = await api.GET("/api/datasets", { params: { query: { name: "sales" } } });
 *   await api.POST("/api/datasets/upload", { body: { file: new File([csv], "sales.csv") }, bodySerializer: multipart });
 */
import createClient, { type Client, type ClientOptions } from "openapi-fetch";
import type { components, operations, paths } from "./schema.ts";

export type { components, operations, paths };
export type Schemas = components["schemas"];
export type Dataset = Schemas["Dataset"];
export type DatasetList = Schemas["DatasetList"];
export type DatasetDetail = Schemas["DatasetDetail"];
export type Version = Schemas["Version"];
export type VersionSummary = Schemas["VersionSummary"];
export type SourceInfo = Schemas["SourceInfo"];
export type ColumnInfo = Schemas["ColumnInfo"];
export type Created = Schemas["Created"];
export type Inspect = Schemas["Inspect"];
export type Schema = Schemas["Schema"];
export type Stats = Schemas["Stats"];
export type ColumnStats = Schemas["ColumnStats"];
export type Page = Schemas["Page"];
export type PageColumn = Schemas["PageColumn"];
export type Health = Schemas["Health"];
export type Problem = Schemas["Problem"];
/** The multipart form of an upload: `file` plus the text fields. */
export type UploadBody = operations["uploadDataset"]["requestBody"]["content"]["multipart/form-data"];

export type DatasetClient = Client<paths>;

export interface DatasetClientOptions extends ClientOptions {
  /** Bearer token, when the server has API_TOKENS. */
  token?: string | null;
}

/** A client for one server. `baseUrl` "" means the page's own origin (the web viewer). */
export function createDatasetClient({ token, headers, ...options }: DatasetClientOptions = {}): DatasetClient {
  return createClient<paths>({
    ...options,
    headers: { Accept: "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(headers as Record<string, string> | undefined) },
  });
}

/**
 * `bodySerializer` for the upload routes: the typed body as multipart/form-data. Text fields
 * first (empty ones left out), the file last, under its own name when it is a File.
 */
export function multipart(body: Record<string, unknown>): FormData {
  const form = new FormData();
  const files: [string, Blob][] = [];
  for (const [k, v] of Object.entries(body)) {
    if (v instanceof Blob) files.push([k, v]);
    else if (v !== undefined && v !== null && v !== "") form.append(k, String(v));
  }
  for (const [k, blob] of files) form.append(k, blob, blob instanceof File ? blob.name : "upload");
  return form;
}
