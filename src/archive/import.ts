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
import { describeColumns } from "../frame/dtype.ts";
import { frameHeight } from "../frame/safe.ts";
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
}

export async function importArchive({ storage, parser, workDir }: ImportDeps, archiveFile: string, name?: string): Promise<{ dataset: Dataset; versions: Version[] }> {
  const dir = await mkdtemp(path.join(workDir, `import-${process.pid}-`));
  try {
    const { manifest, versions } = await readArchive(archiveFile, dir);
    const datasetName = name ?? manifest.dataset.name;
    const existing = await storage.findByName(datasetName);
    if (existing) {
      throw new ApiError(409, "NAME_TAKEN", `A dataset named "${existing.name}" already exists; send a "name" field to import this archive under another name.`, { datasetId: existing.id });
    }
    const imported: ImportedVersion[] = [];
    for (const v of versions) {
      let parsed;
      try {
        parsed = await parser.parse({ path: v.dataFile, originalName: `v${v.version.version}.parquet`, sizeBytes: (await stat(v.dataFile)).size }, parseOptionsFrom({}));
      } catch (err) {
        if (err instanceof ApiError && err.status < 500 && err.code !== "BUSY") {
          throw invalidArchive(`Version ${v.version.version}'s data cannot be read back (${err.message}).`);
        }
        throw err;
      }
      const got = describeColumns(parsed.frame).map((c) => `${c.name}: ${c.dtype}`);
      const want = v.version.columns.map((c) => `${c.name}: ${c.dtype}`);
      if (got.join("\n") !== want.join("\n")) {
        const i = got.findIndex((g, k) => g !== want[k]);
        throw invalidArchive(`Version ${v.version.version}'s data does not match its metadata: column ${i + 1} is ${JSON.stringify(got[i] ?? "missing")}, the metadata says ${JSON.stringify(want[i] ?? "none")}.`);
      }
      if (frameHeight(parsed.frame) !== v.version.rowCount) {
        throw invalidArchive(`Version ${v.version.version}'s data has ${frameHeight(parsed.frame)} rows; its metadata says ${v.version.rowCount}.`);
      }
      imported.push({ frame: parsed.frame, source: v.version.source as SourceInfo, version: v.version.version, createdAt: v.version.createdAt });
    }
    const d = manifest.dataset;
    const created = await storage.importDataset(
      { name: datasetName, description: d.description, createdAt: d.createdAt, updatedAt: d.updatedAt, highestIssued: d.highestIssued },
      imported,
    );
    for (const v of versions) {
      await storage.saveStats(created.dataset.id, v.version.version, { ...v.stats, datasetId: created.dataset.id });
    }
    return created;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
