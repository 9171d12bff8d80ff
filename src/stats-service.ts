/**
 * Statistics of whole versions: computed once, ever (a version never changes), kept by storage,
 * and started in the background as soon as a version is stored, so the first GET usually finds
 * them ready. Concurrent requests for the same version share one computation.
 */
import { computeStats } from "./frame/stats.ts";
import type { Storage } from "./storage/types.ts";

export interface StatsService {
  /** The stats body of a numbered version, computing and storing it on first use. */
  get(datasetId: string, version: number): Promise<unknown>;
  /** Starts computing in the background; errors (a version deleted meanwhile, say) are ignored. */
  warm(datasetId: string, version: number): void;
}

export function createStatsService(storage: Storage): StatsService {
  const inflight = new Map<string, Promise<unknown>>();

  function compute(datasetId: string, version: number): Promise<unknown> {
    return storage.read(datasetId, version, async (data) => {
      const stats = await computeStats(data.lazy(), data.version);
      const body = { datasetId, version, ...stats };
      await storage.saveStats(datasetId, version, body);
      return body;
    });
  }

  async function get(datasetId: string, version: number): Promise<unknown> {
    const cached = await storage.getStats(datasetId, version);
    if (cached !== undefined) return cached;
    const key = `${datasetId}/${version}`;
    let pending = inflight.get(key);
    if (!pending) {
      pending = compute(datasetId, version).finally(() => inflight.delete(key));
      inflight.set(key, pending);
    }
    return pending;
  }

  return {
    get,
    warm(datasetId, version) {
      get(datasetId, version).catch(() => undefined);
    },
  };
}
