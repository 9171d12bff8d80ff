/**
 * Liveness of instances and the sweep of orphaned objects, for the postgres backend.
 *
 * Each instance registers a row in `instances` and holds the session advisory lock
 * (INSTANCE_SPACE, id) on a connection of its own for as long as it lives; when the process dies,
 * even by kill -9, the connection drops and the lock with it. A pending object whose instance
 * holds no lock is a crash's leftover.
 *
 * The sweep (one instance at a time, under a try-lock) lists the store FIRST and reads the
 * registry AFTER, in one snapshot: every object it saw had its `pending_objects` row inserted
 * before it was written, so an object that is neither referenced by a version nor pending in that
 * snapshot can never be committed any more. It then removes:
 *  - objects pending for a dead instance (their row is deleted first, in a race with the commit
 *    that would consume it: exactly one of the two wins);
 *  - objects of deleted versions, once `graceMs` has passed since the deletion (reads that other
 *    instances started before it can finish);
 *  - objects nobody knows (neither a version, pending, nor deleted), once older than `graceMs`;
 *  - temp files of dead instances (file:// stores).
 */
import os from "node:os";
import pg from "pg";
import type { FileObjectStore } from "./object-store-file.ts";
import type { ObjectInfo, ObjectStore } from "./object-store.ts";
import { INSTANCE_SPACE, LOCK_SPACE, SWEEP_LOCK } from "./postgres-migrate.ts";

export interface Instance {
  id: number;
  /** Names this instance's temp files: `i<id>`. */
  tag: string;
  close(): Promise<void>;
}

/** Registers this process and takes its liveness lock on a dedicated connection. */
export async function registerInstance(connectionString: string, pool: pg.Pool, warn: (m: string) => void): Promise<Instance> {
  const { rows } = await pool.query<{ id: number }>("INSERT INTO instances (host, pid) VALUES ($1, $2) RETURNING id", [os.hostname(), process.pid]);
  const id = rows[0]!.id;
  let closed = false;
  let client: pg.Client | null = null;
  const hold = async (): Promise<void> => {
    const c = new pg.Client({ connectionString });
    c.on("error", (error) => {
      if (closed) return;
      // The lock went with the connection: take it again so sweeps keep seeing us alive. A sweep in
      // between may remove our pending objects; our commits then fail cleanly (see the registry).
      warn(`storage: lost the database connection that marks this instance alive (${error.message}); reconnecting`);
      void c.end().catch(() => undefined);
      setTimeout(() => void hold().catch((e: Error) => warn(`storage: reconnecting failed: ${e.message}`)), 1000).unref();
    });
    await c.connect();
    await c.query("SELECT pg_advisory_lock($1, $2)", [INSTANCE_SPACE, id]);
    client = c;
  };
  await hold();
  return {
    id,
    tag: `i${id}`,
    async close() {
      closed = true;
      await pool.query("DELETE FROM instances WHERE id = $1", [id]).catch(() => undefined);
      await client?.end().catch(() => undefined);
    },
  };
}

export interface SweepResult {
  removedObjects: number;
  removedTemp: number;
}

/** One sweep; returns null when another instance is sweeping right now. */
export async function sweep(pool: pg.Pool, store: ObjectStore, graceMs: number): Promise<SweepResult | null> {
  const lock = await pool.connect();
  try {
    const { rows } = await lock.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, $2) AS ok", [LOCK_SPACE, SWEEP_LOCK]);
    if (!rows[0]?.ok) return null;
    try {
      return await sweepLocked(pool, store, graceMs);
    } finally {
      await lock.query("SELECT pg_advisory_unlock($1, $2)", [LOCK_SPACE, SWEEP_LOCK]);
    }
  } finally {
    lock.release();
  }
}

interface Snapshot {
  now: number;
  live: Set<number>;
  referenced: Set<string>;
  pending: Map<string, number>;
  deleted: Map<string, number>;
}

async function sweepLocked(pool: pg.Pool, store: ObjectStore, graceMs: number): Promise<SweepResult> {
  // 1. What is in the store (before the registry is read: see above).
  const objects: ObjectInfo[] = [];
  for await (const info of store.list()) objects.push(info);
  const fileStore = "listTemp" in store ? (store as FileObjectStore) : null;
  const temps = fileStore ? await fileStore.listTemp() : [];

  // 2. The registry, in one snapshot.
  const snap = await readSnapshot(pool);

  // 3. Decide and remove.
  let removedObjects = 0;
  for (const info of objects) {
    if (snap.referenced.has(info.key)) continue;
    const owner = snap.pending.get(info.key);
    if (owner !== undefined) {
      if (snap.live.has(owner)) continue;
      const { rowCount } = await pool.query("DELETE FROM pending_objects WHERE object_key = $1 AND instance_id = $2", [info.key, owner]);
      if (rowCount !== 1) continue; // its commit won the race
      await store.delete(info.key);
      removedObjects++;
      continue;
    }
    const deletedAt = snap.deleted.get(info.key);
    const since = deletedAt ?? info.modifiedAt.getTime();
    if (snap.now - since < graceMs) continue;
    await store.delete(info.key);
    if (deletedAt !== undefined) await pool.query("DELETE FROM deleted_objects WHERE object_key = $1", [info.key]);
    removedObjects++;
  }

  // Bookkeeping whose objects are already gone.
  const seen = new Set(objects.map((o) => o.key));
  for (const [key, owner] of snap.pending) {
    if (!snap.live.has(owner) && !seen.has(key)) await pool.query("DELETE FROM pending_objects WHERE object_key = $1 AND instance_id = $2", [key, owner]);
  }
  for (const [key, at] of snap.deleted) {
    if (!seen.has(key) && snap.now - at >= graceMs) await pool.query("DELETE FROM deleted_objects WHERE object_key = $1", [key]);
  }
  await pool.query(
    `DELETE FROM instances i WHERE NOT EXISTS (SELECT 1 FROM pending_objects p WHERE p.instance_id = i.id) AND i.id <> ALL($1::int[])`,
    [[...snap.live]],
  );

  let removedTemp = 0;
  for (const temp of temps) {
    const id = Number(/^i(\d+)$/.exec(temp.tag)?.[1]);
    if (Number.isSafeInteger(id) && snap.live.has(id)) continue;
    await fileStore!.removeTemp(temp.name);
    removedTemp++;
  }
  return { removedObjects, removedTemp };
}

async function readSnapshot(pool: pg.Pool): Promise<Snapshot> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    const now = (await client.query<{ now: Date }>("SELECT now() AS now")).rows[0]!.now.getTime();
    const referenced = new Set((await client.query<{ k: string }>("SELECT object_key AS k FROM versions")).rows.map((r) => r.k));
    const pending = new Map((await client.query<{ k: string; i: number }>("SELECT object_key AS k, instance_id AS i FROM pending_objects")).rows.map((r) => [r.k, r.i] as const));
    const deleted = new Map((await client.query<{ k: string; at: Date }>("SELECT object_key AS k, deleted_at AS at FROM deleted_objects")).rows.map((r) => [r.k, r.at.getTime()] as const));
    // pg_locks is live, not part of the snapshot: read last, so an instance seen alive here was
    // alive when its pending rows were read.
    const live = new Set(
      (
        await client.query<{ id: number }>(
          `SELECT objid::bigint AS id FROM pg_locks
           WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid = $1::bigint::oid
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
          [INSTANCE_SPACE],
        )
      ).rows.map((r) => r.id),
    );
    await client.query("COMMIT");
    return { now, live, referenced, pending, deleted };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}
