/**
 * Event-loop delay of the API process while wide files are uploaded and read (issue 11): a 2-row
 * CSV of N columns is uploaded, then its statistics, filtered statistics, pages and downloads are
 * read, while /api/health is polled every 50 ms. The server runs in this process, so
 * `monitorEventLoopDelay` measures the server's own loop.
 *   node scripts/event-loop-wide.ts [columns=1000,2000] [backend=memory]
 */
import { monitorEventLoopDelay } from "node:perf_hooks";
import { getJson, startServer, upload } from "../test/helpers/server.ts";

const widths = (process.argv[2] ?? "1000,2000").split(",").map(Number);
const backend = (process.argv[3] ?? "memory") as "memory" | "local";

function wideCsv(columns: number): string {
  const header = Array.from({ length: columns }, (_, i) => `c${i}`).join(",");
  const row = (r: number) => Array.from({ length: columns }, (_, i) => (i % 3 === 0 ? String(r + i) : i % 3 === 1 ? `s${r}_${i}` : `2024-01-0${r + 1}`)).join(",");
  return `${header}\n${row(1)}\n${row(2)}\n`;
}

const server = await startServer(backend, { LOG_LEVEL: "silent", RATE_LIMIT_READS: "0", RATE_LIMIT_UPLOADS: "0" });
const api = `${server.url}/api`;
let healthMax = 0;
let polling = true;
const poller = (async () => {
  while (polling) {
    const t = performance.now();
    await fetch(`${api}/health`).then((r) => r.arrayBuffer());
    healthMax = Math.max(healthMax, performance.now() - t);
    await new Promise((r) => setTimeout(r, 50));
  }
})();

const rows: string[] = ["| columns | step | status | took (ms) | event-loop delay max (ms) | /api/health max (ms) |", "| --- | --- | --- | --- | --- | --- |"];
async function step(columns: number, name: string, run: () => Promise<number>): Promise<void> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  healthMax = 0;
  const t = performance.now();
  const status = await run();
  const took = performance.now() - t;
  h.disable();
  rows.push(`| ${columns} | ${name} | ${status} | ${took.toFixed(0)} | ${(h.max / 1e6).toFixed(0)} | ${healthMax.toFixed(0)} |`);
}

try {
  for (const columns of widths) {
    let id = "";
    await step(columns, "upload", async () => {
      const res = await upload(`${api}/datasets/upload`, { name: `wide${columns}.csv`, content: wideCsv(columns) });
      id = res.body.dataset?.id;
      return res.status;
    });
    const v = `${api}/datasets/${id}/versions/1`;
    const get = (url: string) => async () => (await getJson(url)).status;
    const download = (query: string) => async () => {
      const res = await fetch(`${v}/download?${query}`);
      await res.arrayBuffer();
      return res.status;
    };
    await step(columns, "GET stats", get(`${v}/stats`));
    await step(columns, "GET stats (filtered)", get(`${v}/stats?filter=c0:gt:1`));
    await step(columns, "GET first page", get(`${v}/data?limit=10`));
    await step(columns, "GET page again", get(`${v}/data?limit=10&offset=1`));
    await step(columns, "GET page, 5 columns", get(`${v}/data?columns=c0,c1,c2,c3,c4`));
    await step(columns, "GET filtered page", get(`${v}/data?filter=c0:gt:1`));
    await step(columns, "GET sorted page", get(`${v}/data?sort=-c0`));
    await step(columns, "download csv", download("format=csv"));
    await step(columns, "download parquet", download("format=parquet"));
    await step(columns, "download ndjson, filtered", download("format=ndjson&filter=c0:gt:1"));
  }
} finally {
  polling = false;
  await poller;
  await server.close();
}
console.log(`\nbackend ${backend}, QUERY_WORKERS ${process.env.QUERY_WORKERS ?? "default"}\n${rows.join("\n")}`);
