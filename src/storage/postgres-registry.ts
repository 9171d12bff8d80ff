/**
 * The SQL of the postgres backend's registry. Every read goes to the database (read-through), so
 * a rename, a deletion or a new version committed by any instance is what the next request on
 * every instance sees. Version numbers are issued by incrementing `datasets.highest_issued` in the
 * transaction that inserts the version: the row lock serialises commits to one dataset across all
 * instances, and a commit that fails rolls its number back, so numbers are gap-free and never
 * reused. Times come from the database's clock, so instances on different machines agree.
 */
import pg from "pg";
import { nameTaken, notFound } from "../errors.ts";
import type { Dataset, SourceInfo, Version } from "../types.ts";
import { isDatasetId } from "./paths.ts";
import { LOCK_SPACE, MIGRATION_LOCK } from "./postgres-migrate.ts";
import { RegistryState } from "./registry.ts";
import { isChecksum, type Checksum } from "./checksum.ts";
import type { DatasetQuery, VersionSelector } from "./types.ts";

// int8 (counts, sums, sizes) as numbers: every value here is far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

/** What the backend knows about a version's data object, besides the Version itself. */
export interface ObjectRef {
  key: string;
  bytes: number;
  sha256: string;
  /** Whole-file and per-block hashes; null for versions committed before migration 002. */
  checksum: Checksum | null;
  frameBytes: number;
}

/** A version row: metadata plus its object. */
export interface VersionRow {
  version: Version;
  object: ObjectRef;
}

const NOW = "date_trunc('milliseconds', clock_timestamp())";

const DATASET = `d.id, d.name, d.description, d.created_at, d.updated_at,
  (SELECT max(v.version) FROM versions v WHERE v.dataset_id = d.id) AS latest_version,
  (SELECT count(*)::int FROM versions v WHERE v.dataset_id = d.id) AS version_count`;

interface DatasetSqlRow {
  id: string;
  name: string;
  description: string;
  created_at: Date;
  updated_at: Date;
  latest_version: number | null;
  version_count: number;
}

interface VersionSqlRow {
  dataset_id: string;
  version: number;
  created_at: Date;
  source: string;
  row_count: number;
  column_count: number;
  columns: string;
  object_key: string;
  object_bytes: number;
  object_sha256: string;
  object_checksum: string | null;
  frame_bytes: number;
}

const VERSION = "v.dataset_id, v.version, v.created_at, v.source, v.row_count, v.column_count, v.columns, v.object_key, v.object_bytes, v.object_sha256, v.object_checksum, v.frame_bytes";

function objectOf(r: Pick<VersionSqlRow, "object_key" | "object_bytes" | "object_sha256" | "object_checksum" | "frame_bytes">): ObjectRef {
  const parsed: unknown = r.object_checksum === null ? null : JSON.parse(r.object_checksum);
  return { key: r.object_key, bytes: r.object_bytes, sha256: r.object_sha256, checksum: isChecksum(parsed) ? parsed : null, frameBytes: r.frame_bytes };
}

function toDataset(r: DatasetSqlRow): Dataset {
  return { id: r.id, name: r.name, description: r.description, createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(), latestVersion: r.latest_version, versionCount: r.version_count };
}

function toVersionRow(r: VersionSqlRow): VersionRow {
  return {
    version: {
      datasetId: r.dataset_id,
      version: r.version,
      createdAt: r.created_at.toISOString(),
      source: JSON.parse(r.source) as SourceInfo,
      rowCount: r.row_count,
      columnCount: r.column_count,
      columns: JSON.parse(r.columns) as Version["columns"],
    },
    object: objectOf(r),
  };
}

const noDataset = (datasetId: string) => notFound(`No dataset with id "${datasetId}".`);

/** Ids that are not ours never reach SQL (a malformed uuid would be a database error, not a 404). */
function checkId(datasetId: string): string {
  if (!isDatasetId(datasetId)) throw noDataset(datasetId);
  return datasetId;
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = error as { code?: string; constraint?: string };
  return e.code === "23505" && e.constraint === constraint;
}

/** A version about to be committed: everything but its number and time. */
export interface VersionDraft {
  source: SourceInfo;
  rowCount: number;
  columns: Version["columns"];
  object: ObjectRef;
}

export type Db = pg.Pool | pg.PoolClient;

/** Runs `fn` in a transaction on one connection of `pool`. */
export async function transaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

export class PostgresRegistry {
  readonly #pool: pg.Pool;

  constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  async dataset(datasetId: string, db: Db = this.#pool): Promise<Dataset> {
    const { rows } = await db.query<DatasetSqlRow>(`SELECT ${DATASET} FROM datasets d WHERE d.id = $1`, [checkId(datasetId)]);
    if (!rows[0]) throw noDataset(datasetId);
    return toDataset(rows[0]);
  }

  async findByName(name: string): Promise<Dataset | null> {
    const { rows } = await this.#pool.query<DatasetSqlRow>(`SELECT ${DATASET} FROM datasets d WHERE d.name_key = $1`, [RegistryState.nameKey(name)]);
    return rows[0] ? toDataset(rows[0]) : null;
  }

  async list(query: DatasetQuery): Promise<{ items: Dataset[]; total: number }> {
    const where = query.name === undefined ? "" : "WHERE d.name_key = $3";
    const params: unknown[] = [query.limit, query.offset];
    if (query.name !== undefined) params.push(RegistryState.nameKey(query.name));
    // Newest first, ties by id, so pages are stable (as in the other backends).
    const page = await this.#pool.query<DatasetSqlRow>(`SELECT ${DATASET} FROM datasets d ${where} ORDER BY d.created_at DESC, d.id::text COLLATE "C" LIMIT $1 OFFSET $2`, params);
    const total = await this.#pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM datasets d ${where.replace("$3", "$1")}`, params.slice(2));
    return { items: page.rows.map(toDataset), total: total.rows[0]?.n ?? 0 };
  }

  /** Throws 409 NAME_TAKEN naming the owner of `name`'s key (after a unique violation). */
  async #nameTaken(name: string, db: Db = this.#pool): Promise<never> {
    const { rows } = await db.query<{ id: string; name: string }>("SELECT id, name FROM datasets WHERE name_key = $1", [RegistryState.nameKey(name)]);
    throw nameTaken(rows[0]?.name ?? name, rows[0]?.id ?? "");
  }

  async assertNameFree(name: string): Promise<void> {
    const { rows } = await this.#pool.query<{ id: string; name: string }>("SELECT id, name FROM datasets WHERE name_key = $1", [RegistryState.nameKey(name)]);
    if (rows[0]) throw nameTaken(rows[0].name, rows[0].id);
  }

  /** Creates the dataset and its version 1 in one transaction (a dataset never exists without it). */
  async createDataset(datasetId: string, meta: { name: string; description: string }, draft: VersionDraft): Promise<{ dataset: Dataset; version: Version }> {
    try {
      return await transaction(this.#pool, async (client) => {
        const { rows } = await client.query<{ now: Date }>(`SELECT ${NOW} AS now`);
        const now = rows[0]!.now;
        await client.query("INSERT INTO datasets (id, name, name_key, description, created_at, updated_at, highest_issued) VALUES ($1, $2, $3, $4, $5, $5, 1)", [
          checkId(datasetId),
          meta.name,
          RegistryState.nameKey(meta.name),
          meta.description,
          now,
        ]);
        const version = await this.#insertVersion(client, datasetId, 1, now, draft);
        return { dataset: await this.dataset(datasetId, client), version };
      });
    } catch (error) {
      if (isUniqueViolation(error, "datasets_name_key")) return this.#nameTaken(meta.name);
      throw error;
    }
  }

  /** Issues the dataset's next number and commits the version under it, in one transaction. */
  async addVersion(datasetId: string, draft: VersionDraft): Promise<{ dataset: Dataset; version: Version }> {
    return transaction(this.#pool, async (client) => {
      const { rows } = await client.query<{ n: number; at: Date }>(`UPDATE datasets SET highest_issued = highest_issued + 1, updated_at = ${NOW} WHERE id = $1 RETURNING highest_issued AS n, updated_at AS at`, [checkId(datasetId)]);
      if (!rows[0]) throw noDataset(datasetId);
      const version = await this.#insertVersion(client, datasetId, rows[0].n, rows[0].at, draft);
      return { dataset: await this.dataset(datasetId, client), version };
    });
  }

  async #insertVersion(client: pg.PoolClient, datasetId: string, number: number, at: Date, draft: VersionDraft): Promise<Version> {
    // The object must still be ours: a sweep that judged its writer dead removes this row first.
    const claimed = await client.query("DELETE FROM pending_objects WHERE object_key = $1", [draft.object.key]);
    if (claimed.rowCount !== 1) throw new Error(`the data object ${draft.object.key} is no longer pending (swept); nothing was committed`);
    const o = draft.object;
    await client.query(
      `INSERT INTO versions (dataset_id, version, created_at, source, row_count, column_count, columns, object_key, object_bytes, object_sha256, object_checksum, frame_bytes)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
      [datasetId, number, at, JSON.stringify(draft.source), draft.rowCount, draft.columns.length, JSON.stringify(draft.columns), o.key, o.bytes, o.sha256, o.checksum === null ? null : JSON.stringify(o.checksum), o.frameBytes],
    );
    return { datasetId, version: number, createdAt: at.toISOString(), source: draft.source, rowCount: draft.rowCount, columnCount: draft.columns.length, columns: draft.columns };
  }

  /**
   * Creates a dataset whose versions keep given numbers and times (an import), in one transaction:
   * nothing is visible until every version is in; later versions are numbered after `highestIssued`.
   */
  async importDataset(
    datasetId: string,
    meta: { name: string; description: string; createdAt: string; updatedAt: string; highestIssued: number },
    versions: { number: number; createdAt: string; draft: VersionDraft }[],
  ): Promise<{ dataset: Dataset; versions: Version[] }> {
    try {
      return await transaction(this.#pool, async (client) => {
        await client.query("INSERT INTO datasets (id, name, name_key, description, created_at, updated_at, highest_issued) VALUES ($1, $2, $3, $4, $5, $6, $7)", [
          checkId(datasetId),
          meta.name,
          RegistryState.nameKey(meta.name),
          meta.description,
          new Date(meta.createdAt),
          new Date(meta.updatedAt),
          meta.highestIssued,
        ]);
        const made: Version[] = [];
        for (const v of versions) made.push(await this.#insertVersion(client, datasetId, v.number, new Date(v.createdAt), v.draft));
        return { dataset: await this.dataset(datasetId, client), versions: made };
      });
    } catch (error) {
      if (isUniqueViolation(error, "datasets_name_key")) return this.#nameTaken(meta.name);
      throw error;
    }
  }

  /** The highest number ever issued in the dataset (deleted versions included). */
  async highestIssued(datasetId: string): Promise<number> {
    const { rows } = await this.#pool.query<{ n: number }>("SELECT highest_issued AS n FROM datasets WHERE id = $1", [checkId(datasetId)]);
    if (!rows[0]) throw noDataset(datasetId);
    return rows[0].n;
  }

  async updateDataset(datasetId: string, patch: { name?: string; description?: string }): Promise<Dataset> {
    try {
      const { rowCount } = await this.#pool.query(
        `UPDATE datasets SET name = coalesce($2, name), name_key = coalesce($3, name_key), description = coalesce($4, description), updated_at = ${NOW} WHERE id = $1`,
        [checkId(datasetId), patch.name ?? null, patch.name === undefined ? null : RegistryState.nameKey(patch.name), patch.description ?? null],
      );
      if (rowCount !== 1) throw noDataset(datasetId);
    } catch (error) {
      if (patch.name !== undefined && isUniqueViolation(error, "datasets_name_key")) return this.#nameTaken(patch.name);
      throw error;
    }
    return this.dataset(datasetId);
  }

  /** Deletes the dataset and its versions; their objects are left to the sweep. Returns the version numbers. */
  async deleteDataset(datasetId: string): Promise<number[]> {
    return transaction(this.#pool, async (client) => {
      const locked = await client.query("SELECT 1 FROM datasets WHERE id = $1 FOR UPDATE", [checkId(datasetId)]);
      if (locked.rowCount !== 1) throw noDataset(datasetId);
      const { rows } = await client.query<{ version: number }>(
        `WITH gone AS (DELETE FROM versions WHERE dataset_id = $1 RETURNING version, object_key),
              marked AS (INSERT INTO deleted_objects (object_key) SELECT object_key FROM gone ON CONFLICT DO NOTHING)
         SELECT version FROM gone`,
        [datasetId],
      );
      await client.query("DELETE FROM datasets WHERE id = $1", [datasetId]);
      return rows.map((r) => r.version);
    });
  }

  /** Deletes one version (for `latest`, the highest at that moment); returns its number. */
  async deleteVersion(datasetId: string, selector: VersionSelector): Promise<number> {
    return transaction(this.#pool, async (client) => {
      const locked = await client.query("SELECT 1 FROM datasets WHERE id = $1 FOR UPDATE", [checkId(datasetId)]);
      if (locked.rowCount !== 1) throw noDataset(datasetId);
      const target = selector === "latest" ? "(SELECT max(version) FROM versions WHERE dataset_id = $1)" : "$2";
      const { rows } = await client.query<{ version: number }>(
        `WITH gone AS (DELETE FROM versions WHERE dataset_id = $1 AND version = ${target} RETURNING version, object_key),
              marked AS (INSERT INTO deleted_objects (object_key) SELECT object_key FROM gone ON CONFLICT DO NOTHING)
         SELECT version FROM gone`,
        selector === "latest" ? [datasetId] : [datasetId, selector],
      );
      if (!rows[0]) throw missingVersion(datasetId, selector);
      await client.query(`UPDATE datasets SET updated_at = ${NOW} WHERE id = $1`, [datasetId]);
      return rows[0].version;
    });
  }

  /** The version's number and object (one small query; metadata is fetched by `versionRow`). */
  async locate(datasetId: string, selector: VersionSelector): Promise<{ number: number; object: ObjectRef }> {
    const pick = selector === "latest" ? "ORDER BY v.version DESC LIMIT 1" : "AND v.version = $2";
    const { rows } = await this.#pool.query<{ found: boolean; version: number | null; object_key: string; object_bytes: number; object_sha256: string; object_checksum: string | null; frame_bytes: number }>(
      `SELECT true AS found, v.version, v.object_key, v.object_bytes, v.object_sha256, v.object_checksum, v.frame_bytes
       FROM datasets d LEFT JOIN LATERAL (SELECT * FROM versions v WHERE v.dataset_id = d.id ${pick}) v ON true WHERE d.id = $1`,
      selector === "latest" ? [checkId(datasetId)] : [checkId(datasetId), selector],
    );
    const r = rows[0];
    if (!r) throw noDataset(datasetId);
    if (r.version === null) throw missingVersion(datasetId, selector);
    return { number: r.version, object: objectOf(r) };
  }

  async versionRow(datasetId: string, selector: VersionSelector): Promise<VersionRow> {
    const pick = selector === "latest" ? "ORDER BY v.version DESC LIMIT 1" : "AND v.version = $2";
    const { rows } = await this.#pool.query<VersionSqlRow & { found: boolean }>(
      `SELECT true AS found, ${VERSION} FROM datasets d LEFT JOIN LATERAL (SELECT * FROM versions v WHERE v.dataset_id = d.id ${pick}) v ON true WHERE d.id = $1`,
      selector === "latest" ? [checkId(datasetId)] : [checkId(datasetId), selector],
    );
    const r = rows[0];
    if (!r) throw noDataset(datasetId);
    if (r.version === null) throw missingVersion(datasetId, selector);
    return toVersionRow(r);
  }

  async listVersions(datasetId: string): Promise<Version[]> {
    const { rows } = await this.#pool.query<VersionSqlRow & { found: boolean }>(
      `SELECT true AS found, ${VERSION} FROM datasets d LEFT JOIN versions v ON v.dataset_id = d.id WHERE d.id = $1 ORDER BY v.version`,
      [checkId(datasetId)],
    );
    if (rows.length === 0) throw noDataset(datasetId);
    return rows.filter((r) => r.version !== null).map((r) => toVersionRow(r).version);
  }

  async getStats(datasetId: string, version: number): Promise<string | undefined> {
    if (!isDatasetId(datasetId)) return undefined;
    const { rows } = await this.#pool.query<{ body: string }>("SELECT body FROM version_stats WHERE dataset_id = $1 AND version = $2", [datasetId, version]);
    return rows[0]?.body;
  }

  /** Stores a version's stats once (they never change); a version deleted meanwhile is ignored. */
  async saveStats(datasetId: string, version: number, body: string): Promise<void> {
    if (!isDatasetId(datasetId)) return;
    await this.#pool.query(
      "INSERT INTO version_stats (dataset_id, version, body) SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM versions WHERE dataset_id = $1 AND version = $2) ON CONFLICT DO NOTHING",
      [datasetId, version, body],
    ).catch((error: { code?: string }) => {
      if (error.code !== "23503") throw error; // the version was deleted between the check and the insert
    });
  }

  async counts(): Promise<{ datasets: number; versions: number; objectBytes: number }> {
    const { rows } = await this.#pool.query<{ datasets: number; versions: number; bytes: number }>(
      "SELECT (SELECT count(*)::int FROM datasets) AS datasets, (SELECT count(*)::int FROM versions) AS versions, (SELECT coalesce(sum(object_bytes), 0)::bigint FROM versions) AS bytes",
    );
    const r = rows[0]!;
    return { datasets: r.datasets, versions: r.versions, objectBytes: r.bytes };
  }

  /** Records the full checksum of an object committed before migration 002 (computed from its verified bytes). */
  async setChecksum(key: string, checksum: Checksum): Promise<void> {
    await this.#pool.query("UPDATE versions SET object_checksum = $2 WHERE object_key = $1 AND object_checksum IS NULL", [key, JSON.stringify(checksum)]);
  }

  /**
   * Recomputes every dataset's name key with this code's folding (RegistryState.nameKey), so a
   * release that folds names differently keeps the unique index meaning what the code means. Two
   * names that now fold alike cannot both keep theirs: the later one is served as "name (id)", as
   * the local backend does. Runs under the migration lock, so one instance does it at a time.
   */
  async refreshNameKeys(warn: (message: string) => void): Promise<number> {
    const client = await this.#pool.connect();
    let changed = 0;
    try {
      await client.query("SELECT pg_advisory_lock($1, $2)", [LOCK_SPACE, MIGRATION_LOCK]);
      try {
        const { rows } = await client.query<{ id: string; name: string; name_key: string }>("SELECT id, name, name_key FROM datasets ORDER BY created_at, id");
        for (const r of rows) {
          const key = RegistryState.nameKey(r.name);
          if (key === r.name_key) continue;
          try {
            await client.query("UPDATE datasets SET name_key = $2 WHERE id = $1", [r.id, key]);
          } catch (error) {
            if (!isUniqueViolation(error, "datasets_name_key")) throw error;
            const name = `${r.name} (${r.id})`;
            warn(`storage: dataset ${r.id} shares its name "${r.name}" with another under the current name folding; it is served as "${name}"`);
            await client.query("UPDATE datasets SET name = $2, name_key = $3 WHERE id = $1", [r.id, name, RegistryState.nameKey(name)]);
          }
          changed++;
        }
      } finally {
        await client.query("SELECT pg_advisory_unlock($1, $2)", [LOCK_SPACE, MIGRATION_LOCK]);
      }
    } finally {
      client.release();
    }
    return changed;
  }

  /** Records that `key` is about to be written by `instanceId` (before the upload starts). */
  async addPending(key: string, instanceId: number): Promise<void> {
    await this.#pool.query("INSERT INTO pending_objects (object_key, instance_id) VALUES ($1, $2)", [key, instanceId]);
  }

  /** Forgets a pending object whose commit failed (its object is removed by the caller). */
  async dropPending(key: string): Promise<void> {
    await this.#pool.query("DELETE FROM pending_objects WHERE object_key = $1", [key]);
  }
}

function missingVersion(datasetId: string, selector: VersionSelector) {
  return notFound(selector === "latest" ? `Dataset "${datasetId}" has no versions.` : `Dataset "${datasetId}" has no version ${selector}.`);
}
