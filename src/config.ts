/**
 * The only module that reads the environment. Every setting is a row of `SETTINGS`
 * (name, default, help, parser); `loadConfig` parses them once into a frozen object and
 * fails at start-up with a message naming the variable when a value is bad.
 */
import { existsSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export type Backend = "memory" | "local";
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
  readonly uploadDir: string;
  readonly apiTokens: ReadonlyMap<string, Role> | null;
  readonly rateLimitWindowMs: number;
  readonly rateLimitReads: number;
  readonly rateLimitUploads: number;
  readonly corsOrigins: readonly string[];
  readonly logLevel: string;
  readonly shutdownGraceMs: number;
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

function list(raw: string): readonly string[] {
  return raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

/** Every setting, in the order the README documents them. */
export const SETTINGS = [
  { env: "STORAGE_BACKEND", key: "storageBackend", default: "memory", help: "`memory`: versions live in process memory, lost on restart. `local`: versions are Parquet files under `DATA_DIR`, survive restarts, and only recently used ones stay in memory.", parse: oneOf<Backend>("memory", "local") },
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
  { env: "UPLOAD_DIR", key: "uploadDir", default: path.join(os.tmpdir(), "dataset-service-uploads"), help: "Folder for uploads while they are received and parsed; emptied of our files at start-up.", parse: (raw: string) => path.resolve(raw) },
  { env: "API_TOKENS", key: "apiTokens", default: "", help: "Comma-separated `token:role` pairs, role `read` or `write`. Set: every `/api` route needs `Authorization: Bearer <token>` and writes need `write`. Unset: the API is open.", parse: tokens },
  { env: "RATE_LIMIT_WINDOW_MS", key: "rateLimitWindowMs", default: "60000", help: "Window of the per-client rate limits.", parse: integer(1000) },
  { env: "RATE_LIMIT_READS", key: "rateLimitReads", default: "6000", help: "Read requests a client may make per window (0 = unlimited).", parse: integer(0) },
  { env: "RATE_LIMIT_UPLOADS", key: "rateLimitUploads", default: "120", help: "Uploads and other writes a client may make per window (0 = unlimited).", parse: integer(0) },
  { env: "CORS_ORIGINS", key: "corsOrigins", default: "", help: "Comma-separated origins allowed to call the API from a browser (`*` for any); unset allows same-origin only.", parse: list },
  { env: "LOG_LEVEL", key: "logLevel", default: "info", help: "pino log level: fatal, error, warn, info, debug, trace or silent.", parse: oneOf("fatal", "error", "warn", "info", "debug", "trace", "silent") },
  { env: "SHUTDOWN_GRACE_MS", key: "shutdownGraceMs", default: "10000", help: "On SIGTERM/SIGINT, how long in-flight requests may finish before the process exits.", parse: integer(0) },
  { env: "DEMO", key: "demo", default: "0", help: "`1`: load the demo datasets (scripts/demo.ts) through the API after start-up; datasets whose names exist are left alone.", parse: (raw: string) => oneOf("0", "1", "true", "false")(raw) === "1" || raw.trim().toLowerCase() === "true" },
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
  if (problems.length > 0) throw new Error(`Invalid configuration:\n  ${problems.join("\n  ")}`);
  return Object.freeze(out) as unknown as Config;
}

function readEnv(): NodeJS.ProcessEnv {
  // Node 24 reads .env files itself; variables already set in the environment win.
  if (existsSync(".env")) process.loadEnvFile(".env");
  return process.env;
}
