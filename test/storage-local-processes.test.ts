/**
 * Two server processes sharing one DATA_DIR: versions they add to the same dataset at the same
 * time get distinct numbers (exclusive creation of each number's claim file).
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLocalStorage } from "../src/storage/local.ts";
import { newVersion, rowsOf, sampleFrame } from "./storage-contract.ts";

const REPO = path.resolve(import.meta.dirname, "..");

/**
 * Runs in each child (Node 24 strips the types of the imported .ts files): opens the store, says
 * "ready", waits for "go" on stdin, then adds `count` versions at once and prints their numbers.
 */
const CHILD = `
import pl from "nodejs-polars";
import { createLocalStorage } from "./src/storage/local.ts";
import { versionOf } from "./test/helpers/versions.ts";
const [dataDir, datasetId, count, tag] = process.argv.slice(1);
const storage = await createLocalStorage({ dataDir, budgetBytes: 64 * 1024 * 1024 });
process.stdout.write("ready\\n");
await new Promise((resolve) => process.stdin.once("data", resolve));
const jobs = Array.from({ length: Number(count) }, (_, i) => {
  const seed = Number(tag) * 100 + i;
  const frame = pl.DataFrame([pl.Series("id", [seed, seed + 1], pl.Int64), pl.Series("who", [tag, tag], pl.String)]);
  const source = { filename: String(seed) + ".csv", format: "csv", sizeBytes: 1, sha256: "0", sheet: null };
  return storage.addVersion(datasetId, versionOf(frame, source, storage.stagingPath())).then((r) => ({ seed, version: r.version.version }));
});
const results = await Promise.all(jobs);
await storage.close();
process.stdout.write(JSON.stringify(results) + "\\n");
`;

let dataDir: string;
const children: ChildProcessWithoutNullStreams[] = [];

beforeEach(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "storage-procs-"));
});

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  await rm(dataDir, { recursive: true, force: true });
});

interface Child {
  ready: Promise<void>;
  done: Promise<{ seed: number; version: number }[]>;
  go(): void;
}

function startChild(datasetId: string, count: number, tag: number): Child {
  const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD, dataDir, datasetId, String(count), String(tag)], { cwd: REPO });
  children.push(child);
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout });
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  const done = new Promise<{ seed: number; version: number }[]>((resolve, reject) => {
    lines.on("line", (line) => (line === "ready" ? onReady() : resolve(JSON.parse(line))));
    child.on("exit", (code) => reject(new Error(`child ${tag} exited with ${code}: ${stderr}`)));
  });
  return { ready: Promise.race([ready, done.then(() => undefined)]), done, go: () => child.stdin.write("go\n") };
}

describe("two processes on one DATA_DIR", () => {
  it("hand out distinct, gap-free version numbers for one dataset", async () => {
    const setup = await createLocalStorage({ dataDir, budgetBytes: 1024 * 1024 });
    const { dataset } = await setup.createDataset({ name: "shared", description: "" }, newVersion(0));
    await setup.close();

    const perChild = 12;
    const a = startChild(dataset.id, perChild, 1);
    const b = startChild(dataset.id, perChild, 2);
    await Promise.all([a.ready, b.ready]);
    a.go();
    b.go();
    const results = [...(await a.done), ...(await b.done)];

    const numbers = results.map((r) => r.version).sort((x, y) => x - y);
    expect(numbers).toEqual(Array.from({ length: 2 * perChild }, (_, i) => i + 2));

    // A fresh process sees every version, each holding the data of the call that got its number.
    const after = await createLocalStorage({ dataDir, budgetBytes: 1024 * 1024 });
    try {
      expect((await after.listVersions(dataset.id)).map((v) => v.version)).toEqual([1, ...numbers]);
      expect(await rowsOf(after, dataset.id, 1)).toEqual(sampleFrame(0).toRecords());
      for (const { seed, version } of results) {
        expect(await rowsOf(after, dataset.id, version)).toEqual([
          { id: seed, who: String(Math.floor(seed / 100)) },
          { id: seed + 1, who: String(Math.floor(seed / 100)) },
        ]);
      }
    } finally {
      await after.close();
    }
  });
});
