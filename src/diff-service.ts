/**
 * Version comparison for the routes: the diff of a numbered pair and key is computed once in a
 * query worker (jobs/diff.ts, within QUERY_TIMEOUT_MS) and its result — counts, schema and the
 * positions of the differing rows — kept here (versions never change), so paging a diff never
 * computes it again; each page of rows is rendered by a worker from a slice of those positions.
 */
import { ApiError, versionDamaged } from "./errors.ts";
import type { DiffKind, DiffResult, DiffRowsPage } from "./frame/diff.ts";
import type { JobInput, JobKind, JobOutput } from "./jobs/registry.ts";
import type { QueryWorkers } from "./sandbox/queries.ts";
import { NO_ROWS } from "./stats-service.ts";
import type { DataFileRef, Storage, VersionData } from "./storage/types.ts";
import type { Version } from "./types.ts";

export interface DiffService {
  /** The diff of two numbered versions by `key` (empty: whole-row multisets). */
  result(from: Version, to: Version, key: string[], client?: string): Promise<DiffResult>;
  /** Rows `offset…offset+limit` of the differing rows of `kind`. */
  page(from: Version, to: Version, result: DiffResult, kind: DiffKind, offset: number, limit: number, client?: string): Promise<DiffRowsPage>;
}

/** Diff results kept (each holds the differing rows' positions: 4–8 bytes per differing row). */
const CACHE_ENTRIES = 64;

export function createDiffService(storage: Storage, queries: QueryWorkers): DiffService {
  const cache = new Map<string, Promise<DiffResult>>();

  /** Runs a job over both versions' data files; a damaged file is reported like runOnVersion does. */
  function onPair<K extends JobKind>(from: Version, to: Version, kind: K, input: (a: DataFileRef, b: DataFileRef) => JobInput<K>, client?: string): Promise<JobOutput<K>> {
    return storage.read(from.datasetId, from.version, (a) =>
      storage.read(to.datasetId, to.version, async (b) => {
        const small = queries.isSmall(a.version) && queries.isSmall(b.version);
        for (let attempt = 0; ; attempt++) {
          const [fa, fb] = await Promise.all([a.dataFile(), b.dataFile()]);
          try {
            return await queries.run(kind, input(fa, fb), { client, small });
          } catch (error) {
            if (!(error instanceof ApiError) || error.code !== "VERSION_DAMAGED") throw error;
            const damaged: VersionData = error.extra.sha256 === fb.checksum.sha256 && error.extra.sha256 !== fa.checksum.sha256 ? b : a;
            const outcome = await damaged.reportDamaged(error.message);
            if (outcome === "repaired" && attempt === 0) continue;
            const v = damaged.version;
            throw versionDamaged(`Version ${v.version} of dataset "${v.datasetId}" cannot be served: ${error.message}. It is kept for inspection; restore its data file from a backup or delete the version.`);
          }
        }
      }, NO_ROWS),
    NO_ROWS) as Promise<JobOutput<K>>;
  }

  return {
    result(from, to, key, client) {
      const id = [from.datasetId, from.version, from.createdAt, to.version, to.createdAt, JSON.stringify(key)].join("\u0000");
      const hit = cache.get(id);
      if (hit) {
        cache.delete(id);
        cache.set(id, hit);
        return hit;
      }
      const pending = onPair(from, to, "diff", (a, b) => ({ from: a, to: b, key, labels: { from: String(from.version), to: String(to.version) } }), client);
      cache.set(id, pending);
      pending.catch(() => cache.delete(id));
      if (cache.size > CACHE_ENTRIES) cache.delete(cache.keys().next().value as string);
      return pending;
    },

    async page(from, to, result, kind, offset, limit, client) {
      const p = result.positions;
      const slice = (xs: Uint32Array) => xs.slice(offset, offset + limit);
      const empty = new Uint32Array(0);
      const positions = {
        added: kind === "added" ? slice(p.added) : empty,
        removed: kind === "removed" ? slice(p.removed) : empty,
        changedFrom: kind === "changed" ? slice(p.changedFrom) : empty,
        changedTo: kind === "changed" ? slice(p.changedTo) : empty,
      };
      const totalRows = kind === "added" ? p.added.length : kind === "removed" ? p.removed.length : p.changedTo.length;
      const page = await onPair(from, to, "diffRows", (a, b) => ({ from: a, to: b, key: result.key, kind, positions }), client);
      return { ...page, totalRows };
    },
  };
}
