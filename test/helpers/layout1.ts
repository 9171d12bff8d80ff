/**
 * Writes a DATA_DIR the way the previous build did (local layout 1: no checksum, values never
 * proven renderable), for tests of the upgrade path. Nothing is formatted while writing.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import type pl from "nodejs-polars";
import { describeColumns } from "../../src/frame/dtype.ts";
import { estimatedBytes, frameHeight } from "../../src/frame/safe.ts";
import type { SourceInfo, Version } from "../../src/types.ts";

export interface SeededDataset {
  id: string;
  versions: Version[];
}

export function seedLayout1(dataDir: string, name: string, frames: { frame: pl.DataFrame; source: SourceInfo }[]): SeededDataset {
  const id = randomUUID();
  const dir = path.join(dataDir, "datasets", id);
  const versionsDir = path.join(dir, "versions");
  mkdirSync(versionsDir, { recursive: true });
  mkdirSync(path.join(dataDir, "tmp"), { recursive: true });
  const createdAt = new Date(Date.UTC(2025, 0, 1)).toISOString();
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  writeFileSync(path.join(dir, "dataset.json"), json({ layout: 1, dataset: { id, name, description: "written by the previous build", createdAt, updatedAt: createdAt } }));
  const versions = frames.map(({ frame, source }, i) => {
    const stem = path.join(versionsDir, String(i + 1).padStart(6, "0"));
    frame.writeParquet(`${stem}.parquet`, { compression: "zstd" });
    const columns = describeColumns(frame);
    const version: Version = { datasetId: id, version: i + 1, createdAt, source, rowCount: frameHeight(frame), columnCount: columns.length, columns };
    writeFileSync(`${stem}.claim`, json({ pid: 1, claimedAt: createdAt }));
    writeFileSync(`${stem}.json`, json({ layout: 1, version, data: { fileBytes: statSync(`${stem}.parquet`).size, frameBytes: estimatedBytes(frame) } }));
    return version;
  });
  return { id, versions };
}
