/**
 * The first page of a version that is not in memory (local backend), end to end over HTTP on a
 * fresh server: storage verifies the footer and the row groups the page reads against the
 * checksum, then Polars scans only those. Target (issue 13): ≤ 50 ms, without loading it whole.
 *   node scripts/cold-first-page.ts [rows=2000000]
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pl from "nodejs-polars";
import { writeDataFile } from "../src/storage/data-file.ts";
import { createLocalStorage } from "../src/storage/local.ts";
import { startServer } from "../test/helpers/server.ts";

const rows = Number(process.argv[2] ?? 2_000_000);
const dataDir = await mkdtemp(path.join(os.tmpdir(), "ds-cold-page-"));
try {
  const ids = Array.from({ length: rows }, (_, i) => i);
  const frame = pl.DataFrame([
    pl.Series("id", ids, pl.Int64),
    ...Array.from({ length: 4 }, (_, k) => pl.Series(`x${k}`, ids.map((i) => ((i * (7919 + k)) % 100_003) / 7), pl.Float64)),
    ...Array.from({ length: 4 }, (_, k) => pl.Series(`s${k}`, ids.map((i) => `v${(i * (104_729 + k)) % 50_021}`))),
    pl.Series("d", ids.map((i) => new Date(Date.UTC(2020, 0, 1 + (i % 2000)))), pl.Date),
  ]);
  const seed = await createLocalStorage({ dataDir, budgetBytes: 1e10 });
  // the data file exactly as the parser child writes it
  const dataFile = seed.stagingPath();
  const facts = await writeDataFile(frame, dataFile);
  const next = { dataFile, source: { filename: "cold.csv", format: "csv" as const, sizeBytes: 0, sha256: "0".repeat(64), sheet: null }, ...facts };
  const { dataset } = await seed.createDataset({ name: "cold", description: "" }, next);
  await seed.close();
  const results: string[] = [];
  for (let run = 0; run < 3; run++) {
    const server = await startServer("local", { DATA_DIR: dataDir, LOG_LEVEL: "silent" });
    const url = `${server.url}/api/datasets/${dataset.id}/versions/1/data?limit=100`;
    const t = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    const first = performance.now() - t;
    const t2 = performance.now();
    await (await fetch(`${url}&offset=1500000`)).arrayBuffer();
    const far = performance.now() - t2;
    results.push(`run ${run + 1}: first page ${first.toFixed(1)} ms (status ${res.status}), a page at row 1,500,000 ${far.toFixed(1)} ms`);
    await server.close({ keepData: true });
  }
  console.log(`cold first page, ${rows} rows × 10 columns, ${(next.checksum.bytes / 1e6).toFixed(1)} MB data file, ${next.checksum.blocks.length} checksum blocks:\n  ${results.join("\n  ")}`);
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
