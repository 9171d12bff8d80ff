/**
 * The hostile suite, shapes half (issue 11): files and queries whose cost grows with their
 * shape rather than their size — 2 × 1000 and 2 × 2000 column CSVs (upload, stats, filtered
 * stats, pages), a 7,900-value `in` filter — and crafted files whose values Polars cannot
 * format (a Date 100,000,000 days out, a Datetime of 9e18 µs), which once aborted the process.
 * The real server runs as a child process; `/api/health` must answer within 1 s throughout,
 * nothing may answer 5xx, the process must survive, and what was stored before must stay.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerProcess, underAttack, type HealthReport, type ServerProcess } from "./hostile-helpers.ts";

/**
 * These cases need the isolation half of issue 11 (query workers for stats/filters/sorts, the
 * render proof at ingest). Until its modules are in the tree they are skipped, saying so: on the
 * build without them a 2 × 1000 CSV stalls health for minutes and the crafted files abort the
 * server (measured: health timed out at 5 s for the whole `in` filter case; the server died).
 * They switch themselves on when `src/jobs/` and `src/ingest/renderable.ts` exist.
 */

const figures: string[] = [];
let dir: string;
let server: ServerProcess;
let keep: { id: string; rows: number };

function record(name: string, health: HealthReport): void {
  figures.push(`| ${name} | ${health.count} | ${health.p50} ms | ${health.max} ms | ${JSON.stringify(health.failures)} |`);
}

function expectHealthy(health: HealthReport): void {
  expect(health.failures).toEqual({});
  expect(health.max).toBeLessThan(1000);
}

async function upload(name: string, content: Blob | string): Promise<{ status: number; body: Record<string, unknown> }> {
  const form = new FormData();
  form.append("file", typeof content === "string" ? new Blob([content]) : content, name);
  const res = await fetch(`${server.url}/api/datasets/upload`, { method: "POST", body: form });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function get(pathname: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${server.url}${pathname}`, { signal: AbortSignal.timeout(60_000) });
  const text = await res.text();
  return { status: res.status, body: text.startsWith("{") ? (JSON.parse(text) as unknown) : text };
}

const wideCsv = (columns: number) => `${Array.from({ length: columns }, (_, i) => `c${i}`).join(",")}\n${Array.from({ length: columns }, (_, i) => i).join(",")}\n${Array.from({ length: columns }, (_, i) => i * 2).join(",")}\n`;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "hostile-shapes-"));
  server = await startServerProcess({ STORAGE_BACKEND: "memory", UPLOAD_DIR: path.join(dir, "uploads"), SPOOL_DIR: path.join(dir, "spool"), PARSE_WORKERS: "2" });
  const rows = 20_000;
  const up = await upload("keep.csv", `id,city\n${Array.from({ length: rows }, (_, i) => `${i},city-${i % 9000}`).join("\n")}\n`);
  expect(up.status).toBe(201);
  keep = { id: (up.body.dataset as { id: string }).id, rows };
}, 60_000);

afterAll(async () => {
  console.log(`\nhostile shapes suite: /api/health while each case ran\n| case | health requests | p50 | max | failures |\n| --- | --- | --- | --- | --- |\n${figures.join("\n")}`);
  await server?.kill();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("hostile shapes (server process)", () => {
  for (const columns of [1000, 2000]) {
    it(`2 × ${columns} columns: upload, stats, filtered stats and pages without stalling anyone`, async () => {
      const { result, health } = await underAttack(server.url, async () => {
        const up = await upload(`wide-${columns}.csv`, wideCsv(columns));
        const id = (up.body.dataset as { id?: string } | undefined)?.id;
        if (!id) return { upload: up.status, answers: [] as number[] };
        const base = `/api/datasets/${id}/versions/1`;
        const answers = [];
        for (const p of [`${base}/stats`, `${base}/stats?filter=c0:gt:0`, `${base}/stats?filter=c1:lt:5`, `${base}/data`, `${base}/data?limit=1&offset=1`, `${base}/data?columns=c${columns - 1},c0`, `${base}/data?filter=c${columns - 1}:gte:0&sort=-c0`]) {
          answers.push((await get(p)).status);
        }
        return { upload: up.status, answers };
      });
      record(`2 × ${columns} CSV: upload, stats, filtered stats, pages`, health);
      expect(result.upload).toBe(201);
      expect(result.answers).toEqual(Array(7).fill(200));
      expectHealthy(health);
    }, 120_000);
  }

  it("a 7,900-value `in` filter is answered (or refused clearly) without stalling anyone", async () => {
    const values = Array.from({ length: 7900 }, (_, i) => `city-${i}`).join("|");
    const { result, health } = await underAttack(server.url, async () => {
      const page = await get(`/api/datasets/${keep.id}/versions/1/data?filter=city:in:${encodeURIComponent(values)}&limit=5`);
      const stats = await get(`/api/datasets/${keep.id}/versions/1/stats?filter=city:in:${encodeURIComponent(values)}`);
      return { page: page.status, stats: stats.status, totalRows: (page.body as { totalRows?: number }).totalRows };
    });
    record("7,900-value in filter (page + filtered stats)", health);
    for (const status of [result.page, result.stats]) {
      expect(status === 200 || (status >= 400 && status < 500)).toBe(true);
    }
    // cities 0…7899 are on rows i with i % 9000 < 7900
    if (result.page === 200) expect(result.totalRows).toBe(Array.from({ length: keep.rows }, (_, i) => i % 9000 < 7900).filter(Boolean).length);
    expectHealthy(health);
  }, 120_000);

  it("crafted files whose dates Polars cannot format are refused (422) and cannot abort the server", async () => {
    const files: [string, pl.DataFrame][] = [
      ["date-1e8-days.parquet", pl.DataFrame({ d: pl.Series("d", [1, 100_000_000], pl.Int32).cast(pl.Date) })],
      // (from text: nodejs-polars builds an Int64 Series from bigints as nulls)
      ["datetime-9e18-us.parquet", pl.DataFrame({ t: pl.Series("t", ["1", "9000000000000000000"], pl.Utf8).cast(pl.Int64).cast(pl.Datetime("us")) })],
    ];
    const { result, health } = await underAttack(server.url, async () => {
      const out: { name: string; status: number; code: unknown; reads: number[] }[] = [];
      for (const [name, df] of files) {
        const file = path.join(dir, name);
        df.writeParquet(file);
        const { openAsBlob } = await import("node:fs");
        const up = await upload(name, await openAsBlob(file));
        const id = (up.body.dataset as { id?: string } | undefined)?.id;
        const reads: number[] = [];
        if (id) {
          // stored anyway: everything a reader can ask must still not take the server down
          for (const p of ["stats", "data", "download?format=csv", "download?format=ndjson"]) reads.push((await get(`/api/datasets/${id}/versions/1/${p}`).catch(() => ({ status: -1 }))).status);
        }
        out.push({ name, status: up.status, code: up.body.code, reads });
      }
      return out;
    });
    record("crafted out-of-range Date/Datetime Parquet files", health);
    expect(server.proc.exitCode).toBeNull();
    for (const r of result) {
      expect({ name: r.name, status: r.status, code: r.code }).toEqual({ name: r.name, status: 422, code: "UNPARSEABLE_FILE" });
    }
    expectHealthy(health);
  }, 120_000);

  it("afterwards: alive, no 5xx answered, the dataset stored first is whole", async () => {
    expect(server.proc.exitCode).toBeNull();
    const page = await get(`/api/datasets/${keep.id}/versions/1/data?offset=${keep.rows - 1}&limit=1`);
    expect(page.status).toBe(200);
    expect((page.body as { rows: { id: number }[] }).rows[0]?.id).toBe(keep.rows - 1);
    expect(server.output().split("\n").filter((l) => /"status":5\d\d/.test(l))).toEqual([]);
  });
});

