/**
 * Everything in process memory: lost on restart. Data held is capped by MEMORY_BUDGET_BYTES;
 * an upload past it is refused (507) rather than dropping anything already stored.
 */
import type pl from "nodejs-polars";
import { storageFull } from "../errors.ts";
import { estimatedBytes, lazyOf } from "../frame/safe.ts";
import type { Dataset, Version } from "../types.ts";
import { assertImportNumbering, datasetView, importedRecord, nowIso, RegistryState, registryReads, sortedVersions, versionRecord } from "./registry.ts";
import type { NewVersion, Storage, VersionSelector } from "./types.ts";

interface Held {
  frame: pl.DataFrame;
  bytes: number;
  stats?: unknown;
}

export function createMemoryStorage(options: { budgetBytes: number }): Storage {
  const state = new RegistryState();
  const data = new Map<string, Held>();
  let heldBytes = 0;
  const key = (datasetId: string, version: number) => `${datasetId}/${version}`;

  /** Reserves room for `next` or throws 507; synchronous so concurrent commits can't both fit. */
  function admit(next: NewVersion | NewVersion[]): number {
    const bytes = (Array.isArray(next) ? next : [next]).reduce((sum, v) => sum + estimatedBytes(v.frame), 0);
    if (heldBytes + bytes > options.budgetBytes) {
      throw storageFull(
        `Storing this version needs about ${bytes} bytes; ${heldBytes} of the ${options.budgetBytes}-byte memory budget are in use. Delete versions or raise MEMORY_BUDGET_BYTES.`,
      );
    }
    return bytes;
  }

  function commit(datasetId: string, next: NewVersion, bytes: number): Version {
    const entry = state.entry(datasetId);
    const number = entry.highestIssued + 1;
    const version = versionRecord(datasetId, number, next);
    entry.highestIssued = number;
    entry.versions.set(number, version);
    entry.dataset.updatedAt = version.createdAt;
    data.set(key(datasetId, number), { frame: next.frame, bytes });
    heldBytes += bytes;
    return version;
  }

  function drop(datasetId: string, version: number): void {
    const held = data.get(key(datasetId, version));
    if (held) heldBytes -= held.bytes;
    data.delete(key(datasetId, version));
  }

  return {
    name: "memory",

    async createDataset(meta, first) {
      state.assertNameFree(meta.name);
      const bytes = admit(first);
      const now = nowIso();
      const entry = { dataset: { id: state.newDatasetId(), name: meta.name, description: meta.description, createdAt: now, updatedAt: now }, highestIssued: 0, versions: new Map<number, Version>() };
      state.add(entry);
      const version = commit(entry.dataset.id, first, bytes);
      return { dataset: datasetView(entry), version };
    },

    async importDataset(meta, versions) {
      assertImportNumbering(meta, versions);
      state.assertNameFree(meta.name);
      admit(versions);
      const id = state.newDatasetId();
      const entry = { dataset: { id, name: meta.name, description: meta.description, createdAt: meta.createdAt, updatedAt: meta.updatedAt }, highestIssued: meta.highestIssued, versions: new Map<number, Version>() };
      const records = versions.map((v) => importedRecord(id, v));
      state.add(entry);
      versions.forEach((v, i) => {
        const bytes = estimatedBytes(v.frame);
        entry.versions.set(v.version, records[i] as Version);
        data.set(key(id, v.version), { frame: v.frame, bytes });
        heldBytes += bytes;
      });
      return { dataset: datasetView(entry), versions: records };
    },

    ...registryReads(state),

    async updateDataset(datasetId, patch): Promise<Dataset> {
      const entry = state.entry(datasetId);
      if (patch.name !== undefined) state.rename(entry, patch.name);
      if (patch.description !== undefined) entry.dataset.description = patch.description;
      entry.dataset.updatedAt = nowIso();
      return datasetView(entry);
    },

    async deleteDataset(datasetId) {
      const entry = state.remove(datasetId);
      for (const n of entry.versions.keys()) drop(datasetId, n);
    },

    async addVersion(datasetId, next) {
      state.entry(datasetId);
      const bytes = admit(next);
      const version = commit(datasetId, next, bytes);
      return { dataset: datasetView(state.entry(datasetId)), version };
    },

    async listVersions(datasetId) {
      return sortedVersions(state.entry(datasetId));
    },

    async getVersion(datasetId, selector: VersionSelector) {
      return state.version(datasetId, selector);
    },

    async deleteVersion(datasetId, selector) {
      const version = state.version(datasetId, selector);
      const entry = state.entry(datasetId);
      entry.versions.delete(version.version);
      entry.dataset.updatedAt = nowIso();
      drop(datasetId, version.version);
    },

    async read(datasetId, selector, fn) {
      const version = state.version(datasetId, selector);
      const held = data.get(key(datasetId, version.version));
      if (!held) throw new Error(`version ${datasetId}/${version.version} has metadata but no data`);
      return fn({ version, lazy: () => lazyOf(held.frame), frame: () => held.frame });
    },

    async getStats(datasetId, version) {
      return data.get(key(datasetId, version))?.stats;
    },

    async saveStats(datasetId, version, stats) {
      const held = data.get(key(datasetId, version));
      if (held) held.stats = stats;
    },

    async health() {
      return { ...state.counts(), dataBytes: heldBytes, budgetBytes: options.budgetBytes, details: {} };
    },

    async close() {
      data.clear();
      heldBytes = 0;
    },
  };
}
