/**
 * Import consults the memory guard (src/memory-guard.ts) like an upload: on the memory backend an
 * archive that cannot fit within MEMORY_BUDGET_BYTES is refused with 507 STORAGE_FULL before it
 * is unpacked or parsed, and nothing is stored; one that fits is imported.
 */
import { readdir } from "node:fs/promises";
import { afterAll, beforeAll, expect, it, vi } from "vitest";
import { getJson, startServer, upload, type TestServer } from "./helpers/server.ts";

const rows = Array.from({ length: 2000 }, (_, i) => `${i},item-${i},${(i * 7919) % 1000}.5`).join("\n");
const csv = `id,name,price\n${rows}\n`;

let source: TestServer;
let archive: Uint8Array;

beforeAll(async () => {
  source = await startServer("memory");
  const created = await upload(`${source.url}/api/datasets/upload`, { name: "items.csv", content: csv });
  expect(created.status).toBe(201);
  const id = created.body.dataset.id as string;
  expect((await upload(`${source.url}/api/datasets/${id}/versions`, { name: "items.csv", content: `${csv}2000,item-2000,1.5\n` })).status).toBe(201);
  const res = await fetch(`${source.url}/api/datasets/${id}/export`);
  expect(res.status).toBe(200);
  archive = new Uint8Array(await res.arrayBuffer());
});

afterAll(async () => {
  await source?.close();
});

it("memory: an archive past MEMORY_BUDGET_BYTES is a 507 STORAGE_FULL before it is parsed, and stores nothing", async () => {
  const target = await startServer("memory", { MEMORY_BUDGET_BYTES: String(Math.floor(archive.byteLength / 2)) });
  try {
    const parse = vi.spyOn(target.parser, "parse");
    const res = await upload(`${target.url}/api/datasets/import`, { name: "items.tar", content: archive });
    expect(res.status).toBe(507);
    expect(res.body).toMatchObject({ code: "STORAGE_FULL" });
    expect(res.body.detail).toMatch(/MEMORY_BUDGET_BYTES/);
    expect(parse).not.toHaveBeenCalled();
    expect((await getJson(`${target.url}/api/health`)).body).toMatchObject({ datasets: 0, versions: 0 });
    expect((await getJson(`${target.url}/api/datasets`)).body.total).toBe(0);
    // the received archive is not left behind either
    expect(await readdir(target.uploadDir)).toEqual([]);
  } finally {
    await target.close();
  }
});

it("memory: an archive that fits the budget is imported", async () => {
  const target = await startServer("memory", { MEMORY_BUDGET_BYTES: String(64 * 1024 * 1024) });
  try {
    const res = await upload(`${target.url}/api/datasets/import`, { name: "items.tar", content: archive });
    expect(res.status).toBe(201);
    expect(res.body.versions.map((v: { version: number; rowCount: number }) => [v.version, v.rowCount])).toEqual([[1, 2000], [2, 2001]]);
  } finally {
    await target.close();
  }
});
