/**
 * Versioned schema migrations of the postgres backend: `migrations/NNN_name.sql`, applied in order
 * at start-up, each in its own transaction, under a database-wide advisory lock so that several
 * instances starting at once apply each migration exactly once. A migration already applied whose
 * file has since changed, or a database migrated by newer code, stops the start-up: running on a
 * schema the code does not know could damage data.
 */
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import type pg from "pg";

export const MIGRATIONS_DIR = path.resolve(import.meta.dirname, "..", "..", "migrations");

/** First key of every advisory lock the service takes (ASCII "DS_1"); the second says which. */
export const LOCK_SPACE = 0x44535f31;
export const MIGRATION_LOCK = 1;
export const SWEEP_LOCK = 2;
/** First key of the instances' liveness locks (the second is the instance's id). */
export const INSTANCE_SPACE = LOCK_SPACE + 1;

const FILE = /^(\d{3,})_[a-z0-9_]+\.sql$/;

interface Migration {
  version: number;
  name: string;
  sql: string;
  sha256: string;
}

async function readMigrations(dir: string): Promise<Migration[]> {
  const out: Migration[] = [];
  for (const name of (await fs.readdir(dir)).sort()) {
    const m = FILE.exec(name);
    if (!m) continue;
    const sql = await fs.readFile(path.join(dir, name), "utf8");
    out.push({ version: Number(m[1]), name, sql, sha256: createHash("sha256").update(sql).digest("hex") });
  }
  for (let i = 1; i < out.length; i++) {
    if (out[i]!.version === out[i - 1]!.version) throw new Error(`two migrations share number ${out[i]!.version}: ${out[i - 1]!.name}, ${out[i]!.name}`);
  }
  return out;
}

/** Applies every migration not yet applied; returns the names it applied. */
export async function migrate(pool: pg.Pool, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = await readMigrations(dir);
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1, $2)", [LOCK_SPACE, MIGRATION_LOCK]);
    try {
      await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version integer PRIMARY KEY, name text NOT NULL, sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      const done = new Map<number, { name: string; sha256: string }>();
      for (const row of (await client.query<{ version: number; name: string; sha256: string }>("SELECT version, name, sha256 FROM schema_migrations")).rows) {
        done.set(row.version, row);
      }
      const known = new Set(migrations.map((m) => m.version));
      const unknown = [...done.keys()].filter((v) => !known.has(v));
      if (unknown.length > 0) {
        throw new Error(`the database has schema migrations this code does not know (${unknown.map((v) => done.get(v)?.name).join(", ")}): run the newer version of the service`);
      }
      const applied: string[] = [];
      for (const m of migrations) {
        const before = done.get(m.version);
        if (before) {
          if (before.sha256 !== m.sha256) throw new Error(`migration ${m.name} was changed after it was applied to this database; add a new migration instead`);
          continue;
        }
        await client.query("BEGIN");
        try {
          await client.query(m.sql);
          await client.query("INSERT INTO schema_migrations (version, name, sha256) VALUES ($1, $2, $3)", [m.version, m.name, m.sha256]);
          await client.query("COMMIT");
        } catch (error) {
          await client.query("ROLLBACK");
          throw new Error(`migration ${m.name} failed: ${(error as Error).message}`);
        }
        applied.push(m.name);
      }
      return applied;
    } finally {
      await client.query("SELECT pg_advisory_unlock($1, $2)", [LOCK_SPACE, MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
