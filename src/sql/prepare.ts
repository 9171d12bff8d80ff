/**
 * From the client's text to the text Polars runs: parse (the parser Polars uses), check
 * (check.ts), resolve every table name to a numbered dataset version, rewrite the references to
 * internal names, and check the rewritten text once more. Runs in the API process: it touches
 * the registry and no data.
 *
 * Table names: a dataset's name (its latest version) or `name@N` (version N), compared as the
 * registry compares names (case-insensitively). A dataset literally named `x@2` is found by its
 * whole name first; `"x@2@1"` is then its version 1. Names with characters other than letters,
 * digits and `_` need double quotes (`"sales@3"`, `"my data"`), with `""` for a quote inside.
 */
import { ApiError, badRequest } from "../errors.ts";
import type { Dataset, Version } from "../types.ts";
import { checkStatement, type TableRef } from "./check.ts";
import { parseStatement, sameTreeForPolars } from "./parser.ts";
import { rewriteTables } from "./rewrite.ts";

/** What resolution needs from storage (a `Storage` is one). */
export interface Catalog {
  findByName(name: string): Promise<Dataset | null>;
  getDataset(datasetId: string): Promise<Dataset>;
  getVersion(datasetId: string, version: number | "latest"): Promise<Version>;
  listVersions(datasetId: string): Promise<Version[]>;
  listDatasets(query: { offset: number; limit: number }): Promise<{ items: Dataset[]; total: number }>;
}

/** A numbered version a query reads, and the internal name it is registered under. */
export interface SqlTable {
  internal: string;
  datasetId: string;
  /** The dataset's name at resolution time. */
  name: string;
  /** The table name as the query first wrote it (`sales`, `sales@3`), for messages. */
  label: string;
  version: Version;
}

/** The numbered version each table name of a query resolved to (what a cursor pins). */
export type TablePins = Record<string, { datasetId: string; version: number }>;

export interface PreparedSql {
  /** The client's query in canonical form (no comments, normalised spacing). */
  canonical: string;
  /** The text Polars runs: dataset references replaced by internal names. */
  sql: string;
  tables: SqlTable[];
  pins: TablePins;
}

const LISTED_NAMES = 50;

async function datasetNames(catalog: Catalog): Promise<{ names: string[]; total: number }> {
  const { items, total } = await catalog.listDatasets({ offset: 0, limit: LISTED_NAMES });
  return { names: items.map((d) => d.name), total };
}

async function unknownTable(catalog: Catalog, name: string): Promise<ApiError> {
  const { names, total } = await datasetNames(catalog);
  const list = names.length === 0 ? "There are no datasets yet." : `Datasets: ${names.map((n) => JSON.stringify(n)).join(", ")}${total > names.length ? ` (first ${names.length} of ${total})` : ""}.`;
  return badRequest(`Unknown table "${name}": tables are dataset names ("name" for the latest version, "name@3" for version 3). ${list}`, {
    parameter: "query",
    table: name,
    datasets: names,
  });
}

async function versionOf(catalog: Catalog, dataset: Dataset, version: number | "latest", asWritten: string): Promise<Version> {
  try {
    return await catalog.getVersion(dataset.id, version);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
    const numbers = (await catalog.listVersions(dataset.id)).map((v) => v.version);
    const have = numbers.length === 0 ? "it has no versions" : `its versions are ${numbers.join(", ")}`;
    throw badRequest(`Table "${asWritten}": dataset "${dataset.name}" has no version ${version}; ${have}.`, { parameter: "query", table: asWritten });
  }
}

/** The version a table name means now. */
async function resolveName(catalog: Catalog, name: string): Promise<{ dataset: Dataset; version: Version }> {
  const whole = await catalog.findByName(name);
  if (whole) return { dataset: whole, version: await versionOf(catalog, whole, "latest", name) };
  const m = /^(.+)@([1-9][0-9]{0,15})$/s.exec(name);
  if (m) {
    const dataset = await catalog.findByName(m[1] as string);
    if (dataset) return { dataset, version: await versionOf(catalog, dataset, Number(m[2]), name) };
  }
  throw await unknownTable(catalog, name);
}

/** The version a cursor pinned; gone (deleted since) is a 400 saying so. */
async function resolvePinned(catalog: Catalog, name: string, pin: { datasetId: string; version: number }): Promise<{ dataset: Dataset; version: Version }> {
  try {
    return { dataset: await catalog.getDataset(pin.datasetId), version: await catalog.getVersion(pin.datasetId, pin.version) };
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      throw badRequest(`Table "${name}": version ${pin.version} that this cursor was reading has been deleted; run the query again.`, { parameter: "cursor", table: name });
    }
    throw err;
  }
}

/** An internal table name that appears nowhere in the query text (so it cannot meet a CTE or alias). */
function internalNames(text: string): () => string {
  const lower = text.toLowerCase();
  let prefix = "__ds";
  while (lower.includes(prefix)) prefix += "_";
  let n = 0;
  return () => `${prefix}${n++}`;
}

/**
 * Parses, checks and resolves a query. `pins` (from a cursor) fixes the versions table names
 * resolve to. 400 for anything refused, any unknown table or version, and syntax errors.
 */
export async function prepareSql(catalog: Catalog, query: string, pins?: TablePins): Promise<PreparedSql> {
  const parsed = parseStatement(query);
  const refs = checkStatement(parsed.statement);
  const next = internalNames(parsed.canonical);
  const byVersion = new Map<string, SqlTable>();
  const byName = new Map<string, SqlTable>();
  const outPins: TablePins = {};
  for (const ref of refs) {
    if (byName.has(ref.name)) continue;
    const pin = pins?.[ref.name];
    if (pins && !pin) throw badRequest("This cursor belongs to another query: send it with the query it came from.", { parameter: "cursor" });
    const { dataset, version } = pin ? await resolvePinned(catalog, ref.name, pin) : await resolveName(catalog, ref.name);
    const key = `${version.datasetId}\u0000${version.version}`;
    let table = byVersion.get(key);
    if (!table) {
      table = { internal: next(), datasetId: version.datasetId, name: dataset.name, label: ref.name, version };
      byVersion.set(key, table);
    }
    byName.set(ref.name, table);
    outPins[ref.name] = { datasetId: version.datasetId, version: version.version };
  }
  const internalOf = (ref: TableRef) => (byName.get(ref.name) as SqlTable).internal;
  const sql = rewriteTables(parsed.canonical, refs, internalOf);
  // Defence in depth: the rewritten text must parse, pass the same check, and name only our tables.
  const internals = new Set([...byVersion.values()].map((t) => t.internal));
  const final = parseStatement(sql);
  const again = checkStatement(final.statement);
  if (final.canonical !== sql || again.some((r) => !internals.has(r.name)) || !sameTreeForPolars(sql, final.statement)) {
    throw badRequest("This query could not be checked; rewrite it more plainly.", { parameter: "query" });
  }
  return { canonical: parsed.canonical, sql, tables: [...byVersion.values()], pins: outPins };
}
