/**
 * The versions a prepared query reads, pinned in storage for as long as the query runs, as
 * `SqlSource`s (execute.ts). Each source's frame is what storage gives for the version (a scan of
 * its data file, or its in-memory frame).
 */
import type { Storage, VersionData } from "../storage/types.ts";
import type { SqlSource } from "./execute.ts";
import type { PreparedSql } from "./prepare.ts";

/** Runs `fn` with every table of `prepared` pinned (nested `storage.read`s, released in reverse). */
export function withSources<T>(storage: Storage, prepared: PreparedSql, fn: (sources: SqlSource[]) => Promise<T>): Promise<T> {
  const labels = new Map<string, string>();
  for (const [written, pin] of Object.entries(prepared.pins)) {
    const table = prepared.tables.find((t) => t.datasetId === pin.datasetId && t.version.version === pin.version);
    if (table && !labels.has(table.internal)) labels.set(table.internal, written);
  }
  const step = (i: number, acc: SqlSource[]): Promise<T> => {
    const table = prepared.tables[i];
    if (!table) return fn(acc);
    return storage.read(table.datasetId, table.version.version, (data: VersionData) =>
      step(i + 1, [...acc, { internal: table.internal, label: labels.get(table.internal) ?? table.name, columns: data.version.columns, frame: data.lazy() }]),
    );
  };
  return step(0, []);
}
