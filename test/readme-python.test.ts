/**
 * The README's Python example, run as written (python3 + requests) against a real server: upload,
 * paging with `next`, download. Skips where python3 or requests is missing.
 */
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "./helpers/server.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const hasRequests = spawnSync("python3", ["-c", "import requests"], { stdio: "ignore" }).status === 0;
if (!hasRequests) console.warn("readme-python.test.ts skipped: python3 with requests not found");

/** The ```python block of the README's "Clients" section. */
async function example(): Promise<string> {
  const readme = await readFile(path.join(ROOT, "README.md"), "utf8");
  const match = /\*\*Python\*\*[\s\S]*?```python\n([\s\S]*?)```/.exec(readme);
  if (!match?.[1]) throw new Error("README.md has no Python example under **Python**");
  return match[1];
}

describe.skipIf(!hasRequests)("README Python example", () => {
  let server: TestServer;
  let dir: string;
  beforeAll(async () => {
    server = await startServer("memory");
    dir = await mkdtemp(path.join(os.tmpdir(), "ds-python-"));
    await mkdir(path.join(dir, "fixtures"));
    await copyFile(path.join(ROOT, "fixtures", "plain.csv"), path.join(dir, "fixtures", "plain.csv"));
  });
  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("uploads, pages through every row with next and downloads Parquet", async () => {
    const code = await example();
    for (let run = 0; run < 2; run++) {
      // The second run meets the name taken (409) and goes on with that dataset, as written.
      // Asynchronously: the server answers from this same process.
      const out = await promisify(execFile)("python3", ["-c", code], { cwd: dir, env: { ...process.env, DATASET_SERVICE: server.url }, encoding: "utf8", timeout: 60_000 });
      const rows = (await readFile(path.join(ROOT, "fixtures", "plain.csv"), "utf8")).trim().split("\n").length - 1;
      expect(out.stdout).toContain(`${rows} rows; first:`);
      expect(out.stdout).toMatch(/saved \d+ bytes, attachment; filename="plain-v1\.parquet"/);
      expect(out.stdout).toContain('Unknown query parameter "order_by" (did you mean "sort"?)');
    }
    const parquet = await readFile(path.join(dir, "people.parquet"));
    expect(parquet.subarray(0, 4).toString()).toBe("PAR1");
  });
});
