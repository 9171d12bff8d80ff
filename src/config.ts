/**
 * The only module that reads the environment. Every setting is a row of `SETTINGS`
 * (name, default, help, parser); `loadConfig` parses them once into a frozen object and
 * fails at start-up with a message naming the variable when a value is bad.
 */
import { existsSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export type Backend = "memory" | "local" | "postgres";
export type Role = "read" | "write";

export interface Config {
  readonly storageBackend: Backend;
  readonly dataDir: string;
  readonly port: number;
  readonly host: string;
  readonly maxUploadBytes: number;
  readonly memoryBudgetBytes: number;
  readonly maxColumns: number;
  readonly maxRows: number;
  readonly parseTimeoutMs: number;
  readonly parseMemoryMb: number;
  readonly parseWorkers: number;
  readonly queryWorkers: number;
  readonly queryTimeoutMs: number;
  readonly queryMemoryMb: number;
  readonly queryRetryAfterMs: number;
  readonly uploadDir: string;
  readonly apiTokens: ReadonlyMap<string, Role> | null;
  readonly metricsToken: string | null;
  readonly rateLimitWindowMs: number;
  readonly rateLimitReads: number;
  readonly rateLimitUploads: number;
  readonly corsOrigins: readonly string[];
  readonly logLevel: string;
  readonly shutdownGraceMs: number;
  readonly requestTimeoutMs: number;
  readonly headersTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly maxHeaderBytes: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerClient: number;
  readonly maxUploads: number;
  readonly maxUploadsPerClient: number;
  readonly authFailuresPerWindow: number;
  readonly spoolDir: string;
  readonly spoolBudgetBytes: number;
  readonly memoryLimitBytes: number;
  readonly databaseUrl: string;
  readonly objectStoreUrl: string;
  readonly s3Endpoint: string;
  readonly s3Region: string;
  readonly orphanGraceMs: number;
  readonly objectCacheDir: string;
  readonly objectCacheBytes: number;
  readonly pageCacheBytes: number;
  readonly databasePoolSize: number;
  readonly demo: boolean;
}

interface Setting<K extends keyof Config> {
  readonly env: string;
  readonly key: K;
  /** The default as it would be written in the environment ("" = unset). */
  readonly default: string;
  readonly help: string;
  readonly parse: (raw: string) => Config[K];
}

class ConfigError extends Error {}

const GiB = 1024 ** 3;

function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (raw: string): number => {
    if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`expected a whole number, got "${raw}"`);
    const n = Number(raw.trim());
    if (n < min || n > max) throw new ConfigError(`expected a number from ${min} to ${max}, got ${n}`);
    return n;
  };
}

function oneOf<T extends string>(...choices: T[]) {
  return (raw: string): T => {
    const v = raw.trim().toLowerCase() as T;
    if (!choices.includes(v)) throw new ConfigError(`expected one of ${choices.join(", ")}, got "${raw}"`);
    return v;
  };
}

function tokens(raw: string): ReadonlyMap<string, Role> | null {
  if (raw.trim() === "") return null;
  const map = new Map<string, Role>();
  for (const pair of raw.split(",")) {
    const at = pair.lastIndexOf(":");
    const token = pair.slice(0, at).trim();
    const role = pair.slice(at + 1).trim();
    // Never echo the token itself in the error: it is a secret.
    if (at <= 0 || token === "") throw new ConfigError("expected comma-separated token:role pairs");
    if (role !== "read" && role !== "write") throw new ConfigError(`role must be read or write, got "${role}"`);
    map.set(token, role);
  }
  return map;
}

/** Half of the process's soft open-file limit (from /proc; 1024 assumed where unreadable), within 32…10000. */
function defaultMaxConnections(): number {
  let soft = 1024;
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    const n = Number(line?.trim().split(/\s+/)[3]);
    if (Number.isFinite(n) && n > 0) soft = n;
  } catch {
    // not Linux: assume the common default
  }
  return Math.max(32, Math.min(10_000, Math.floor(soft / 2)));
}

function list(raw: string): readonly string[] {
  return raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

function databaseUrl(raw: string): string {
  const v = raw.trim();
  if (v === "") return "";
  // Never echo the value: it usually holds a password.
  if (!URL.canParse(v) || !/^postgres(ql)?:$/.test(new URL(v).protocol)) throw new ConfigError("expected a postgres://user:password@host:port/database URL");
  return v;
}

function objectStoreUrl(raw: string): string {
  const v = raw.trim();
  if (v === "") return "";
  const url = URL.canParse(v) ? new URL(v) : null;
  if (url?.protocol === "file:" && (url.host === "" || url.host === "localhost") && url.pathname.length > 1) return v;
  if (url?.protocol === "s3:" && url.hostname !== "") return v;
  throw new ConfigError(`expected file:///path or s3://bucket/prefix, got "${v}"`);
}

/** Every setting, in the order the README documents them. */
export const SETTINGS = [
  { env: "STORAGE_BACKEND", key: "storageBackend", default: "memory", help: "`memory`: versions live in process memory, lost on restart. `local`: versions are Parquet files under `DATA_DIR`, survive restarts, and only recently used ones stay in memory. `postgres`: the registry in PostgreSQL (`DATABASE_URL`), rows as Parquet objects under `OBJECT_STORE_URL`, any number of instances sharing both (docs/deploy.md).", parse: oneOf<Backend>("memory", "local", "postgres") },
  { env: "DATA_DIR", key: "dataDir", default: "./data", help: "Root folder of the `local` backend.", parse: (raw: string) => path.resolve(raw) },
  { env: "PORT", key: "port", default: "3000", help: "TCP port the server listens on (0 picks a free one).", parse: integer(0, 65535) },
  { env: "HOST", key: "host", default: "127.0.0.1", help: "Address the server listens on.", parse: (raw: string) => raw.trim() },
  { env: "MAX_UPLOAD_BYTES", key: "maxUploadBytes", default: String(GiB), help: "Largest accepted upload in bytes (1 GiB); larger uploads are cut off while streaming and answered 413.", parse: integer(1) },
  { env: "MEMORY_BUDGET_BYTES", key: "memoryBudgetBytes", default: "", help: "Bytes of dataframes held in memory (default: half of the machine's memory). `memory` refuses uploads past it (507); `local` evicts least recently used versions (they stay on disk).", parse: (raw: string) => (raw.trim() === "" ? Math.floor(os.totalmem() / 2) : integer(1)(raw)) },
  { env: "MAX_COLUMNS", key: "maxColumns", default: "2000", help: "Files with more columns are refused (413) before they are parsed.", parse: integer(1) },
  { env: "MAX_ROWS", key: "maxRows", default: "100000000", help: "Files with more rows are refused (413).", parse: integer(1) },
  { env: "PARSE_TIMEOUT_MS", key: "parseTimeoutMs", default: "120000", help: "Wall-clock limit of one parse; past it the upload is a 422 `PARSE_LIMIT`.", parse: integer(100) },
  { env: "PARSE_MEMORY_MB", key: "parseMemoryMb", default: "4096", help: "Memory limit of one isolated parse; past it the upload is a 422 `PARSE_LIMIT`.", parse: integer(64) },
  { env: "PARSE_WORKERS", key: "parseWorkers", default: String(Math.max(1, os.availableParallelism())), help: "Parser processes run at once (default: the number of cores); uploads beyond them wait briefly, then get 503 `BUSY`.", parse: integer(1, 64) },
  { env: "QUERY_WORKERS", key: "queryWorkers", default: String(Math.max(1, os.availableParallelism())), help: "Query worker processes (statistics, filters, sorts, exports, facets, SQL) run at once (default: the number of cores); jobs beyond them queue per client, served round robin: at most max(64, 32 × QUERY_WORKERS) jobs wait in all and half of that per client; a job past either is answered 503 `BUSY` with `Retry-After`.", parse: integer(1, 64) },
  { env: "QUERY_TIMEOUT_MS", key: "queryTimeoutMs", default: "30000", help: "Wall-clock limit of one query job (statistics, filtered statistics, filter/sort, export, facets, SQL query); past it the request is a 422 `QUERY_LIMIT`.", parse: integer(100) },
  { env: "QUERY_RETRY_AFTER_MS", key: "queryRetryAfterMs", default: "30000", help: "Statistics that ran past their limits (422 `QUERY_LIMIT`) are answered from memory, with `Retry-After`, for this many ms; the next request after that computes them again (0 = always again). Never cached by clients (`no-store`).", parse: integer(0) },
  { env: "QUERY_MEMORY_MB", key: "queryMemoryMb", default: "4096", help: "Memory limit of one query worker; past it the request is a 422 `QUERY_LIMIT`.", parse: integer(64) },
  { env: "UPLOAD_DIR", key: "uploadDir", default: path.join(os.tmpdir(), "dataset-service-uploads"), help: "Folder for uploads while they are received and parsed; emptied of our files at start-up.", parse: (raw: string) => path.resolve(raw) },
  { env: "API_TOKENS", key: "apiTokens", default: "", help: "Comma-separated `token:role` pairs, role `read` or `write`. Set: every `/api` route needs `Authorization: Bearer <token>` and writes need `write`. Unset: the API is open.", parse: tokens },
  { env: "METRICS_TOKEN", key: "metricsToken", default: "", help: "Bearer token `/metrics` asks for (`Authorization: Bearer <token>`). Unset: `/metrics` takes any `API_TOKENS` token when those are set, and is open otherwise.", parse: (raw: string) => (raw.trim() === "" ? null : raw.trim()) },
  { env: "RATE_LIMIT_WINDOW_MS", key: "rateLimitWindowMs", default: "60000", help: "Window of the per-client rate limits.", parse: integer(1000) },
  { env: "RATE_LIMIT_READS", key: "rateLimitReads", default: "6000", help: "Read requests a client may make per window (0 = unlimited).", parse: integer(0) },
  { env: "RATE_LIMIT_UPLOADS", key: "rateLimitUploads", default: "120", help: "Uploads and other writes a client may make per window (0 = unlimited).", parse: integer(0) },
  { env: "CORS_ORIGINS", key: "corsOrigins", default: "", help: "Comma-separated origins allowed to call the API from a browser (`*` for any); unset allows same-origin only.", parse: list },
  { env: "LOG_LEVEL", key: "logLevel", default: "info", help: "pino log level: fatal, error, warn, info, debug, trace or silent.", parse: oneOf("fatal", "error", "warn", "info", "debug", "trace", "silent") },
  { env: "SHUTDOWN_GRACE_MS", key: "shutdownGraceMs", default: "10000", help: "On SIGTERM/SIGINT, how long in-flight requests may finish before the process exits.", parse: integer(0) },
  { env: "REQUEST_TIMEOUT_MS", key: "requestTimeoutMs", default: "300000", help: "A request (headers and body) must have fully arrived within this many ms; past it the connection is cut with 408 `REQUEST_TIMEOUT` and its temp file removed.", parse: integer(1000) },
  { env: "HEADERS_TIMEOUT_MS", key: "headersTimeoutMs", default: "20000", help: "A request's headers must have arrived within this many ms (408 `REQUEST_TIMEOUT`); at most `REQUEST_TIMEOUT_MS` (the default follows a smaller `REQUEST_TIMEOUT_MS`).", parse: integer(1000) },
  { env: "KEEP_ALIVE_TIMEOUT_MS", key: "keepAliveTimeoutMs", default: "5000", help: "An idle keep-alive connection between requests is closed after this many ms.", parse: integer(100) },
  { env: "IDLE_TIMEOUT_MS", key: "idleTimeoutMs", default: "60000", help: "A connection on which no byte moves for this many ms while a body is being received or a response sent (a stalled uploader or a client that stopped reading) is closed; the server's own work time does not count.", parse: integer(1000) },
  { env: "MAX_HEADER_BYTES", key: "maxHeaderBytes", default: "65536", help: "Largest request head (request line with the URL, plus headers) in bytes; larger requests get 431 `HEADERS_TOO_LARGE` naming it. 64 KiB holds a filter of about 8,000 `in` values or a cursor of one, with `|` percent-encoded as clients such as Python's requests send it.", parse: integer(16384, 1048576) },
  { env: "MAX_CONNECTIONS", key: "maxConnections", default: "", help: "Open connections at once; more are answered 503 `BUSY` and closed (default: half of the process's open-file limit, at most 10000), so the process always has file descriptors left for its own files.", parse: (raw: string) => (raw.trim() === "" ? defaultMaxConnections() : integer(1)(raw)) },
  { env: "MAX_CONNECTIONS_PER_CLIENT", key: "maxConnectionsPerClient", default: "128", help: "Open connections one client (IP address) may hold; more are answered 429 and closed.", parse: integer(1) },
  { env: "MAX_UPLOADS", key: "maxUploads", default: "128", help: "Uploads (and inspects, imports) being received at once; more get 503 `BUSY` with `Retry-After` before their body is read.", parse: integer(1) },
  { env: "MAX_UPLOADS_PER_CLIENT", key: "maxUploadsPerClient", default: "32", help: "Uploads one client may send at once; more get 429 with `Retry-After` before their body is read.", parse: integer(1) },
  { env: "AUTH_FAILURES_PER_WINDOW", key: "authFailuresPerWindow", default: "20", help: "Invalid bearer tokens one client may present per `RATE_LIMIT_WINDOW_MS`; then every request of that client carrying a token gets 429 with `Retry-After` until the window ends (0 = unlimited).", parse: integer(0) },
  { env: "SPOOL_DIR", key: "spoolDir", default: "", help: "Folder for downloads being written and streamed (default: `<UPLOAD_DIR>/spool`); files of servers that are gone are removed at start-up.", parse: (raw: string) => (raw.trim() === "" ? "" : path.resolve(raw)) },
  { env: "SPOOL_BUDGET_BYTES", key: "spoolBudgetBytes", default: "", help: "Bytes the spool may hold at once (default: half of the spool file system's free space at start-up); a download that would pass it gets 507 `STORAGE_FULL`.", parse: (raw: string) => (raw.trim() === "" ? 0 : integer(1)(raw)) },
  { env: "MEMORY_LIMIT_BYTES", key: "memoryLimitBytes", default: "", help: "Resident memory of the API process past which uploads are refused with 507 `STORAGE_FULL` before they are parsed (checked after a garbage collection); default: twice `MEMORY_BUDGET_BYTES` plus 512 MiB, at most 90% of the machine's memory.", parse: (raw: string) => (raw.trim() === "" ? 0 : integer(1)(raw)) },
  { env: "DATABASE_URL", key: "databaseUrl", default: "", help: "`postgres` backend: PostgreSQL 15+ connection URL (`postgres://user:password@host:5432/db`, `?sslmode=require` for TLS). Never logged.", parse: databaseUrl },
  { env: "OBJECT_STORE_URL", key: "objectStoreUrl", default: "", help: "`postgres` backend: where version data lives, `file:///shared/dir` (a folder every instance mounts) or `s3://bucket/prefix` (credentials and region the AWS SDK's usual way: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_PROFILE`, roles …).", parse: objectStoreUrl },
  { env: "S3_ENDPOINT", key: "s3Endpoint", default: "", help: "`s3://` stores: endpoint of an S3-compatible store (MinIO, Ceph, R2 …, e.g. `http://minio:9000`; path-style addressing); unset for AWS S3.", parse: (raw: string) => raw.trim() },
  { env: "S3_REGION", key: "s3Region", default: "", help: "`s3://` stores: region (default `AWS_REGION`, else `us-east-1`).", parse: (raw: string) => raw.trim() },
  { env: "ORPHAN_GRACE_MS", key: "orphanGraceMs", default: "3600000", help: "`postgres` backend: how long the object of a deleted version stays (so reads other instances began can finish) before the sweep removes it; objects of crashed uploads are removed as soon as their instance is gone.", parse: integer(0) },
  { env: "OBJECT_CACHE_DIR", key: "objectCacheDir", default: path.join(os.tmpdir(), "dataset-service-object-cache"), help: "`s3://` stores: folder on this machine for downloaded objects (scanned by Polars).", parse: (raw: string) => path.resolve(raw) },
  { env: "OBJECT_CACHE_BYTES", key: "objectCacheBytes", default: String(4 * GiB), help: "`s3://` stores: bytes of downloaded objects kept in `OBJECT_CACHE_DIR` (least recently used removed first).", parse: integer(0) },
  { env: "PAGE_CACHE_BYTES", key: "pageCacheBytes", default: String(64 * 1024 * 1024), help: "Bytes of rendered rows the API process keeps so later pages of a version are copied, not rendered again (least recently used dropped first; a deleted version's go at once; 0 = off).", parse: integer(0) },
  { env: "DATABASE_POOL_SIZE", key: "databasePoolSize", default: "10", help: "`postgres` backend: database connections per instance.", parse: integer(1, 1000) },
  { env: "DEMO", key: "demo", default: "0", help: "`1`: load the demo datasets (scripts/demo.ts) through the API after start-up; datasets whose names exist are left alone.", parse: (raw: string) => oneOf("0", "1", "true", "false")(raw.trim().toLowerCase()) === "1" || raw.trim().toLowerCase() === "true" },
] as const satisfies readonly Setting<keyof Config>[];

/**
 * Reads settings from `env` (default: `process.env`, after loading `./.env` when present).
 * `overrides` win over the environment; tests use them to build apps without touching globals.
 */
export function loadConfig(overrides: Partial<Record<(typeof SETTINGS)[number]["env"], string>> = {}, env: NodeJS.ProcessEnv = readEnv()): Config {
  const out: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const s of SETTINGS) {
    const raw = overrides[s.env] ?? env[s.env] ?? s.default;
    try {
      out[s.key] = s.parse(raw);
    } catch (err) {
      problems.push(`${s.env}: ${err instanceof ConfigError ? err.message : String(err)}`);
    }
  }
  if (problems.length === 0 && (out.headersTimeoutMs as number) > (out.requestTimeoutMs as number)) {
    // the default follows a smaller REQUEST_TIMEOUT_MS; only a value set on purpose can conflict
    if ((overrides.HEADERS_TIMEOUT_MS ?? env.HEADERS_TIMEOUT_MS) === undefined) out.headersTimeoutMs = out.requestTimeoutMs;
    else problems.push("HEADERS_TIMEOUT_MS: must not exceed REQUEST_TIMEOUT_MS");
  }
  // The AWS SDK's usual region variables, when S3_REGION is not set.
  if (out.s3Region === "") out.s3Region = env.AWS_REGION || env.AWS_DEFAULT_REGION || "us-east-1";
  if (out.storageBackend === "postgres") {
    if (out.databaseUrl === "") problems.push("DATABASE_URL: required when STORAGE_BACKEND=postgres");
    if (out.objectStoreUrl === "") problems.push("OBJECT_STORE_URL: required when STORAGE_BACKEND=postgres");
  }
  if (problems.length > 0) throw new Error(`Invalid configuration:\n  ${problems.join("\n  ")}`);
  // Derived defaults that depend on other settings.
  if (out.spoolDir === "") out.spoolDir = path.join(out.uploadDir as string, "spool");
  return Object.freeze(out) as unknown as Config;
}

function readEnv(): NodeJS.ProcessEnv {
  // Node 24 reads .env files itself; variables already set in the environment win.
  if (existsSync(".env")) process.loadEnvFile(".env");
  return process.env;
}
