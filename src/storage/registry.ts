/**
 * The registry rules both backends share, kept apart from where bytes live: the name index
 * (case-insensitive, an index not a scan), version numbering (1, 2, 3, never reused) and
 * `latest` resolution. Backends keep one `RegistryState` in memory and persist it their way.
 */
import { randomUUID } from "node:crypto";
import { caseFold } from "unicode-case-folding";
import { nameTaken, notFound } from "../errors.ts";
import type { Dataset, Version } from "../types.ts";
import type { DatasetQuery, ImportedDataset, ImportedVersion, NewVersion, Storage, VersionSelector } from "./types.ts";

export interface DatasetEntry {
  dataset: Omit<Dataset, "latestVersion" | "versionCount">;
  /** Highest number ever issued (even if since deleted), so numbers are never reused. */
  highestIssued: number;
  versions: Map<number, Version>;
}

/**
 * The key dataset names are compared by (uniqueness, `?name=` lookups), for every backend:
 * NFC, then Unicode full case folding (CaseFolding.txt, statuses C and F: `ß` and `ẞ` fold to
 * `ss`, `ﬁ` to `fi`, final `ς` to `σ`, the Kelvin sign to `k`), then NFC again (folding can leave
 * a sequence that composes). Turkish dotless `ı` stays distinct from `i`, as in the standard
 * (default, not Turkic) folding. Backends that keep names elsewhere (PostgreSQL) store this key:
 * SQL's lower()/upper() are not case folding.
 */
export function nameKey(name: string): string {
  return caseFold(name.normalize("NFC")).normalize("NFC");
}

export class RegistryState {
  readonly datasets = new Map<string, DatasetEntry>();
  readonly #byName = new Map<string, string>();

  static nameKey(name: string): string {
    return nameKey(name);
  }

  findIdByName(name: string): string | undefined {
    return this.#byName.get(RegistryState.nameKey(name));
  }

  /** The API's dataset object for a name (case-insensitive), or null. */
  datasetByName(name: string): Dataset | null {
    const id = this.findIdByName(name);
    return id === undefined ? null : datasetView(this.entry(id));
  }

  /** The API's dataset object; 404 for an unknown id. */
  dataset(datasetId: string): Dataset {
    return datasetView(this.entry(datasetId));
  }

  /** Throws 409 when `name` belongs to another dataset. */
  assertNameFree(name: string, exceptId?: string): void {
    const owner = this.findIdByName(name);
    if (owner !== undefined && owner !== exceptId) throw nameTaken(name, owner);
  }

  newDatasetId(): string {
    return randomUUID();
  }

  add(entry: DatasetEntry): void {
    this.assertNameFree(entry.dataset.name);
    this.datasets.set(entry.dataset.id, entry);
    this.#byName.set(RegistryState.nameKey(entry.dataset.name), entry.dataset.id);
  }

  rename(entry: DatasetEntry, name: string): void {
    this.assertNameFree(name, entry.dataset.id);
    this.#byName.delete(RegistryState.nameKey(entry.dataset.name));
    entry.dataset.name = name;
    this.#byName.set(RegistryState.nameKey(name), entry.dataset.id);
  }

  remove(datasetId: string): DatasetEntry {
    const entry = this.entry(datasetId);
    this.datasets.delete(datasetId);
    this.#byName.delete(RegistryState.nameKey(entry.dataset.name));
    return entry;
  }

  entry(datasetId: string): DatasetEntry {
    const entry = this.datasets.get(datasetId);
    if (!entry) throw notFound(`No dataset with id "${datasetId}".`);
    return entry;
  }

  version(datasetId: string, selector: VersionSelector): Version {
    const entry = this.entry(datasetId);
    const number = selector === "latest" ? latestOf(entry) : selector;
    const version = number === null ? undefined : entry.versions.get(number);
    if (!version) {
      throw notFound(selector === "latest" ? `Dataset "${datasetId}" has no versions.` : `Dataset "${datasetId}" has no version ${selector}.`);
    }
    return version;
  }

  list(query: DatasetQuery): { items: Dataset[]; total: number } {
    let entries: DatasetEntry[];
    if (query.name !== undefined) {
      const id = this.findIdByName(query.name);
      const hit = id === undefined ? undefined : this.datasets.get(id);
      entries = hit ? [hit] : [];
    } else {
      entries = [...this.datasets.values()];
    }
    // Newest first, ties by id, so pages are stable.
    entries.sort((a, b) => b.dataset.createdAt.localeCompare(a.dataset.createdAt) || a.dataset.id.localeCompare(b.dataset.id));
    return { items: entries.slice(query.offset, query.offset + query.limit).map(datasetView), total: entries.length };
  }

  counts(): { datasets: number; versions: number } {
    let versions = 0;
    for (const e of this.datasets.values()) versions += e.versions.size;
    return { datasets: this.datasets.size, versions };
  }
}

/** The dataset reads every backend answers straight from the registry state. */
export function registryReads(state: RegistryState): Pick<Storage, "findByName" | "listDatasets" | "getDataset" | "highestIssued"> {
  return {
    findByName: async (name) => state.datasetByName(name),
    listDatasets: async (query) => state.list(query),
    getDataset: async (datasetId) => state.dataset(datasetId),
    highestIssued: async (datasetId) => state.entry(datasetId).highestIssued,
  };
}

export function latestOf(entry: DatasetEntry): number | null {
  let latest: number | null = null;
  for (const n of entry.versions.keys()) if (latest === null || n > latest) latest = n;
  return latest;
}

/** The API's dataset object: stored fields plus what is derived from the versions. */
export function datasetView(entry: DatasetEntry): Dataset {
  return { ...entry.dataset, latestVersion: latestOf(entry), versionCount: entry.versions.size };
}

export function sortedVersions(entry: DatasetEntry): Version[] {
  return [...entry.versions.values()].sort((a, b) => a.version - b.version);
}

export function nowIso(): string {
  return new Date().toISOString();
}

/** The metadata of an imported version: its own number, creation time and source. */
export function importedRecord(datasetId: string, next: ImportedVersion): Version {
  return { ...versionRecord(datasetId, next.version, next), createdAt: next.createdAt };
}

/** Checks an import's numbering: ascending, positive, at most `highestIssued`, at least one. */
export function assertImportNumbering(meta: ImportedDataset, versions: ImportedVersion[]): void {
  let previous = 0;
  for (const v of versions) {
    if (!Number.isSafeInteger(v.version) || v.version <= previous || v.version > meta.highestIssued) {
      throw new Error(`import: version numbers must ascend and stay within 1..${meta.highestIssued} (got ${v.version} after ${previous})`);
    }
    previous = v.version;
  }
  if (versions.length === 0) throw new Error("import: a dataset needs at least one version");
}

/** Builds the metadata of a version about to be committed as number `version`. */
export function versionRecord(datasetId: string, version: number, next: Pick<NewVersion, "source" | "columns" | "rowCount">): Version {
  return {
    datasetId,
    version,
    createdAt: nowIso(),
    source: next.source,
    rowCount: next.rowCount,
    columnCount: next.columns.length,
    columns: next.columns,
  };
}
