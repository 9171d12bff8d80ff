/** A 1M-row export, alone in its test process so the process's memory is the server's. */
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pl from "nodejs-polars";
import { describe, expect, it } from "vitest";
import { getJson, startServer, upload } from "./helpers/server.ts";

describe("a large download", () => {
  it("streams a 1M-row CSV while the server's memory grows by less than half the download", async () => {
    const server = await startServer("memory");
    const dir = await mkdtemp(path.join(os.tmpdir(), "ds-big-"));
    try {
      const n = 1_000_000;
      const file = path.join(dir, "big.parquet");
      pl.DataFrame({ id: pl.Series("id", Array.from({ length: n }, (_, i) => i)).cast(pl.Int64), word: pl.Series("word", Array.from({ length: n }, (_, i) => `word-${i % 977}-${"x".repeat(40)}`)) }).writeParquet(file);
      const created = await upload(`${server.url}/api/datasets/upload`, { name: "big.parquet", content: readFileSync(file) });
      expect(created.status).toBe(201);
      // Statistics start computing after the upload: let them finish, so only the download is measured.
      expect((await getJson(`${server.url}/api/datasets/${created.body.dataset.id}/versions/1/stats`)).status).toBe(200);
      // A small export first, so Polars' streaming engine and thread pool are up before measuring.
      await (await fetch(`${server.url}/api/datasets/${created.body.dataset.id}/versions/1/download?format=csv&filter=id:lt:10`)).text();
      const before = process.memoryUsage.rss();
      let peak = before;
      const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
      const res = await fetch(`${server.url}/api/datasets/${created.body.dataset.id}/versions/1/download?format=csv`);
      let bytes = 0;
      let lines = 0;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.byteLength;
        for (const b of chunk) if (b === 10) lines++;
      }
      clearInterval(timer);
      expect(lines).toBe(n + 1);
      expect(Number(res.headers.get("content-length"))).toBe(bytes);
      // The export is written by Polars' streaming sink and piped from disk: the process (server
      // and this test together) must not hold the ~60 MB download, let alone a JSON copy of it.
      expect(bytes).toBeGreaterThan(50 * 1024 * 1024);
      // Measured here: ~6 MB of growth for a 57 MB download.
      expect(peak - before, `RSS grew ${peak - before} bytes for a ${bytes}-byte download`).toBeLessThan(bytes / 2);
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
