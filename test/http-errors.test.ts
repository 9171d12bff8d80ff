/**
 * Error answers from outside the routes' own checks (QA Q1, Q7, Q8, Q14, Q17), on a real server:
 * every 4xx/5xx is problem+json, `Cache-Control: no-store`, without validators, and never a 304;
 * nothing a client sends in a path or a body is a 500; a failed statistics job is retried later
 * and says when; token guessing is limited per client address with the default settings.
 * (test/hostile-caching.test.ts walks every route's own failures; this file covers the paths
 * around them: Express, body parsing, multer, auth, and the order of checks in handlers.)
 */
import { createHash } from "node:crypto";
import { rm } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etagOf } from "../src/http/caching.ts";
import { pageVariant } from "../src/routes/data.ts";
import { loopbackAliases, rawExchange } from "./hostile-helpers.ts";
import { getJson, startServer, upload, type TestServer } from "./helpers/server.ts";

async function expectProblem(res: Response, status: number, label: string): Promise<any> {
  const text = await res.text();
  expect(res.status, `${label}: ${text.slice(0, 300)}`).toBe(status);
  expect(res.headers.get("content-type"), label).toMatch(/^application\/problem\+json/);
  expect(res.headers.get("cache-control"), label).toBe("no-store");
  expect(res.headers.get("etag"), label).toBeNull();
  expect(res.headers.get("last-modified"), label).toBeNull();
  const body = JSON.parse(text);
  expect(body.status, label).toBe(status);
  expect(typeof body.detail, label).toBe("string");
  return body;
}

describe("error answers (open server)", () => {
  let server: TestServer;
  let id: string;
  let version: { datasetId: string; version: number; createdAt: string };

  beforeAll(async () => {
    server = await startServer("memory");
    const created = await upload(`${server.url}/api/datasets/upload`, { name: "errs.csv", content: "id,age,name\n1,30,ann\n2,40,bob\n" });
    expect(created.status).toBe(201);
    id = created.body.dataset.id as string;
    version = created.body.version;
  });

  afterAll(async () => {
    await server?.close();
  });

  it("answers a path with broken percent-encoding 400, not 500, on the API, the viewer and deep routes", async () => {
    for (const path of ["/%E0%A4%A", "/api/datasets/%E0%A4%A", `/api/datasets/${id}/versions/%ZZ/data`]) {
      const body = await expectProblem(await fetch(`${server.url}${path}`, { headers: { accept: "application/json" } }), 400, path);
      expect(body.code, path).toBe("BAD_REQUEST");
      expect(body.detail, path).toContain("percent-encoding");
    }
  });

  it("answers JSON bodies that cannot be read in our words: bad gzip 400, unknown charset or encoding 415, too large 413", async () => {
    const patch = (body: string | Uint8Array, headers: Record<string, string>) => fetch(`${server.url}/api/datasets/${id}`, { method: "PATCH", body, headers: { "content-type": "application/json", ...headers } });
    const gz = await expectProblem(await patch("{}", { "content-encoding": "gzip" }), 400, "not gzip");
    expect(gz.detail).toContain("decompressed");
    const cs = await expectProblem(await patch("{}", { "content-type": "application/json; charset=klingon" }), 415, "charset");
    expect(cs).toMatchObject({ code: "UNSUPPORTED_FORMAT" });
    expect(cs.detail).toContain("klingon");
    const enc = await expectProblem(await patch("{}", { "content-encoding": "compress" }), 415, "encoding");
    expect(enc.detail).toContain("compress");
    const big = await expectProblem(await patch(JSON.stringify({ description: "a".repeat(70_000) }), {}), 413, "too large");
    expect(big.detail).toContain("64 KiB");
    // a real gzip body still works
    const ok = await patch(gzipSync(JSON.stringify({ description: "zipped" })), { "content-encoding": "gzip" });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { description: string }).description).toBe("zipped");
  });

  it("names the whole path, /api included, in a 404 for an unknown route or method", async () => {
    const body = await expectProblem(await fetch(`${server.url}/api/nothing/here?x=secret`), 404, "unknown route");
    expect(body.detail).toBe("No route for GET /api/nothing/here.");
    const options = await expectProblem(await fetch(`${server.url}/api/datasets`, { method: "OPTIONS" }), 404, "OPTIONS");
    expect(options.detail).toContain("/api/datasets");
  });

  it("answers every multer and form failure no-store, and an upload without a file 400 naming the field (Q8)", async () => {
    const url = `${server.url}/api/datasets/upload`;
    const form = (parts: [string, Blob | string, string?][]) => {
      const f = new FormData();
      for (const [k, v, name] of parts) {
        if (typeof v === "string") f.append(k, v);
        else f.append(k, v, name);
      }
      return f;
    };
    const noFile = await expectProblem(await fetch(url, { method: "POST", body: form([["name", "x"]]) }), 400, "no file");
    expect(noFile).toMatchObject({ code: "BAD_REQUEST", parameter: "file" });
    expect(noFile.detail).toContain('"file"');
    // a URL-encoded form (what `requests.post(url, data={...})` sends) cannot carry a file: the file is what is missing
    const urlencoded = await expectProblem(await fetch(url, { method: "POST", body: new URLSearchParams({ name: "x" }) }), 400, "urlencoded form");
    expect(urlencoded).toMatchObject({ code: "BAD_REQUEST", parameter: "file" });
    expect(urlencoded.detail).toContain("multipart/form-data");
    const twoFiles = await expectProblem(await fetch(url, { method: "POST", body: form([["file", new Blob(["a\n1\n"]), "a.csv"], ["file", new Blob(["a\n1\n"]), "b.csv"]]) }), 400, "two files");
    expect(twoFiles.code).toBe("BAD_REQUEST");
    const otherField = await expectProblem(await fetch(url, { method: "POST", body: form([["data", new Blob(["a\n1\n"]), "a.csv"]]) }), 400, "file in another field");
    expect(otherField.detail).toContain('"data"');
    await expectProblem(await fetch(url, { method: "POST", body: "--xx\r\ngarbage", headers: { "content-type": "multipart/form-data; boundary=xx" } }), 400, "cut-off multipart");
    // a JSON body is not a form at all: 415, which says how to send the file
    const json = await expectProblem(await fetch(url, { method: "POST", body: "{}", headers: { "content-type": "application/json" } }), 415, "JSON body");
    expect(json.detail).toContain("multipart/form-data");
    await expectProblem(await fetch(url, { method: "POST", body: form([["file", new Blob([""]), "empty.csv"]]) }), 422, "empty file");
  });

  it("says Connection: close when it answers before the body arrived, so a keep-alive client does not reuse a connection about to close", async () => {
    const port = Number(new URL(server.url).port);
    // the head of an upload that is not a form (415 is decided on the head alone); the body never comes
    const early = await rawExchange(port, "POST /api/datasets/upload HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n", "127.0.0.1", 5000);
    expect(early.status).toBe(415);
    expect(early.headers).toMatch(/^connection: close$/im);
    expect(early.closed).toBe(true);
    // a complete request keeps its connection
    const whole = await rawExchange(port, "GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n", "127.0.0.1", 1500);
    expect(whole.status).toBe(200);
    expect(whole.headers).toMatch(/^connection: keep-alive$/im);
  });

  it("checks columns before it sets caching headers: an unknown or repeated column is never cacheable, never a 304 (Q7)", async () => {
    for (const [kind, route] of [["data", "data"], ["download", "download"]] as const) {
      for (const query of ["columns=nope", "columns=AGE", "columns=id,id", "columns=id,", "sort=nope", "filter=nope:eq:1"]) {
        const url = `${server.url}/api/datasets/${id}/versions/1/${route}?${query}`;
        const label = `${route}?${query}`;
        await expectProblem(await fetch(url), 400, label);
        // the ETag this URL would have if it were valid: a client that has it (or made it) still gets the error
        const p = new URLSearchParams(query);
        const variant = kind === "data" ? pageVariant({ offset: 0, limit: 100, columns: p.get("columns") ?? undefined, sort: p.get("sort") ?? undefined, filters: p.getAll("filter") }) : p.toString();
        for (const validator of [etagOf(version, kind, variant), "*"]) {
          await expectProblem(await fetch(url, { headers: { "If-None-Match": validator } }), 400, `${label} If-None-Match ${validator}`);
        }
      }
    }
    // empty names say which parameter holds them
    for (const [query, parameter] of [["sort=-", "sort"], ["sort=id,,age", "sort"], ["columns=id,", "columns"]] as const) {
      const body = await expectProblem(await fetch(`${server.url}/api/datasets/${id}/versions/1/data?${query}`), 400, query);
      expect(body.parameter, query).toBe(parameter);
      expect(body.detail, query).toContain(`"${parameter}"`);
    }
    // and a valid query still earns its 304
    const ok = await fetch(`${server.url}/api/datasets/${id}/versions/1/data?columns=id`);
    expect(ok.status).toBe(200);
    const etag = ok.headers.get("etag") as string;
    expect(etag).toBe(etagOf(version, "data", pageVariant({ offset: 0, limit: 100, columns: "id", filters: [] })));
    expect((await fetch(`${server.url}/api/datasets/${id}/versions/1/data?columns=id`, { headers: { "If-None-Match": etag } })).status).toBe(304);
  });
});

describe("the upload and spool folders removed under a running server", () => {
  let server: TestServer;

  afterAll(async () => {
    await server?.close();
  });

  it("keeps taking uploads and answering downloads (the folders are made again), not 500/422 from then on", async () => {
    server = await startServer("memory");
    await rm(server.uploadDir, { recursive: true, force: true });
    const created = await upload(`${server.url}/api/datasets/upload`, { name: "spool.csv", content: "id,name\n1,a\n2,b\n" });
    expect(created.status).toBe(201);
    const dl = (format: string) => fetch(`${server.url}/api/datasets/${created.body.dataset.id}/versions/1/download?format=${format}`);
    expect((await dl("csv")).status).toBe(200);
    await rm(server.spoolDir, { recursive: true, force: true });
    for (const format of ["csv", "ndjson", "json", "arrow"]) {
      const res = await dl(format);
      expect(res.status, format).toBe(200);
      expect((await res.arrayBuffer()).byteLength, format).toBeGreaterThan(0);
    }
    expect(await (await dl("ndjson")).text()).toBe('{"id":1,"name":"a"}\n{"id":2,"name":"b"}\n');
  });
});

describe("statistics past QUERY_TIMEOUT_MS (Q14)", () => {
  let server: TestServer;
  const RETRY_AFTER_MS = 1500;

  beforeAll(async () => {
    server = await startServer("memory", { QUERY_TIMEOUT_MS: "100", QUERY_WORKERS: "1", QUERY_RETRY_AFTER_MS: String(RETRY_AFTER_MS) });
  });

  afterAll(async () => {
    await server?.close();
  });

  /** GETs `url` while sampling the query pool: whether a job ran for this request. */
  async function getWatchingJobs(url: string, headers: Record<string, string> = {}): Promise<{ res: Response; ranJob: boolean }> {
    let ranJob = false;
    const timer = setInterval(() => {
      if (server.queries.load().running > 0) ranJob = true;
    }, 2);
    try {
      const res = await fetch(url, { headers });
      await res.clone().arrayBuffer();
      return { res, ranJob };
    } finally {
      clearInterval(timer);
    }
  }

  it("answers 422 no-store with Retry-After, never 304, keeps the failure only briefly, then computes again", async () => {
    // the same shape isolation.test.ts uses to run past a 100 ms limit
    const body = Array.from({ length: 600_000 }, (_, i) => `${i},k${(i * 7919) % 200_003},${(i % 997) / 7}`).join("\n");
    const created = await upload(`${server.url}/api/datasets/upload`, { name: "big.csv", content: `id,key,x\n${body}\n` });
    expect(created.status).toBe(201);
    const v = created.body.version as { datasetId: string; version: number; createdAt: string };
    const url = `${server.url}/api/datasets/${v.datasetId}/versions/1/stats`;

    const first = await fetch(url);
    const problem = await expectProblem(first, 422, "stats past the limit");
    expect(problem.code).toBe("QUERY_LIMIT");
    const retryAfter = Number(first.headers.get("retry-after"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(Math.ceil(RETRY_AFTER_MS / 1000));
    // the ETag a success would carry does not turn the failure into a 304
    await expectProblem(await fetch(url, { headers: { "If-None-Match": etagOf(v, "stats", "") } }), 422, "conditional");

    // once the failure's time is over, the next request runs the job again (and fails again here,
    // since the limit is still 100 ms), answered no-store with a fresh Retry-After
    await new Promise((r) => setTimeout(r, RETRY_AFTER_MS + 300));
    const again = await getWatchingJobs(url);
    expect(again.ranJob).toBe(true);
    await expectProblem(again.res, 422, "retried");
    expect(Number(again.res.headers.get("retry-after"))).toBe(Math.ceil(RETRY_AFTER_MS / 1000));
    // right after it, the failure is answered from memory: no job
    const kept = await getWatchingJobs(url);
    expect(kept.ranJob).toBe(false);
    await expectProblem(kept.res, 422, "kept");
    expect(Number(kept.res.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    // pages without filters never needed a worker
    expect((await getJson(`${server.url}/api/datasets/${v.datasetId}/versions/1/data?limit=1`)).body.rows).toEqual([{ id: 0, key: "k0", x: 0 }]);
  }, 120_000);
});

describe("token guessing with the default settings (Q17)", () => {
  let server: TestServer;
  const TOKEN = "http-errors-write-token";
  let aliases = false;

  beforeAll(async () => {
    aliases = await loopbackAliases();
    // AUTH_FAILURES_PER_WINDOW and RATE_LIMIT_WINDOW_MS left at their defaults (20 per 60 s)
    server = await startServer("memory", { API_TOKENS: `${TOKEN}:write,reader-token:read` });
  });

  afterAll(async () => {
    await server?.close();
  });

  const port = () => Number(new URL(server.url).port);
  const get = (path: string, token: string, from: string) => rawExchange(port(), `GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`, from);

  it("answers 429 with Retry-After after 20 bad tokens from one address, counting /api and /metrics together; others keep working", async () => {
    const guesser = aliases ? "127.0.0.3" : "127.0.0.1";
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await get("/api/datasets", `guess-${createHash("sha256").update(String(i)).digest("hex")}`, guesser)).status);
    for (let i = 12; i < 20; i++) statuses.push((await get("/metrics", `guess-${i}`, guesser)).status);
    expect(statuses).toEqual(Array(20).fill(401));
    const blocked = await get("/api/datasets", "guess-20", guesser);
    expect(blocked.status).toBe(429);
    expect(blocked.headers).toMatch(/cache-control: no-store/i);
    expect(blocked.headers).toMatch(/content-type: application\/problem\+json/i);
    const retryAfter = Number(/retry-after: (\d+)/i.exec(blocked.headers)?.[1]);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(JSON.parse(blocked.body)).toMatchObject({ status: 429, code: "RATE_LIMITED" });
    expect((await get("/metrics", "guess-21", guesser)).status).toBe(429);
    // the right token from the guessing address is refused like the guesses (it learns nothing) …
    expect((await get("/api/datasets", TOKEN, guesser)).status).toBe(429);
    if (aliases) {
      // … and works from every other client
      expect((await get("/api/datasets", TOKEN, "127.0.0.4")).status).toBe(200);
      expect((await get("/api/datasets", "reader-token", "127.0.0.5")).status).toBe(200);
    }
  });

  it("answers 401 and 403 no-store as problem+json", async () => {
    const none = await fetch(`${server.url}/api/datasets`);
    await expectProblem(none, 401, "no token");
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    const form = new FormData();
    form.append("file", new Blob(["a\n1\n"]), "a.csv");
    await expectProblem(await fetch(`${server.url}/api/datasets/upload`, { method: "POST", body: form, headers: { authorization: "Bearer reader-token" } }), 403, "read token writes");
  });
});

describe("the log line of an unexpected error (logSafeError)", () => {
  it("keeps the error's class, code and stack frames, and drops the values its message quotes", async () => {
    const { logSafeError } = await import("../src/http/problem.ts");
    const err = Object.assign(
      new Error(`conversion from \`str\` to \`i64\` failed in column 'salary' for 1 out of 9 values: ["secret-4111111111111111"]`),
      { code: "EPOLARS" },
    );
    const logged = logSafeError(err);
    expect(logged.type).toBe("Error");
    expect(logged.code).toBe("EPOLARS");
    expect(logged.message).toBe("conversion from … to … failed in column … for 1 out of 9 values: […]");
    expect(logged.stack).toMatch(/^\s+at /);
    expect(JSON.stringify(logged)).not.toMatch(/secret|salary|4111/);
    expect(logSafeError("plain 12345 text").message).toBe("plain # text");
  });
});
