/**
 * Long requests and abandoned answers, on the real entry point (`node src/server.ts`, its own
 * log on stdout), with the default settings (QA Q9, Q15):
 * - a 7,900-value `in` filter, `|` percent-encoded as Python's requests sends it (a ~54 KB URL),
 *   works on /data (and its cursor), /stats and /download while /api/health stays fast; a request
 *   head over MAX_HEADER_BYTES is a 431 problem+json naming the limit;
 * - a client that closes a download or a page mid-way is logged at info level, `aborted: true`,
 *   never as an error; and no log line ever carries a query value or a token.
 */
import net from "node:net";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawExchange, sleep, startServerProcess, underAttack, type ServerProcess } from "./hostile-helpers.ts";

const SECRET = "TOPSECRET";
const ROWS = 200_000;
const IN_VALUES = 7_900;
const DEFAULT_HEADER_BYTES = 65_536;

let server: ServerProcess;
let dir: string;
let id: string;

/** The log lines the server printed, parsed. */
function logLines(): Record<string, unknown>[] {
  return server
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function until<T>(what: string, check: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const hit = check();
    if (hit !== undefined) return hit;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "http-limits-"));
  // the defaults, except the upload folder; rate limits are off in the helper (RATE_LIMIT_READS=0)
  server = await startServerProcess({ STORAGE_BACKEND: "memory", UPLOAD_DIR: path.join(dir, "uploads") });
  const csv = `n,b\n${Array.from({ length: ROWS }, (_, i) => `${i},value-${i % 977}-${"x".repeat(40)}`).join("\n")}\n`;
  const form = new FormData();
  form.append("file", new Blob([csv]), "limits.csv");
  const res = await fetch(`${server.url}/api/datasets/upload`, { method: "POST", body: form });
  expect(res.status).toBe(201);
  id = ((await res.json()) as { dataset: { id: string } }).dataset.id;
  expect((await fetch(`${server.url}/api/datasets/${id}/versions/1/stats`)).status).toBe(200);
}, 120_000);

afterAll(async () => {
  await server?.kill();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("long filter URLs (Q9)", () => {
  // as requests/urllib encode it: ':' as %3A, '|' as %7C
  const inFilter = `filter=${encodeURIComponent(`n:in:${Array.from({ length: IN_VALUES }, (_, i) => String(i * 3)).join("|")}`)}`;

  it("serves a 7,900-value in filter (about 54 KB of URL) on /data, its cursor, /stats and /download while health stays fast", async () => {
    expect(inFilter.length).toBeGreaterThan(50_000);
    expect(inFilter.length).toBeLessThan(DEFAULT_HEADER_BYTES - 1000);
    const v = `${server.url}/api/datasets/${id}/versions/1`;
    const { result, health } = await underAttack(server.url, async () => {
      const page = await fetch(`${v}/data?${inFilter}&limit=5000&columns=n`);
      const body = (await page.json()) as { totalRows: number; rows: { n: number }[]; next: string | null };
      const second = body.next ? await fetch(`${v}/data?cursor=${body.next}`) : null;
      const secondBody = second ? ((await second.json()) as { rows: { n: number }[]; next: string | null }) : null;
      const stats = await fetch(`${v}/stats?${inFilter}`);
      const statsBody = (await stats.json()) as { rowCount: number; columns: { name: string; max?: number }[] };
      const download = await fetch(`${v}/download?${inFilter}&format=ndjson&columns=n`);
      const lines = (await download.text()).trimEnd().split("\n");
      return { page: page.status, link: page.headers.get("link"), body, second: second?.status, secondBody, stats: stats.status, statsBody, download: download.status, lines };
    });
    expect(result.page).toBe(200);
    expect(result.body.totalRows).toBe(IN_VALUES);
    expect(result.body.rows.slice(0, 3)).toEqual([{ n: 0 }, { n: 3 }, { n: 6 }]);
    expect(result.body.next).not.toBeNull();
    expect(result.second).toBe(200);
    expect(result.secondBody?.rows).toHaveLength(IN_VALUES - 5000);
    expect(result.secondBody?.rows[0]).toEqual({ n: 15_000 });
    expect(result.secondBody?.next).toBeNull();
    expect(result.stats).toBe(200);
    expect(result.statsBody.rowCount).toBe(IN_VALUES);
    expect(result.statsBody.columns.find((c) => c.name === "n")?.max).toBe((IN_VALUES - 1) * 3);
    expect(result.download).toBe(200);
    expect(result.lines).toHaveLength(IN_VALUES);
    expect(JSON.parse(result.lines.at(-1) as string)).toEqual({ n: (IN_VALUES - 1) * 3 });
    expect(health.failures).toEqual({});
    expect(health.count).toBeGreaterThanOrEqual(3);
    expect(health.max).toBeLessThan(1000);
  }, 120_000);

  it("answers a request head over MAX_HEADER_BYTES with a 431 problem+json that names the limit", async () => {
    const long = `/api/datasets/${id}/versions/1/data?filter=${"1%7C".repeat(20_000)}1`;
    const res = await rawExchange(server.port, `GET ${long} HTTP/1.1\r\nHost: x\r\n\r\n`, "127.0.0.1");
    expect(res.status).toBe(431);
    expect(res.headers).toMatch(/content-type: application\/problem\+json/i);
    expect(res.headers).toMatch(/cache-control: no-store/i);
    const body = JSON.parse(res.body) as { code: string; detail: string; limitBytes: number };
    expect(body.code).toBe("HEADERS_TOO_LARGE");
    expect(body.limitBytes).toBe(DEFAULT_HEADER_BYTES);
    expect(body.detail).toContain("65,536 bytes");
    expect(body.detail).toContain("MAX_HEADER_BYTES");
    const header = await rawExchange(server.port, `GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(DEFAULT_HEADER_BYTES + 10)}\r\n\r\n`, "127.0.0.1");
    expect(header.status).toBe(431);
    // and the server is fine
    expect((await fetch(`${server.url}/api/health`)).status).toBe(200);
  });
});

describe("abandoned answers and what is logged (Q15)", () => {
  /** Sends a GET, reads `bytes` of the answer (0: none), then closes the connection. */
  async function abandon(pathname: string, bytes: number): Promise<string> {
    const socket = net.connect({ port: server.port, host: "127.0.0.1" });
    await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
    let got = "";
    const enough = new Promise<void>((resolve) => {
      if (bytes === 0) resolve();
      socket.on("data", (d: Buffer) => {
        got += d.toString("latin1");
        if (got.length >= bytes) resolve();
      });
    });
    socket.write(`GET ${pathname} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${SECRET}-token\r\n\r\n`);
    await enough;
    socket.destroy();
    return got;
  }

  it("logs a download closed mid-way at info with aborted: true, never as an error, and no query value anywhere", async () => {
    const v = `/api/datasets/${id}/versions/1`;
    const csv = await abandon(`${v}/download?format=csv&filter=b:ne:${SECRET}1`, 1024);
    expect(csv).toMatch(/^HTTP\/1\.1 200/);
    await abandon(`${v}/download?format=ndjson&sort=-n&filter=b:ne:${SECRET}2`, 0);
    await abandon(`${v}/data?limit=10000&filter=b:ne:${SECRET}3`, 0);
    // errors and ordinary requests with values in their query
    expect((await fetch(`${server.url}${v}/data?columns=${SECRET}4`)).status).toBe(400);
    expect((await fetch(`${server.url}/api/nothing?q=${SECRET}5`)).status).toBe(404);
    expect((await fetch(`${server.url}/%E0%A4%A?${SECRET}6`)).status).toBe(400);
    expect((await fetch(`${server.url}${v}/data?limit=1&filter=b:eq:${SECRET}7`)).status).toBe(200);

    const aborted = await until("the aborted download's log line", () => {
      const lines = logLines().filter((l) => l.aborted === true && l.route === "/api/datasets/:datasetId/versions/:version/download");
      return lines.length >= 2 ? lines : undefined;
    });
    for (const line of aborted) {
      expect(line.level).toBe(30);
      expect(line.msg).toBe("request aborted");
      expect(line.method).toBe("GET");
    }
    // the one read for 1 KB had its 200 under way
    expect(aborted.some((l) => l.status === 200)).toBe(true);
    // let the abandoned exports finish or fail in the background, then read the whole log
    await sleep(2000);
    const lines = logLines();
    expect(lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
    expect(server.output()).not.toContain(SECRET);
    expect(server.output()).not.toContain("Premature close");
    // the routes of errors handled outside their router keep their mount path
    expect(lines.some((l) => l.route === "/api/datasets/:datasetId/versions/:version/data" && l.status === 400)).toBe(true);
  }, 60_000);
});
