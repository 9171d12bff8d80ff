/**
 * The spool (src/spool.ts) on a real folder: start-up removes what dead processes (and an earlier
 * process with our pid) left, never a live server's files; the budget counts reservations, then
 * real sizes; release gives the bytes back and removes the file and its `.part`.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../src/errors.ts";
import { createSpool } from "../src/spool.ts";

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "spool-test-"));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A pid that surely belongs to no process: one that just exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ["-e", "0"]).pid as number;
}

describe("spool", () => {
  it("removes at start-up the files of dead processes and of an earlier process with our pid, keeps a live one's and foreign files", () => {
    const dead = deadPid();
    const live = process.ppid;
    for (const name of [`spool-${dead}-a.csv`, `spool-${dead}-a.csv.part`, `spool-${process.pid}-old.parquet`, `spool-${live}-b.csv`, "not-ours.txt"]) writeFileSync(path.join(dir, name), "x".repeat(100));
    createSpool({ dir, budgetBytes: 1000 });
    expect(readdirSync(dir).sort()).toEqual([`spool-${live}-b.csv`, "not-ours.txt"].sort());
  });

  it("reserves estimates, counts real sizes once written, refuses 507 with Retry-After when full, and gives bytes back on release", async () => {
    const spool = createSpool({ dir, budgetBytes: 1000 });
    const a = spool.take("csv", 600);
    expect(a.path.startsWith(path.join(dir, `spool-${process.pid}-`))).toBe(true);
    expect(a.path.endsWith(".csv")).toBe(true);
    expect(spool.usedBytes()).toBe(600);
    // the estimate fits what is left only partly: reserved up to the budget, still allowed
    const b = spool.take("json", 600);
    expect(spool.usedBytes()).toBe(1000);
    let refused: unknown;
    try {
      spool.take("csv", 1);
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(ApiError);
    expect((refused as ApiError).status).toBe(507);
    expect((refused as ApiError).code).toBe("STORAGE_FULL");
    expect(Number((refused as ApiError).headers["Retry-After"])).toBeGreaterThan(0);
    // real sizes replace the estimates
    await writeFile(a.path, "x".repeat(100));
    expect(await a.settle()).toBe(100);
    await writeFile(b.path, "y".repeat(50));
    await writeFile(`${b.path}.part`, "z");
    await b.settle();
    expect(spool.usedBytes()).toBe(150);
    const c = spool.take("parquet", 10);
    await b.release();
    await b.release();
    expect(existsSync(b.path) || existsSync(`${b.path}.part`)).toBe(false);
    expect(spool.usedBytes()).toBe(110);
    expect(spool.fileCount()).toBe(2);
    await writeFile(c.path, "w");
    await spool.close();
    expect(existsSync(a.path) || existsSync(c.path)).toBe(false);
    expect(spool.usedBytes()).toBe(0);
  });

  it("never lets a caller choose the file name's extension beyond a short word", () => {
    const spool = createSpool({ dir, budgetBytes: 1000 });
    expect(path.basename(spool.take("../../etc/passwd", 1).path)).toMatch(/^spool-\d+-[0-9a-f-]+\.bin$/);
  });

  it("defaults the budget to half the folder's free space", () => {
    const spool = createSpool({ dir, budgetBytes: 0 });
    expect(spool.budgetBytes).toBeGreaterThan(0);
  });
});
