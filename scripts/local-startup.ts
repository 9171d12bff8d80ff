/**
 * Measures the local backend's start-up with many stored versions (it should read metadata only):
 *   node scripts/local-startup.ts [versions=100] [rowsPerVersion=10000]
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pl from "nodejs-polars";
import { createLocalStorage } from "../src/storage/local.ts";
import { versionOf } from "../test/helpers/versions.ts";

const versions = Number(process.argv[2] ?? 100);
const rows = Number(process.argv[3] ?? 10_000);
const dataDir = await mkdtemp(path.join(os.tmpdir(), "ds-startup-"));
try {
  const source = { filename: "x.csv", format: "csv" as const, sizeBytes: 0, sha256: "", sheet: null };
  const frame = () => pl.DataFrame({ id: Array.from({ length: rows }, (_, i) => i), name: Array.from({ length: rows }, (_, i) => `n${i}`) });
  const first = await createLocalStorage({ dataDir, budgetBytes: 1e9 });
  const { dataset } = await first.createDataset({ name: "startup", description: "" }, versionOf(frame(), source, first.stagingPath()));
  for (let v = 2; v <= versions; v++) await first.addVersion(dataset.id, versionOf(frame(), source, first.stagingPath()));
  await first.close();
  const t = performance.now();
  const second = await createLocalStorage({ dataDir, budgetBytes: 1e9 });
  const ms = performance.now() - t;
  const h = await second.health();
  console.log(`start-up with ${h.versions} versions (${(h.details.diskBytes ?? 0) / 1e6} MB on disk): ${ms.toFixed(1)} ms, ${h.dataBytes} bytes of data loaded`);
  await second.close();
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
