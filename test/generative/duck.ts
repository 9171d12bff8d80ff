/** DuckDB as the independent writer and reader of the differential suite. */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import type { GenTable } from "./tables.ts";
import { quoteIdent, tableSql } from "./tables.ts";

export interface Duck {
  db: DuckDBConnection;
  dir: string;
  /** Writes the table as a file (`parquet` or headerless `csv`) and returns its path. */
  write(t: GenTable, format: "parquet" | "csv", name: string): Promise<string>;
  /** Every cell of a query as text (DuckDB's VARCHAR cast), null as null. */
  texts(sql: string): Promise<(string | null)[][]>;
  close(): void;
}

const sqlString = (s: string) => `'${s.replaceAll("'", "''")}'`;

export async function openDuck(): Promise<Duck> {
  const instance = await DuckDBInstance.create(":memory:");
  const db = await instance.connect();
  await db.run("SET TimeZone = 'UTC'");
  const dir = mkdtempSync(path.join(os.tmpdir(), "gen-duck-"));
  let n = 0;
  return {
    db,
    dir,
    async write(t, format, name) {
      const file = path.join(dir, `${name}-${n++}.${format}`);
      const options = format === "parquet" ? "FORMAT parquet" : "FORMAT csv, HEADER false";
      await db.run(`COPY (${tableSql(t)}) TO ${sqlString(file)} (${options})`);
      return file;
    },
    async texts(sql) {
      const reader = await db.runAndReadAll(`SELECT COLUMNS(*)::VARCHAR FROM (${sql})`);
      return reader.getRows().map((r) => r.map((v) => (v === null ? null : String(v))));
    },
    close() {
      db.closeSync();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { quoteIdent, sqlString };
