/**
 * Import: a verified archive (read.ts) becomes a dataset. Each version's Parquet is parsed like
 * any upload — in the isolated parser child, which proves every value renders — and must give
 * back exactly the columns, types and row count its metadata names; only then is anything
 * stored, in one `Storage.importDataset` call (all or nothing). Statistics are the archive's
 * own (checked to describe the same columns), re-addressed to the new dataset id.
 */
import { mkdtemp, rm, stat } from "node:fs/promises";
import path from "node:path";
import { invalidArchive, ApiError } from "../errors.ts";
import { parseOptionsFrom } from "../ingest/options.ts";
import type { Parser } from "../sandbox/parser.ts";
import type { ImportedVersion, Storage } from "../storage/types.ts";
import type { Dataset, SourceInfo, Version } from "../types.ts";
import { readArchive } from "./read.ts";

export interface ImportDeps {
  storage: Storage;
  parser: Parser;
  /** Where the archive's files are unpacked while they are checked. */
  workDir: string;
  /** Whose import this is (fair queues in the parser pool). */
  client?: string;
}

export async function importArchive({ storage, parser, workDir, client }: ImportDeps, archiveFile: string, name?: string): Promise<{ dataset: Dataset; versions: Version[] }> {
  const dir = await mkdtemp(path.join(workDir, `import-${process.pid}-`));
  // data files the parser child wrote that storage has not taken (removed when the import fails)
  const staged: string[] = [];
  try {
    const { manifest, versions } = await readArchive(archiveFile, dir);
    const datasetName = name ?? manifest.dataset.name;
    const existing = await storage.findByName(datasetName);
    if (existing) {
      throw new ApiError(409, "NAME_TAKEN", `A dataset named "${existing.name}" already exists; send a "name" field to import this archive under another name.`, { datasetId: existing.id });
    }
    const imported: ImportedVersion[] = [];
    for (const v of versions) {
      const n = v.version.version;
      let parsed;
      const outPath = storage.stagingPath();
      staged.push(outPath);
      try {
        parsed = await parser.parse({ path: v.dataFile, originalName: `v${n}.parquet`, sizeBytes: (await stat(v.dataFile)).size }, parseOptionsFrom({}), { outPath, client });
      } catch (err) {
        if (err instanceof ApiError && err.status < 500 && err.status !== 429 && err.code !== "BUSY" && err.code !== "STORAGE_FULL") {
          throw invalidArchive(`Version ${n}'s data cannot be read back (${err.message}).`);
        }
        throw err;
      }
      const got = parsed.columns.map((c) => `${c.name}: ${c.dtype}`);
      const want = v.version.columns.map((c) => `${c.name}: ${c.dtype}`);
      if (got.join("\n") !== want.join("\n")) {
        const i = got.findIndex((g, k) => g !== want[k]);
        const at = i === -1 ? got.length : i;
        throw invalidArchive(`Version ${n}'s data does not match its metadata: column ${at + 1} is ${JSON.stringify(got[at] ?? "missing")}, the metadata says ${JSON.stringify(want[at] ?? "none")}.`);
      }
      if (parsed.rowCount !== v.version.rowCount) {
        throw invalidArchive(`Version ${n}'s data has ${parsed.rowCount} rows; its metadata says ${v.version.rowCount}.`);
      }
      imported.push({ ...parsed, source: v.version.source as SourceInfo, version: n, createdAt: v.version.createdAt });
    }
    const d = manifest.dataset;
    const created = await storage.importDataset(
      { name: datasetName, description: d.description, createdAt: d.createdAt, updatedAt: d.updatedAt, highestIssued: d.highestIssued },
      imported,
    );
    staged.length = 0; // storage owns them now
    for (const v of versions) {
      await storage.saveStats(created.dataset.id, v.version.version, { ...v.stats, datasetId: created.dataset.id });
    }
    return created;
  } finally {
    await Promise.all([rm(dir, { recursive: true, force: true }), ...staged.map((f) => rm(f, { force: true }))]);
  }
}
