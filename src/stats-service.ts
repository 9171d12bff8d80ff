/**
 * Statistics of versions, computed in query workers (never in the API process: their cost grows
 * with the version, and wide versions build thousands of expressions).
 * - Whole versions: computed once, ever (a version never changes), kept by storage, and started
 *   in the background as soon as a version is stored, so the first GET usually finds them ready.
 * - Filtered: computed per (version, filters) and kept in a bounded LRU (by JSON size).
 * Concurrent requests for the same statistics share one computation. One that ran past its
 * limits (422 QUERY_LIMIT) is answered from memory for `retryAfterMs` (QUERY_RETRY_AFTER_MS, with
 * a Retry-After saying when), so repeated requests cannot keep the query workers busy with a job
 * that just failed; the next request after that runs it again (the failure may have been the
 * machine's load, not the version). Nothing about a failure is stored with the version, and the
 * answer is never cacheable (http/problem.ts).
 */
import { ApiError } from "./errors.ts";
import type { Filter } from "./frame/query.ts";
import type { QueryWorkers } from "./sandbox/queries.ts";
import { ByteLru } from "./storage/lru.ts";
import type { ReadOptions, Storage } from "./storage/types.ts";

export interface StatsService {
  /** The stats body of a numbered version, computing and storing it on first use. */
  get(datasetId: string, version: number, client?: string): Promise<unknown>;
  /** The stats body of the rows of a numbered version that match `filters` (non-empty). */
  filtered(datasetId: string, version: number, filters: Filter[], client?: string): Promise<unknown>;
  /**
   * Starts computing in the background; errors (a version deleted meanwhile, say) are ignored.
   * Resolves (never rejects) when done: true when the statistics were computed and stored.
   */
  warm(datasetId: string, version: number, client?: string): Promise<boolean>;
}

/** The API process reads none of the version's rows itself: workers do. */
export const NO_ROWS: ReadOptions = { rows: { offset: 0, limit: 0 } };

const FILTERED_CACHE_BYTES = 32 * 1024 * 1024;
/** Default of QUERY_RETRY_AFTER_MS (src/config.ts). */
export const DEFAULT_RETRY_AFTER_MS = 30_000;
const FAILURE_ENTRIES = 1024;

/** The failure with a Retry-After of the time left (at least 1 s). */
function withRetryAfter(error: ApiError, leftMs: number): ApiError {
  return new ApiError(error.status, error.code, error.message, error.extra, { ...error.headers, "Retry-After": String(Math.max(1, Math.ceil(leftMs / 1000))) });
}

export function createStatsService(storage: Storage, queries: QueryWorkers, options: { retryAfterMs?: number } = {}): StatsService {
  const retryAfterMs = options.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS;
  const inflight = new Map<string, Promise<unknown>>();
  const filteredCache = new ByteLru<unknown>(FILTERED_CACHE_BYTES);
  const failures = new Map<string, { error: ApiError; until: number }>();

  function shared(key: string, compute: () => Promise<unknown>): Promise<unknown> {
    const failed = failures.get(key);
    const now = Date.now();
    if (failed && failed.until > now) return Promise.reject(withRetryAfter(failed.error, failed.until - now));
    failures.delete(key);
    let pending = inflight.get(key);
    if (!pending) {
      pending = compute()
        .catch((error: unknown) => {
          if (error instanceof ApiError && error.code === "QUERY_LIMIT" && retryAfterMs > 0) {
            failures.set(key, { error, until: Date.now() + retryAfterMs });
            if (failures.size > FAILURE_ENTRIES) failures.delete(failures.keys().next().value as string);
            throw withRetryAfter(error, retryAfterMs);
          }
          throw error;
        })
        .finally(() => inflight.delete(key));
      inflight.set(key, pending);
    }
    return pending;
  }

  async function get(datasetId: string, version: number, client?: string): Promise<unknown> {
    const cached = await storage.getStats(datasetId, version);
    if (cached !== undefined) return cached;
    return shared(`${datasetId}/${version}`, () =>
      storage.read(
        datasetId,
        version,
        async (data) => {
          const body = await queries.runOnVersion(data, "stats", (file) => ({ file, version: data.version }), { client });
          await storage.saveStats(datasetId, version, body);
          return body;
        },
        NO_ROWS,
      ),
    );
  }

  async function filtered(datasetId: string, version: number, filters: Filter[], client?: string): Promise<unknown> {
    return storage.read(
      datasetId,
      version,
      async (data) => {
        const v = data.version;
        // a filter set is the same whatever order its parts came in
        const key = JSON.stringify([v.datasetId, v.version, v.createdAt, filters.map((f) => f.raw).sort()]);
        if (filteredCache.has(key)) return filteredCache.get(key);
        return shared(key, async () => {
          const body = await queries.runOnVersion(data, "stats", (file) => ({ file, version: v, filters }), { client });
          filteredCache.set(key, body, JSON.stringify(body).length);
          return body;
        });
      },
      NO_ROWS,
    );
  }

  return {
    get,
    filtered,
    warm(datasetId, version, client) {
      return get(datasetId, version, client).then(
        () => true,
        () => false,
      );
    },
  };
}
