/**
 * Pages of very large rows (QA finding Q32): a page whose rows take more than WORKER_PAGE_BYTES
 * is made in a query worker, so rendering tens of megabytes of JSON does not hold the API
 * process's event loop. Its rows must be exactly the rows the in-process path serves.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pageBytesEstimate, WORKER_PAGE_BYTES } from "../src/query-service.ts";
import { underAttack } from "./hostile-helpers.ts";
import { getJson, startServer, upload, type TestServer } from "./helpers/server.ts";

const ROWS = 600;
const CELL = 64_000;

/** Row i's text: a different 64 KB string per row (JSON-escaped characters included). */
const cell = (i: number) => `${i}:"\\${"abcdefghij".repeat(CELL / 10)}`.slice(0, CELL);

let server: TestServer;
let id: string;

beforeAll(async () => {
  server = await startServer("memory");
  const csv = ["id,s", ...Array.from({ length: ROWS }, (_, i) => `${i},"${cell(i).replaceAll('"', '""')}"`)].join("\n");
  const res = await upload(`${server.url}/api/datasets/upload`, { name: "big.csv", content: csv }, { name: "big" });
  expect(res.status).toBe(201);
  id = res.body.dataset.id;
}, 120_000);

afterAll(async () => {
  await server?.close();
});

describe("a page of very large rows", () => {
  it("is estimated past WORKER_PAGE_BYTES whole, and under it in parts", async () => {
    await server.storage.read(id, 1, async (data) => {
      const frame = data.frame();
      expect(frame).toBeDefined();
      expect(pageBytesEstimate(frame, ROWS, { offset: 0, limit: ROWS })).toBeGreaterThan(WORKER_PAGE_BYTES);
      expect(pageBytesEstimate(frame, ROWS, { offset: 0, limit: 100 })).toBeLessThan(WORKER_PAGE_BYTES);
      expect(pageBytesEstimate(frame, ROWS, { offset: 250, limit: 100 })).toBeLessThan(WORKER_PAGE_BYTES);
    });
  });

  it("comes from a worker with the same rows as the in-process pages, while /api/health keeps answering", async () => {
    const { result: whole, health } = await underAttack(server.url, () => getJson(`${server.url}/api/datasets/${id}/versions/1/data?limit=${ROWS}`));
    expect(whole.status).toBe(200);
    expect(whole.body.rows).toHaveLength(ROWS);
    whole.body.rows.forEach((r: { id: number; s: string }, i: number) => expect(r).toEqual({ id: i, s: cell(i) }));
    const parts = [];
    for (let offset = 0; offset < ROWS; offset += 100) parts.push(...(await getJson(`${server.url}/api/datasets/${id}/versions/1/data?offset=${offset}&limit=100`)).body.rows);
    expect(parts).toEqual(whole.body.rows);
    console.log(`health max ${health.max} ms`);
    console.log(`a ${ROWS}-row page of ${CELL / 1000} KB texts: /api/health slowest answer ${health.max} ms`);
    expect(health.failures).toEqual({});
    expect(health.max).toBeLessThan(1000);
  }, 120_000);
});
