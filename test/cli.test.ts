/**
 * The `dataset-service` command (bin/dataset-service.ts) against a real server on a loopback port:
 * run as a separate process, as a person would run it, and checked against the API's own answers.
 */
import { execFile } from "node:child_process";
import { readFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getJson, startServer, type TestServer } from "./helpers/server.ts";

const BIN = path.resolve(import.meta.dirname, "..", "bin", "dataset-service.ts");
const run = promisify(execFile);

describe("dataset-service CLI", () => {
  let server: TestServer;
  let dir: string;

  /** Runs the CLI; resolves with its exit code and output, whatever the code. */
  async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [BIN, "--server", server.url, ...args], { cwd: dir, encoding: "utf8" });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  }

  beforeAll(async () => {
    server = await startServer("memory");
    dir = await mkdtemp(path.join(os.tmpdir(), "ds-cli-"));
    await writeFile(path.join(dir, "jan.csv"), "id,city,amount\n1,Paris,10\n2,Oslo,20\n");
    await writeFile(path.join(dir, "feb.csv"), "id,city,amount\n1,Paris,11\n2,Oslo,20\n3,Lima,5\n");
    await writeFile(path.join(dir, "latin1.csv"), Buffer.from("name\nJos\xe9\n", "latin1"));
  });

  afterAll(async () => {
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("uploads several files under one name: the first creates the dataset, the next add versions", async () => {
    const r = await cli("--progress", "upload", "jan.csv", "feb.csv", "--name", "sales", "--description", "monthly");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/jan\.csv → sales v1 \(2 rows, 3 columns\)/);
    expect(r.stdout).toMatch(/feb\.csv → sales v2 \(3 rows, 3 columns\)/);
    // Progress bars went to stderr, never into the output.
    expect(r.stderr).toContain("jan.csv [");
    expect(r.stderr).toContain("100%");
    const list = (await getJson(`${server.url}/api/datasets?name=sales`)).body;
    expect(list.items[0]).toMatchObject({ name: "sales", description: "monthly", versionCount: 2, latestVersion: 2 });
  });

  it("prints the version's notes and passes parsing options through", async () => {
    const r = await cli("upload", "latin1.csv", "--encoding", "windows-1252");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("latin1.csv → latin1 v1 (1 rows, 1 columns)");
    expect(r.stdout).toContain("note: The file was decoded from windows-1252 (as requested)");
    const bad = await cli("upload", "jan.csv", "--name", "sales", "--option", "delimeter=;");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('400 BAD_REQUEST: Unknown form field "delimeter" (did you mean "delimiter"?)');
  });

  it("lists datasets as a table and as JSON", async () => {
    const r = await cli("list");
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^NAME\s+VERSIONS\s+LATEST\s+UPDATED\s+ID$/);
    const sales = (await getJson(`${server.url}/api/datasets?name=sales`)).body.items[0];
    expect(lines.some((l) => l.startsWith("sales") && l.includes(" v2 ") && l.endsWith(sales.id))).toBe(true);
    const json = JSON.parse((await cli("list", "--json")).stdout);
    expect(json.map((d: { name: string }) => d.name).sort()).toEqual(["latin1", "sales"]);
  });

  it("downloads a version byte for byte as the API serves it, to a file or standard output", async () => {
    const id = (await getJson(`${server.url}/api/datasets?name=sales`)).body.items[0].id;
    const r = await cli("--progress", "download", "sales", "--format", "parquet");
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("saved feb-v2.parquet");
    const got = await readFile(path.join(dir, "feb-v2.parquet"));
    const want = Buffer.from(await (await fetch(`${server.url}/api/datasets/${id}/versions/2/download?format=parquet`)).arrayBuffer());
    expect(got.equals(want)).toBe(true);

    const csv = await cli("download", id, "-v", "1", "-o", "-");
    expect(csv.code).toBe(0);
    expect(csv.stdout).toBe(await (await fetch(`${server.url}/api/datasets/${id}/versions/1/download?format=csv`)).text());
    expect(csv.stdout.replaceAll('"', "")).toBe("id,city,amount\n1,Paris,10\n2,Oslo,20\n");

    const filtered = await cli("download", "sales", "--filter", "amount:gte:11", "--sort", "-amount", "--columns", "city,amount", "-o", "big.csv");
    expect(filtered.code).toBe(0);
    expect((await readFile(path.join(dir, "big.csv"), "utf8")).replaceAll('"', "")).toBe("city,amount\nOslo,20\nParis,11\n");
  });

  it("compares two versions: columns, counts and the differing rows, as the diff API answers", async () => {
    // jan.csv → feb.csv: Paris 10 → 11, Lima added (sales v1 → v2, from the first test).
    const id = (await getJson(`${server.url}/api/datasets?name=sales`)).body.items[0].id;
    const r = await cli("diff", "sales", "--from", "1", "--to", "2", "--key", "id", "--rows", "changed");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      ["sales: v1 → v2, rows matched by id", "columns: the same", "rows: 1 added, 0 removed, 1 changed, 1 unchanged", "", "changed rows:", "  id=1: amount 10 → 11", ""].join("\n"),
    );
    const added = await cli("diff", "sales", "--key", "id", "--rows", "added");
    expect(added.stdout).toContain("added rows:\n  id=3 city=Lima amount=5\n");
    // Without a key, whole rows: the change is one removed and one added row; --json is the server's answer.
    const json = JSON.parse((await cli("diff", "sales", "--json")).stdout);
    expect(json).toEqual((await getJson(`${server.url}/api/datasets/${id}/diff?to=latest`)).body);
    expect(json.rows).toMatchObject({ added: 2, removed: 1, changed: 0 });
    const bad = await cli("diff", "sales", "--key", "city,nope");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: 400 .*nope/);
  });

  it("uploads with --if-changed: the same bytes again store nothing", async () => {
    const r = await cli("upload", "feb.csv", "--name", "sales", "--if-changed");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("feb.csv → sales unchanged: the same bytes as v2, nothing stored\n");
    expect((await getJson(`${server.url}/api/datasets?name=sales`)).body.items[0].versionCount).toBe(2);
  });

  it("says what went wrong and exits 1", async () => {
    const missing = await cli("download", "nope");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No dataset named or with id "nope"');
    const badColumn = await cli("download", "sales", "--sort", "amuont");
    expect(badColumn.code).toBe(1);
    expect(badColumn.stderr).toMatch(/^error: 400 BAD_REQUEST: .*amuont/);
    const down = await run(process.execPath, [BIN, "--server", "http://127.0.0.1:9", "list"], { encoding: "utf8" }).catch((e: { code: number; stderr: string }) => e);
    expect((down as { code: number }).code).toBe(1);
    expect((down as { stderr: string }).stderr).toContain("error: cannot reach http://127.0.0.1:9");
  });
});
