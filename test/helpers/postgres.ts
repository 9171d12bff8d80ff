/**
 * A real PostgreSQL for the tests: a vitest global setup (`setup`/`teardown` below) runs `initdb`
 * into a temp folder and `pg_ctl start` on a free loopback port, and each suite gets a database of
 * its own from `createTestDatabase()`. Where PostgreSQL is not installed the setup provides null
 * and the suites that need it skip (`hasPostgres()`).
 *
 * `initdb` refuses to run as root, so as root the server runs as the package's `postgres` user.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import pg from "pg";
import { inject } from "vitest";
import type { TestProject } from "vitest/node";
import type { ObjectStoreOptions } from "../../src/storage/object-store.ts";
import { createPostgresStorage, type PostgresStorage } from "../../src/storage/postgres.ts";
import { S3_CREDENTIALS, s3TestStore } from "./s3.ts";

export interface PostgresServer {
  /** Connection URL of the server's `postgres` database (trust auth on loopback). */
  url: string;
  /** Stops the server and removes its folder. */
  stop(): void;
}

declare module "vitest" {
  export interface ProvidedContext {
    postgresUrl: string | null;
  }
}

/** The newest installed PostgreSQL ≥ 15's bin folder (PG_BIN wins), or null. */
export function postgresBin(): string | null {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv) return existsSync(path.join(fromEnv, "initdb")) ? fromEnv : null;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return null;
  const majors = readdirSync(root).map(Number).filter((n) => n >= 15).sort((a, b) => b - a);
  for (const major of majors) {
    const bin = path.join(root, String(major), "bin");
    if (existsSync(path.join(bin, "initdb")) && existsSync(path.join(bin, "pg_ctl"))) return bin;
  }
  return null;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Starts a throw-away PostgreSQL server (fsync off: these tests kill our processes, not the database's). */
export async function startPostgres(options: { port?: number } = {}): Promise<PostgresServer | null> {
  const bin = postgresBin();
  if (!bin) return null;
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(path.join(os.tmpdir(), "ds-postgres-"));
  const data = path.join(dir, "data");
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
    chownSync(dir, uid, gid);
  }
  const run = (tool: string, args: string[]): void => {
    const argv = asRoot ? ["runuser", ["-u", "postgres", "--", path.join(bin, tool), ...args]] as const : [path.join(bin, tool), args] as const;
    const result = spawnSync(argv[0], argv[1], { encoding: "utf8", cwd: dir });
    if (result.status !== 0) throw new Error(`${tool} failed (${result.status}): ${result.stderr || result.stdout}`);
  };
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]);
  const port = options.port ?? (await freePort());
  const serverOptions = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses=127.0.0.1",
    "-c fsync=off",
    "-c synchronous_commit=off",
    "-c full_page_writes=off",
    "-c max_connections=300",
  ].join(" ");
  run("pg_ctl", ["-D", data, "-o", serverOptions, "-l", path.join(dir, "server.log"), "-w", "-t", "60", "start"]);
  let stopped = false;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/** The server's URL inside a test worker, or null where PostgreSQL is absent (or outside vitest: scripts use these helpers too). */
export function postgresUrl(): string | null {
  try {
    return inject("postgresUrl") ?? null;
  } catch {
    return null;
  }
}

export function hasPostgres(): boolean {
  return postgresUrl() !== null;
}

/** A fresh, empty database on the test server; `drop()` removes it (closing what is still connected). */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = postgresUrl();
  if (!base) throw new Error("PostgreSQL is not available to this test run");
  const name = `t_${randomUUID().replace(/-/g, "")}`;
  await admin(base, `CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin(base, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

async function admin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

// vitest global setup: one server for the whole run.
let server: PostgresServer | null = null;

export async function setup(project: TestProject): Promise<void> {
  server = await startPostgres();
  if (!server) console.warn("PostgreSQL is not installed: the postgres backend's tests are skipped.");
  project.provide("postgresUrl", server?.url ?? null);
}

export function teardown(): void {
  server?.stop();
  server = null;
}

/**
 * A postgres-backend store on a fresh database, objects under a fresh file:// folder or s3://
 * prefix; `cleanup` closes it and removes the database, the folder and the cache.
 */
export async function makePostgresStorage(options: { kind: "file" | "s3"; budgetBytes: number; orphanGraceMs?: number; objectCacheBytes?: number }): Promise<{
  storage: PostgresStorage;
  databaseUrl: string;
  objectStoreUrl: string;
  objectStore: ObjectStoreOptions;
  cleanup(): Promise<void>;
}> {
  const db = await createTestDatabase();
  const objectsDir = await mkdtemp(path.join(os.tmpdir(), "ds-objects-"));
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), "ds-object-cache-"));
  const s3 = options.kind === "s3" ? s3TestStore() : null;
  const objectStoreUrl = s3 ? s3.url : pathToFileURL(objectsDir).href;
  const objectStore: ObjectStoreOptions = s3 ? { s3: { endpoint: s3.endpoint, credentials: S3_CREDENTIALS } } : {};
  const storage = await createPostgresStorage({
    databaseUrl: db.url,
    objectStoreUrl,
    objectStore,
    budgetBytes: options.budgetBytes,
    orphanGraceMs: options.orphanGraceMs ?? 3_600_000,
    objectCacheDir: cacheDir,
    objectCacheBytes: options.objectCacheBytes,
    sweepIntervalMs: 0,
    poolSize: 5,
  });
  return {
    storage,
    databaseUrl: db.url,
    objectStoreUrl,
    objectStore,
    async cleanup() {
      await storage.close();
      await db.drop();
      await rm(objectsDir, { recursive: true, force: true });
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}

/**
 * The settings of a postgres-backend server on a fresh database and object folder (file://, or
 * s3:// on the test s3rver); `cleanup` removes them.
 */
export async function postgresTestEnv(kind: "file" | "s3" = "file"): Promise<{ env: Record<string, string>; cleanup(): Promise<void> }> {
  const db = await createTestDatabase();
  const objectsDir = await mkdtemp(path.join(os.tmpdir(), "ds-objects-"));
  const cacheDir = await mkdtemp(path.join(os.tmpdir(), "ds-object-cache-"));
  const s3 = kind === "s3" ? s3TestStore() : null;
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    OBJECT_STORE_URL: s3 ? s3.url : pathToFileURL(objectsDir).href,
    OBJECT_CACHE_DIR: cacheDir,
    DATABASE_POOL_SIZE: "5",
  };
  if (s3) Object.assign(env, { S3_ENDPOINT: s3.endpoint, AWS_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey });
  return {
    env,
    async cleanup() {
      await db.drop();
      await rm(objectsDir, { recursive: true, force: true });
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}
