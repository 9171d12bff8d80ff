/** Helpers for the SQL tests: storage holding named datasets, and queries run in-process. */
import os from "node:os";
import path from "node:path";
import pl from "nodejs-polars";
import { ApiError } from "../src/errors.ts";
import { sqlError, sqlFrame, type SqlSource } from "../src/sql/execute.ts";
import { prepareSql, type PreparedSql, type TablePins } from "../src/sql/prepare.ts";
import { createLocalStorage } from "../src/storage/local.ts";
import { createMemoryStorage } from "../src/storage/memory.ts";
import type { Storage, VersionData } from "../src/storage/types.ts";
import { versionOf } from "./helpers/versions.ts";

export type Backend = "memory" | "local";

export async function makeStorage(backend: Backend, dataDir?: string): Promise<Storage> {
  if (backend === "memory") return createMemoryStorage({ budgetBytes: 1024 ** 3, filesDir: path.join(os.tmpdir(), "sql-test-memory") });
  if (!dataDir) throw new Error("local storage needs a data dir");
  return createLocalStorage({ dataDir, budgetBytes: 1024 ** 3 });
}

const source = (name: string) => ({ filename: `${name}.parquet`, format: "parquet" as const, sizeBytes: 0, sha256: "0".repeat(64), sheet: null });

/** Stores `frames` as consecutive versions of a dataset named `name`; returns its id. */
export async function putDataset(storage: Storage, name: string, ...frames: pl.DataFrame[]): Promise<string> {
  const [first, ...rest] = frames;
  if (!first) throw new Error("no frames");
  const { dataset } = await storage.createDataset({ name, description: "" }, versionOf(first, source(name), storage.stagingPath()));
  for (const f of rest) await storage.addVersion(dataset.id, versionOf(f, source(name), storage.stagingPath()));
  return dataset.id;
}

/**
 * Runs `fn` with every table of `prepared` pinned in storage (nested reads) as in-process
 * sources: the versions' own lazy frames, no query worker.
 */
export function withSources<T>(storage: Storage, prepared: PreparedSql, fn: (sources: SqlSource[]) => Promise<T>): Promise<T> {
  const step = (i: number, acc: SqlSource[]): Promise<T> => {
    const table = prepared.tables[i];
    if (!table) return fn(acc);
    return storage.read(table.datasetId, table.version.version, (data: VersionData) =>
      step(i + 1, [...acc, { internal: table.internal, label: table.label, columns: data.version.columns, frame: data.lazy() }]),
    );
  };
  return step(0, []);
}

/** Runs a query end to end in this process (prepare → pin → Polars) and collects it. */
export async function runSql(storage: Storage, query: string, pins?: TablePins): Promise<pl.DataFrame> {
  const prepared = await prepareSql(storage, query, pins);
  return withSources(storage, prepared, (sources) => sqlFrame(prepared.sql, sources).collect().catch((err: unknown) => Promise.reject(sqlError(err, sources))));
}

/** The ApiError a promise rejects with (fails the test when it resolves). */
export async function refusal(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error("expected the query to be refused");
}
