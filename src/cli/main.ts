/**
 * `dataset-service`: a small command line for the service, on the typed client in client/.
 *
 *   npx dataset-service upload data/*.csv --name sales     # first file creates "sales", the rest add versions
 *   npx dataset-service list
 *   npx dataset-service download sales --format parquet -o sales.parquet
 *   npx dataset-service diff sales --from 1 --to latest --key id --rows changed
 *
 * The server comes from --server or $DATASET_SERVICE (default http://127.0.0.1:3000), a bearer token
 * from --token or $DATASET_SERVICE_TOKEN. Errors are the server's problem details in one line, exit 1.
 */
import { Command, Option } from "commander";
import { createWriteStream, openAsBlob } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { Readable, Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createDatasetClient, multipart, type DatasetClient, type UploadBody } from "../../client/index.ts";
import { counting, progressBar } from "./progress.ts";

interface Globals {
  server: string;
  token?: string;
  progress?: boolean;
}

class CliError extends Error {}

/** The data of an openapi-fetch answer, or a CliError worded from the problem details. */
async function ok<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await request;
  if (response.ok) return data as T;
  const p = (error ?? {}) as { title?: string; detail?: string; code?: string };
  throw new CliError(`${response.status} ${p.code ?? p.title ?? response.statusText}: ${p.detail ?? p.title ?? "request failed"}`);
}

function client(g: Globals): DatasetClient {
  return createDatasetClient({ baseUrl: g.server.replace(/\/+$/, ""), token: g.token ?? process.env.DATASET_SERVICE_TOKEN ?? null });
}

const showProgress = (g: Globals) => g.progress ?? process.stderr.isTTY === true;

/** A dataset by id, else by exact name (ignoring case, as the service compares names). */
async function findDataset(api: DatasetClient, ref: string): Promise<{ id: string; name: string } | null> {
  const byName = await ok(api.GET("/api/datasets", { params: { query: { name: ref } } }));
  if (byName.items[0]) return byName.items[0];
  if (!/^[0-9a-f-]{36}$/i.test(ref)) return null;
  const { data, response } = await api.GET("/api/datasets/{datasetId}", { params: { path: { datasetId: ref } } });
  if (response.status === 404) return null;
  if (!data) throw new CliError(`${response.status}: could not read dataset ${ref}`);
  return data;
}

async function requireDataset(api: DatasetClient, ref: string): Promise<{ id: string; name: string }> {
  const d = await findDataset(api, ref);
  if (!d) throw new CliError(`No dataset named or with id "${ref}" (see \`dataset-service list\`).`);
  return d;
}

/** A fetch that streams the request body through a progress counter (undici needs duplex for a stream). */
function fetchWithProgress(label: string, total: number, enabled: boolean): { fetch: (r: Request) => Promise<Response>; done: () => void } {
  const bar = progressBar(label, total, enabled);
  return {
    fetch: (req) => (req.body ? fetch(new Request(req, { body: req.body.pipeThrough(counting(bar)), duplex: "half" } as RequestInit)) : fetch(req)),
    done: () => bar.done(),
  };
}

interface UploadOpts {
  name?: string;
  description?: string;
  sheet?: string;
  delimiter?: string;
  encoding?: string;
  header: boolean;
  schema?: string;
  onBadRows?: "fail" | "skip";
  ifChanged?: boolean;
  option: string[];
}

/** The parsing fields of the form: the named options plus any `--option key=value`. */
function parseFields(o: UploadOpts): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const k of ["sheet", "delimiter", "encoding", "schema", "onBadRows"] as const) if (o[k] !== undefined) fields[k] = o[k]!;
  if (!o.header) fields.header = "false";
  if (o.ifChanged) fields.ifChanged = "true";
  for (const kv of o.option) {
    const eq = kv.indexOf("=");
    if (eq <= 0) throw new CliError(`--option wants key=value, got "${kv}"`);
    fields[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  return fields;
}

async function upload(g: Globals, files: string[], o: UploadOpts): Promise<void> {
  const api = client(g);
  const fields = parseFields(o);
  for (const file of files) {
    const size = (await stat(file)).size;
    const blob = new File([await openAsBlob(file)], path.basename(file));
    const name = o.name ?? path.basename(file).replace(/\.[^.]+$/, "");
    const existing = await findDataset(api, name);
    const send = fetchWithProgress(path.basename(file), size, showProgress(g));
    let created;
    try {
      created = existing
        ? await ok(api.POST("/api/datasets/{datasetId}/versions", { params: { path: { datasetId: existing.id } }, body: { ...fields, file: blob } as UploadBody, bodySerializer: multipart, fetch: send.fetch }))
        : await ok(api.POST("/api/datasets/upload", { body: { ...fields, name, ...(o.description ? { description: o.description } : {}), file: blob } as UploadBody, bodySerializer: multipart, fetch: send.fetch }));
    } finally {
      send.done();
    }
    const v = created.version;
    if ("unchanged" in created && created.unchanged) {
      console.log(`${file} → ${created.dataset.name} unchanged: the same bytes as v${v.version}, nothing stored`);
      continue;
    }
    console.log(`${file} → ${created.dataset.name} v${v.version} (${v.rowCount} rows, ${v.columnCount} columns) ${created.dataset.id}`);
    for (const note of v.source.notes ?? []) console.log(`  note: ${note}`);
  }
}

async function list(g: Globals, o: { json?: boolean }): Promise<void> {
  const api = client(g);
  const items = [];
  for (let offset = 0; ; ) {
    const page = await ok(api.GET("/api/datasets", { params: { query: { offset, limit: 1000 } } }));
    items.push(...page.items);
    offset += page.items.length;
    if (page.items.length === 0 || offset >= page.total) break;
  }
  if (o.json) {
    console.log(JSON.stringify(items, null, 2));
    return;
  }
  if (items.length === 0) {
    console.log("No datasets.");
    return;
  }
  const rows = [["NAME", "VERSIONS", "LATEST", "UPDATED", "ID"], ...items.map((d) => [d.name, String(d.versionCount), d.latestVersion ? `v${d.latestVersion}` : "-", d.updatedAt.slice(0, 19).replace("T", " "), d.id])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  "));
}

interface DownloadOpts {
  version: string;
  format?: "csv" | "parquet" | "ndjson" | "json" | "arrow";
  output?: string;
  columns?: string;
  sort?: string;
  filter: string[];
}

/** The file name of a Content-Disposition header (the UTF-8 form first). */
function dispositionName(header: string | null): string | null {
  if (!header) return null;
  const star = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (star) return decodeURIComponent(star[1]!);
  return /filename="([^"]+)"/i.exec(header)?.[1] ?? null;
}

async function download(g: Globals, ref: string, o: DownloadOpts): Promise<void> {
  const api = client(g);
  const d = await requireDataset(api, ref);
  const { data, error, response } = await api.GET("/api/datasets/{datasetId}/versions/{version}/download", {
    params: { path: { datasetId: d.id, version: o.version }, query: { format: o.format, columns: o.columns, sort: o.sort, filter: o.filter.length ? o.filter : undefined } },
    parseAs: "stream",
  });
  if (!response.ok || !data) await ok(Promise.resolve({ data: undefined, error, response }));
  // The server's name (dataset-v3.csv) unless told otherwise; "-" is standard output.
  const target = o.output ?? path.basename(dispositionName(response.headers.get("content-disposition")) ?? `${d.name}-v${o.version}`);
  const toStdout = target === "-";
  const bar = progressBar(toStdout ? "download" : target, Number(response.headers.get("content-length") ?? 0), showProgress(g));
  try {
    const body = (data as ReadableStream<Uint8Array>).pipeThrough(counting(bar));
    await pipeline(Readable.fromWeb(body as import("node:stream/web").ReadableStream), toStdout ? Writable.fromWeb(new WritableStream({ write: (c) => void process.stdout.write(c) })) : createWriteStream(target));
  } finally {
    bar.done();
  }
  if (!toStdout) console.error(`saved ${target}`);
}

interface DiffOpts {
  from?: string;
  to: string;
  key?: string;
  rows?: "changed" | "added" | "removed";
  limit: string;
  json?: boolean;
}

/** A value as a person reads it in one line: null stands out, text is quoted only when it must be. */
function show(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "string") return v === "" || /^\s|\s$|,/.test(v) ? JSON.stringify(v) : v;
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

async function diff(g: Globals, ref: string, o: DiffOpts): Promise<void> {
  const api = client(g);
  const d = await requireDataset(api, ref);
  const key = o.key ? o.key.split(",").map((k) => k.trim()).filter((k) => k !== "") : undefined;
  const query = { ...(o.from ? { from: o.from } : {}), to: o.to, ...(key?.length ? { key } : {}) };
  const summary = await ok(api.GET("/api/datasets/{datasetId}/diff", { params: { path: { datasetId: d.id }, query } }));
  const limit = Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new CliError(`--limit wants a whole number of rows, got "${o.limit}"`);
  const page = o.rows ? await ok(api.GET("/api/datasets/{datasetId}/diff/rows", { params: { path: { datasetId: d.id }, query: { ...query, kind: o.rows, limit } } })) : null;
  if (o.json) {
    console.log(JSON.stringify(page ? { ...summary, page } : summary, null, 2));
    return;
  }
  const s = summary.schema;
  console.log(`${d.name}: v${summary.from} → v${summary.to}, ${summary.key.length ? `rows matched by ${summary.key.join(", ")}` : "whole rows compared (no key)"}`);
  const schema = [
    ...s.added.map((c) => `+ ${c.name} (${c.dtype})`),
    ...s.removed.map((c) => `- ${c.name} (${c.dtype})`),
    ...s.changed.map((c) => `~ ${c.name} ${c.from} → ${c.to}`),
  ];
  console.log(`columns: ${schema.length ? schema.join("; ") : "the same"}`);
  const r = summary.rows;
  console.log(`rows: ${r.added} added, ${r.removed} removed, ${summary.key.length ? `${r.changed} changed, ` : ""}${r.unchanged} unchanged`);
  if (!page) return;
  console.log(`\n${page.kind} rows${page.totalRows > page.rows.length ? ` (first ${page.rows.length} of ${page.totalRows})` : ""}:`);
  for (const row of page.rows) {
    if (page.kind === "changed") {
      const c = row as { key: Record<string, unknown>; from: Record<string, unknown>; to: Record<string, unknown>; columns: string[] };
      const k = Object.entries(c.key).map(([n, v]) => `${n}=${show(v)}`).join(" ");
      console.log(`  ${k}: ${c.columns.map((n) => `${n} ${show(c.from[n])} → ${show(c.to[n])}`).join(", ")}`);
    } else {
      const obj = row as Record<string, unknown>;
      console.log(`  ${page.columns.map((col) => `${col.name}=${show(obj[col.name])}`).join(" ")}`);
    }
  }
}

const program = new Command("dataset-service")
  .description("Upload, list, download and compare the datasets of a dataset service.")
  .option("-s, --server <url>", "the service's URL (or $DATASET_SERVICE)", process.env.DATASET_SERVICE ?? "http://127.0.0.1:3000")
  .option("-t, --token <token>", "bearer token, when the service has API_TOKENS (or $DATASET_SERVICE_TOKEN)")
  .option("--progress", "progress bars even when stderr is not a terminal")
  .option("--no-progress", "no progress bars");

const collect = (v: string, all: string[]) => [...all, v];

program
  .command("upload")
  .description("upload files: each file becomes a new dataset, or a new version of the dataset with that name")
  .argument("<files...>", "CSV/TSV, Excel (.xlsx, .xlsm, .xls) or Parquet files")
  .option("-n, --name <name>", "dataset name for every file (default: each file's name without extension)")
  .option("-d, --description <text>", "description of a dataset this creates")
  .option("--sheet <sheet>", "Excel sheet name or 0-based index")
  .option("--delimiter <char>", "CSV delimiter (default: detected)")
  .option("--encoding <label>", "CSV encoding (default: detected)")
  .option("--no-header", "the first row is data, not column names")
  .option("--schema <json>", 'forced column types, e.g. {"zip":"String"}')
  .addOption(new Option("--on-bad-rows <mode>", "rows with the wrong number of fields").choices(["fail", "skip"]))
  .option("--if-changed", "store nothing when a file's bytes equal the dataset's latest version")
  .option("-o, --option <key=value>", "any other parsing option of the upload form (repeatable)", collect, [])
  .action((files: string[], o: UploadOpts) => upload(program.opts<Globals>(), files, o));

program
  .command("list")
  .description("list datasets")
  .option("--json", "print the dataset objects as JSON")
  .action((o: { json?: boolean }) => list(program.opts<Globals>(), o));

program
  .command("download")
  .description("download a version (the whole of it, or with columns, sort and filters)")
  .argument("<dataset>", "dataset name or id")
  .option("-v, --version <n>", "version number or latest", "latest")
  .addOption(new Option("-f, --format <format>", "file format (default: the source's family)").choices(["csv", "parquet", "ndjson", "json", "arrow"]))
  .option("-o, --output <file>", "where to write (default: the server's file name; - for standard output)")
  .option("--columns <a,b>", "only these columns, in this order")
  .option("--sort <a,-b>", "sort by these columns (- for descending)")
  .option("--filter <col:op:value>", "row filter (repeatable)", collect, [])
  .action((ref: string, o: DownloadOpts) => download(program.opts<Globals>(), ref, o));

program
  .command("diff")
  .description("compare two versions: column changes, row counts, and optionally the differing rows")
  .argument("<dataset>", "dataset name or id")
  .option("--from <n>", "the older version (default: the one before --to)")
  .option("--to <n>", "the newer version, a number or latest", "latest")
  .option("-k, --key <a,b>", "key columns: rows match by key, so changed rows show which cells changed")
  .addOption(new Option("--rows <kind>", "also print these differing rows").choices(["changed", "added", "removed"]))
  .option("--limit <n>", "at most this many rows with --rows", "20")
  .option("--json", "print the server's answer as JSON")
  .action((ref: string, o: DiffOpts) => diff(program.opts<Globals>(), ref, o));

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof CliError) console.error(`error: ${err.message}`);
  else if (err instanceof TypeError && /fetch failed/.test(err.message)) console.error(`error: cannot reach ${program.opts<Globals>().server} (${(err.cause as Error | undefined)?.message ?? err.message})`);
  else console.error(err);
  process.exitCode = 1;
}
