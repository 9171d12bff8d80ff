import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { getJson, startServer, upload, type TestServer } from "./helpers/server.ts";

const CSV = "a,b\n1,x\n2,y\n";

describe("operations", () => {
  let server: TestServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  describe("auth", () => {
    it("is open when API_TOKENS is unset", async () => {
      server = await startServer("memory");
      expect((await getJson(`${server.url}/api/health`)).status).toBe(200);
    });

    it("needs a bearer token: 401 without or with a wrong one, 403 for a read token writing", async () => {
      server = await startServer("memory", { API_TOKENS: "reader-token:read,writer-token:write" });
      const api = `${server.url}/api`;
      const none = await getJson(`${api}/datasets`);
      expect(none.status).toBe(401);
      expect(none.headers.get("www-authenticate")).toMatch(/^Bearer realm=/);
      expect(none.body.code).toBe("UNAUTHORIZED");
      const wrong = await getJson(`${api}/datasets`, { headers: { authorization: "Bearer nope" } });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get("www-authenticate")).toContain('error="invalid_token"');

      const read = { authorization: "Bearer reader-token" };
      const write = { authorization: "Bearer writer-token" };
      expect((await getJson(`${api}/datasets`, { headers: read })).status).toBe(200);
      const form = new FormData();
      form.append("file", new Blob([CSV]), "a.csv");
      const denied = await getJson(`${api}/datasets/upload`, { method: "POST", body: form, headers: read });
      expect(denied.status).toBe(403);
      expect(denied.headers.get("www-authenticate")).toContain('error="insufficient_scope"');
      const form2 = new FormData();
      form2.append("file", new Blob([CSV]), "a.csv");
      const ok = await getJson(`${api}/datasets/upload`, { method: "POST", body: form2, headers: write });
      expect(ok.status).toBe(201);
      expect((await getJson(`${api}/datasets/${ok.body.dataset.id}/versions/1/data`, { headers: read })).body.rows).toEqual([{ a: 1, b: "x" }, { a: 2, b: "y" }]);
    });
  });

  describe("rate limits", () => {
    it("answers 429 problem+json with Retry-After past the read limit, counting uploads separately", async () => {
      server = await startServer("memory", { RATE_LIMIT_READS: "3", RATE_LIMIT_UPLOADS: "2" });
      const api = `${server.url}/api`;
      for (let i = 0; i < 3; i++) expect((await getJson(`${api}/health`)).status).toBe(200);
      const limited = await getJson(`${api}/health`);
      expect(limited.status).toBe(429);
      expect(limited.headers.get("content-type")).toMatch(/problem\+json/);
      expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
      expect(limited.body.code).toBe("RATE_LIMITED");
      // Writes have their own budget.
      expect((await upload(`${api}/datasets/upload`, { name: "a.csv", content: CSV })).status).toBe(201);
      expect((await upload(`${api}/datasets/upload`, { name: "b.csv", content: CSV })).status).toBe(201);
      expect((await upload(`${api}/datasets/upload`, { name: "c.csv", content: CSV })).status).toBe(429);
    });
  });

  describe("headers", () => {
    it("echoes a request id or makes one, and sets security headers", async () => {
      server = await startServer("memory");
      const echoed = await fetch(`${server.url}/api/health`, { headers: { "x-request-id": "abc-123" } });
      expect(echoed.headers.get("x-request-id")).toBe("abc-123");
      const made = await fetch(`${server.url}/api/health`);
      expect(made.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
      expect(made.headers.get("x-content-type-options")).toBe("nosniff");
      expect(made.headers.get("x-powered-by")).toBeNull();
    });

    it("allows configured CORS origins only", async () => {
      server = await startServer("memory", { CORS_ORIGINS: "https://app.example" });
      const allowed = await fetch(`${server.url}/api/health`, { headers: { origin: "https://app.example" } });
      expect(allowed.headers.get("access-control-allow-origin")).toBe("https://app.example");
      const other = await fetch(`${server.url}/api/health`, { headers: { origin: "https://evil.example" } });
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
      const preflight = await fetch(`${server.url}/api/datasets/upload`, { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "POST" } });
      expect(preflight.status).toBe(204);
      expect(preflight.headers.get("access-control-allow-headers")).toContain("Authorization");
    });
  });

  describe("metrics", () => {
    it("counts requests by route and status and uploads by format and outcome", async () => {
      server = await startServer("memory");
      const api = `${server.url}/api`;
      await upload(`${api}/datasets/upload`, { name: "m.csv", content: CSV });
      await upload(`${api}/datasets/upload`, { name: "bad.csv", content: "a,b\n1\n" });
      await getJson(`${api}/health`);
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(text).toMatch(/http_requests_total\{method="GET",route="\/api\/health",status="200"\} 1/);
      expect(text).toMatch(/uploads_total\{format="csv",outcome="created"\} 1/);
      expect(text).toMatch(/uploads_total\{format="[a-z]+",outcome="UNPARSEABLE_FILE"\} 1/);
      expect(text).toMatch(/ingested_rows_total 2/);
      expect(text).toMatch(/^versions 1$/m);
      expect(text).toContain("nodejs_eventloop_lag_seconds");
      expect(text).toContain("process_resident_memory_bytes");
    });

    it("times each stage of a stored upload: Server-Timing, ingest_stage_seconds, the source hash taken while receiving", async () => {
      server = await startServer("memory");
      const api = `${server.url}/api`;
      const created = await upload(`${api}/datasets/upload`, { name: "t.csv", content: CSV });
      expect(created.status).toBe(201);
      // hashed as the bytes arrived, the same hash as of the file
      expect(created.body.version.source.sha256).toBe(createHash("sha256").update(CSV).digest("hex"));
      const timing = new Map((created.headers.get("server-timing") ?? "").split(", ").map((part) => {
        const [name, dur] = part.split(";dur=");
        return [name, Number(dur)] as const;
      }));
      for (const stage of ["receive", "detect", "decode", "prescan", "parse", "infer", "proof", "write", "checksum", "handoff", "store"]) {
        expect(timing.get(stage), stage).toBeGreaterThanOrEqual(0);
      }
      // statistics are observed when the background job is done
      let text = "";
      for (let i = 0; i < 100 && !/ingest_stage_seconds_count\{stage="stats"\} 1/.test(text); i++) {
        text = await (await fetch(`${server.url}/metrics`)).text();
        await new Promise((r) => setTimeout(r, 50));
      }
      for (const stage of ["receive", "prescan", "parse", "infer", "write", "store", "stats"]) {
        expect(text).toMatch(new RegExp(`ingest_stage_seconds_count\\{stage="${stage}"\\} 1$`, "m"));
      }
    });
  });
});
