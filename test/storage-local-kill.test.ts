/**
 * Crash safety of the `local` backend's commit protocol, without HTTP in between: a child process
 * adds versions and creates datasets as fast as it can and is killed with SIGKILL at a random
 * moment, 20 times. (test/storage-local-crash.test.ts does the same through the real server, where
 * parsing dominates each upload's time; here most kills land inside a commit.) After each kill a
 * fresh store on the folder must hold every acknowledged version with all its rows, and nothing
 * partial.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalStorage } from "../src/storage/local.ts";
import { versionOf } from "./helpers/versions.ts";
import { rowsOf } from "./storage-contract.ts";

const REPO = path.resolve(import.meta.dirname, "..");
const CYCLES = 20;

/** Writes forever; prints one JSON line per acknowledged write: {tag, rows, datasetId, version}. */
const CHILD = `
import pl from "nodejs-polars";
import { createLocalStorage } from "./src/storage/local.ts";
import { versionOf } from "./test/helpers/versions.ts";
const [dataDir, cycle] = process.argv.slice(1);
const storage = await createLocalStorage({ dataDir, budgetBytes: 64 * 1024 * 1024 });
const shared = await storage.findByName("shared");
const frameOf = (tag, n) => pl.DataFrame([pl.Series("tag", Array(n).fill(tag), pl.String), pl.Series("i", Array.from({ length: n }, (_, i) => i), pl.Int64)]);
const source = (tag) => ({ filename: tag + ".csv", format: "csv", sizeBytes: 1, sha256: "0", sheet: null });
process.stdout.write("ready\\n");
const lane = async (laneNo) => {
  for (let k = 0; ; k++) {
    const tag = "c" + cycle + "l" + laneNo + "n" + k;
    const n = 1 + ((k * 7919 + laneNo * 104729) % 5000);
    const r = laneNo === 2 || !shared
      ? await storage.createDataset({ name: tag, description: "" }, versionOf(frameOf(tag, n), source(tag), storage.stagingPath()))
      : await storage.addVersion(shared.id, versionOf(frameOf(tag, n), source(tag), storage.stagingPath()));
    process.stdout.write(JSON.stringify({ tag, rows: n, datasetId: r.dataset.id, version: r.version.version }) + "\\n");
  }
};
await Promise.all([0, 1, 2].map(lane));
`;

let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "storage-kill-"));
});

afterAll(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

describe("local storage process killed with SIGKILL mid-commit", () => {
  it(`keeps every acknowledged write and shows nothing partial over ${CYCLES} kills`, { timeout: 120_000 }, async () => {
    const setup = await createLocalStorage({ dataDir, budgetBytes: 1024 * 1024 });
    await setup.createDataset({ name: "shared", description: "" }, versionOf((await import("nodejs-polars")).default.DataFrame({ tag: ["shared"], i: [0] }), { filename: "shared.csv", format: "csv", sizeBytes: 1, sha256: "0", sheet: null }, setup.stagingPath()));
    await setup.close();
    const acknowledged: { tag: string; rows: number; datasetId: string; version: number }[] = [];
    const checked = new Set<string>();
    /** The child's row count for a tag, so writes that landed unacknowledged can be checked too. */
    const rowsForTag = (tag: string): number => {
      if (tag === "shared") return 1;
      const [, laneNo, k] = (/^c\d+l(\d)n(\d+)$/.exec(tag) ?? []).map(Number);
      return 1 + (((k ?? 0) * 7919 + (laneNo ?? 0) * 104729) % 5000);
    };

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD, dataDir, String(cycle)], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      const lines = createInterface({ input: child.stdout });
      await new Promise<void>((resolve, reject) => {
        lines.on("line", (line) => {
          if (line === "ready") {
            // Kill somewhere among the first few dozen commits.
            setTimeout(() => child.kill("SIGKILL"), 50 + ((cycle * 37) % 20) * 15);
            return;
          }
          const ack = JSON.parse(line);
          acknowledged.push(ack);
          expect(ack.rows).toBe(rowsForTag(ack.tag));
        });
        void exited.then(() => (child.signalCode === "SIGKILL" ? resolve() : reject(new Error(`child exited: ${stderr}`))));
      });

      const store = await createLocalStorage({ dataDir, budgetBytes: 1024 * 1024, warn: (m) => expect.fail(m) });
      try {
        expect(await readdir(path.join(dataDir, "tmp"))).toEqual([]);
        const visible = new Set<string>();
        for (const d of (await store.listDatasets({ offset: 0, limit: 10_000 })).items) {
          for (const v of await store.listVersions(d.id)) {
            const key = `${d.id}/${v.version}`;
            visible.add(key);
            if (checked.has(key)) continue; // versions never change once checked
            checked.add(key);
            // Unacknowledged writes may have landed, but only whole: rows and metadata agree.
            const rows = await rowsOf(store, d.id, v.version);
            const tag = rows[0]?.tag as string;
            expect(v.source.filename).toBe(`${tag}.csv`);
            expect(rows.length, `${d.name} v${v.version}`).toBe(v.rowCount);
            expect(rows.length, `${d.name} v${v.version}`).toBe(rowsForTag(tag));
            expect(rows.every((r, i) => r.tag === tag && Number(r.i) === (tag === "shared" ? 0 : i))).toBe(true);
          }
        }
        for (const a of acknowledged) expect(visible.has(`${a.datasetId}/${a.version}`), a.tag).toBe(true);
      } finally {
        await store.close();
      }
    }
    expect(acknowledged.length).toBeGreaterThan(CYCLES);
  });
});
