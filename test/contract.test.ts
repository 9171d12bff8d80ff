/**
 * One contract: the route definitions (src/routes/) are what the app serves and what the OpenAPI
 * document says, the document is valid OpenAPI 3.1, and every route is strict — walked here with
 * unknown, misspelled and repeated parameters, form fields and JSON fields against a real server.
 */
import os from "node:os";
import path from "node:path";
import { validate, compileErrors } from "@readme/openapi-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { createApp } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { isRepeatable } from "../src/http/validate.ts";
import { createLogger } from "../src/log.ts";
import { buildOpenApiDocument } from "../src/openapi.ts";
import { errorStatuses, routeLabel, type Route } from "../src/routes/define.ts";
import { ROUTES } from "../src/routes/index.ts";
import { createParser } from "../src/sandbox/parser.ts";
import { createQueryWorkers } from "../src/sandbox/queries.ts";
import { createMemoryStorage } from "../src/storage/memory.ts";
import { closest, nameList } from "../src/suggest.ts";
import { getJson, startServer, upload, type TestServer } from "./helpers/server.ts";

const CSV = "id,Name,score,joined\n1,Ada,9.5,2024-01-31\n2,Bob,7.25,2023-12-01\n";

/** Every [METHOD, path] the Express app routes (405 fallbacks and the viewer's catch-all left out). */
function appRoutes(): string[] {
  const config = loadConfig({ LOG_LEVEL: "silent" }, {});
  const storage = createMemoryStorage({ budgetBytes: 1e9, filesDir: path.join(os.tmpdir(), "ds-contract-memory") });
  const app = createApp({ config, storage, logger: createLogger("silent"), parser: createParser(config), queries: createQueryWorkers(config) });
  void storage.close();
  const out: string[] = [];
  const walk = (stack: any[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        if (layer.route.stack[0]?.name === "methodNotAllowed") continue;
        for (const method of Object.keys(layer.route.methods)) out.push(`${method.toUpperCase()} ${prefix}${layer.route.path}`.replace(/:(\w+)/g, "{$1}"));
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, prefix === "" ? "/api" : prefix);
      }
    }
  };
  walk((app as any).router.stack, "");
  return out.filter((r) => !r.includes("{*path}")).sort();
}

const shapeOf = (s: z.ZodObject | undefined): Record<string, z.ZodType> => (s ? (s.shape as Record<string, z.ZodType>) : {});

/** `Limit` for `limit`, `onbadrows` for `onBadRows`: a name the validator must map back. */
function misspell(name: string): string {
  const lower = name.toLowerCase();
  if (lower !== name) return lower;
  return name[0]!.toUpperCase() + name.slice(1);
}

describe("route definitions", () => {
  it("are exactly the routes the app serves, each with a unique operationId, tags and a summary", () => {
    expect(ROUTES.map(routeLabel).sort()).toEqual(appRoutes());
    const ids = ROUTES.map((r) => r.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const r of ROUTES) {
      expect(r.tags.length, r.operationId).toBeGreaterThan(0);
      expect(r.summary.length, r.operationId).toBeGreaterThan(5);
      // every route can answer 400 (unknown parameters) and documents it
      expect(errorStatuses(r)).toContain(400);
    }
  });

  it("give an OpenAPI 3.1 document that a validator accepts", async () => {
    const doc = buildOpenApiDocument();
    expect(doc.openapi).toBe("3.1.0");
    const result = await validate(structuredClone(doc) as any);
    expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
  });

  it("document what the server really sends: Arrow IPC files, problem+json errors, response headers", () => {
    const doc = buildOpenApiDocument() as any;
    const download = doc.paths["/api/datasets/{datasetId}/versions/{version}/download"].get;
    expect(Object.keys(download.responses["200"].content)).toEqual(["text/csv", "application/vnd.apache.parquet", "application/x-ndjson", "application/json", "application/vnd.apache.arrow.file"]);
    expect(Object.keys(download.responses["200"].headers)).toContain("Content-Disposition");
    const data = doc.paths["/api/datasets/{datasetId}/versions/{version}/data"].get;
    expect(Object.keys(data.responses["200"].headers)).toEqual(["ETag", "Cache-Control", "Link"]);
    expect(Object.keys(doc.paths["/api/datasets/upload"].post.responses["201"].headers)).toEqual(["Location"]);
    expect(Object.keys(data.responses["429"].headers)).toEqual(["Retry-After"]);
    for (const [p, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      for (const [method, op] of Object.entries(item)) {
        expect(op.operationId, `${method} ${p}`).toEqual(expect.any(String));
        for (const [status, r] of Object.entries(op.responses as Record<string, any>)) {
          if (Number(status) >= 400) expect(Object.keys(r.content), `${method} ${p} ${status}`).toEqual(["application/problem+json"]);
        }
      }
    }
  });

  it("let Swagger UI's Try it out send valid forms: no field pre-filled with a made-up value", () => {
    const doc = buildOpenApiDocument() as any;
    for (const op of ["/api/datasets/upload", "/api/datasets/inspect", "/api/datasets/{datasetId}/versions"]) {
      const schema = doc.paths[op].post.requestBody.content["multipart/form-data"].schema;
      expect(schema.required).toEqual(["file"]);
      for (const [name, prop] of Object.entries(schema.properties as Record<string, any>)) {
        if (name === "file") continue;
        // Swagger UI fills a string field without an example with the word "string"; an enum with its first value.
        if (prop.enum) expect(prop.enum[0], `${op} ${name}`).toBe(prop.default);
        else expect(prop.example, `${op} ${name}`).toBe("");
      }
    }
  });
});

describe("closest names", () => {
  it("finds a name by case, separators, a typo or a swap, and nothing for unrelated words", () => {
    const names = ["delimiter", "onBadRows", "encoding", "header", "schema", "sheet", "name", "description"];
    expect(closest("delimeter", names)).toBe("delimiter");
    expect(closest("onbadrows", names)).toBe("onBadRows");
    expect(closest("on_bad_rows", names)).toBe("onBadRows");
    expect(closest("nmae", names)).toBe("name");
    expect(closest("Header", names)).toBe("header");
    expect(closest("encodng", names)).toBe("encoding");
    expect(closest("colour", names)).toBeNull();
    expect(closest("x".repeat(10_000), names)).toBeNull();
    expect(closest("Age", ["id", "age", "AGE2"])).toBe("age");
  });

  it("lists at most 50 names and says how many more there are", () => {
    const many = Array.from({ length: 120 }, (_, i) => `c${i}`);
    const text = nameList(many);
    expect(text.split(", ")).toHaveLength(50);
    expect(text).toMatch(/\(and 70 more\)$/);
  });
});

describe("every route is strict (real server)", () => {
  let server: TestServer;
  let datasetId: string;

  beforeAll(async () => {
    server = await startServer("memory");
    const created = await upload(`${server.url}/api/datasets/upload`, { name: "strict.csv", content: CSV }, { name: "strict" });
    expect(created.status).toBe(201);
    datasetId = created.body.dataset.id;
  });
  afterAll(async () => {
    await server?.close();
  });

  function url(route: Route, query: [string, string][] = []): string {
    const p = route.path.replace("{datasetId}", datasetId).replace("{version}", "1");
    const q = new URLSearchParams(query).toString();
    return `${server.url}${p}${q ? `?${q}` : ""}`;
  }

  /** Sends `route` as a valid request would be sent, with extra query pairs / form fields / JSON fields. */
  async function send(route: Route, extra: { query?: [string, string][]; form?: Record<string, string>; body?: Record<string, unknown> } = {}) {
    if (route.form) return upload(url(route, extra.query), { name: "x.csv", content: CSV }, extra.form ?? {});
    const init: RequestInit = { method: route.method.toUpperCase() };
    if (route.body) {
      init.headers = { "content-type": "application/json" };
      init.body = JSON.stringify(extra.body ?? {});
    }
    return getJson(url(route, extra.query), init);
  }

  function expect400(res: { status: number; body: any; headers: Headers }, name: string, label: string) {
    expect(res.status, `${label}: ${JSON.stringify(res.body)}`).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({ code: "BAD_REQUEST", parameter: name });
    expect(res.body.detail).toContain(JSON.stringify(name));
  }

  it.each(ROUTES.map((r) => [routeLabel(r), r] as const))("%s refuses an unknown query parameter, naming it and what the route takes", async (label, route) => {
    const res = await send(route, { query: [["bogusParameter", "1"]] });
    expect400(res, "bogusParameter", label);
    expect(res.body.allowed).toEqual(Object.keys(shapeOf(route.query)));
  });

  it.each(ROUTES.filter((r) => r.query && Object.keys(r.query.shape).length > 0).map((r) => [routeLabel(r), r] as const))(
    "%s suggests each of its query parameters when misspelled, and refuses single-valued ones given twice",
    async (label, route) => {
      for (const [name, schema] of Object.entries(shapeOf(route.query))) {
        const res = await send(route, { query: [[misspell(name), "1"]] });
        expect400(res, misspell(name), label);
        expect(res.body.didYouMean, `${label} ${name}`).toBe(name);
        if (!isRepeatable(schema)) {
          const twice = await send(route, { query: [[name, "1"], [name, "2"]] });
          expect(twice.status, `${label} ${name} twice`).toBe(400);
          expect(twice.body.detail).toMatch(/given 2 times/);
        }
      }
    },
  );

  it.each(ROUTES.filter((r) => r.form).map((r) => [routeLabel(r), r] as const))("%s refuses unknown and misspelled form fields and fields given twice", async (label, route) => {
    expect400(await send(route, { form: { bogusField: "x" } }), "bogusField", label);
    for (const name of Object.keys(shapeOf(route.form))) {
      const res = await send(route, { form: { [misspell(name)]: "x" } });
      expect400(res, misspell(name), label);
      expect(res.body.didYouMean).toBe(name);
    }
    const field = "header" in shapeOf(route.form) ? "header" : (Object.keys(shapeOf(route.form))[0] as string);
    const form = new FormData();
    form.append(field, "true");
    form.append(field, "false");
    form.append("file", new Blob([CSV]), "x.csv");
    const twice = await getJson(url(route), { method: "POST", body: form });
    expect(twice.status).toBe(400);
    expect(twice.body.detail).toMatch(new RegExp(`"${field}" is given 2 times`));
  });

  it("explains form fields that belong elsewhere and JSON fields that do not exist", async () => {
    const add = ROUTES.find((r) => r.operationId === "addVersion")!;
    const res = await send(add, { form: { name: "renamed" } });
    expect400(res, "name", "addVersion");
    expect(res.body.detail).toMatch(/PATCH \/api\/datasets\/\{datasetId\}/);
    const patch = ROUTES.find((r) => r.operationId === "updateDataset")!;
    const bad = await send(patch, { body: { nmae: "x" } });
    expect400(bad, "nmae", "updateDataset");
    expect(bad.body.didYouMean).toBe("name");
  });

  it("treats empty values as absent and checks values against the definition", async () => {
    const data = `${server.url}/api/datasets/${datasetId}/versions/1/data`;
    expect((await getJson(`${data}?limit=&columns=&sort=`)).body).toMatchObject({ limit: 100, totalRows: 2 });
    const bad = await getJson(`${data}?limit=abc`);
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toBe('The query parameter "limit" must be a whole number from 1 to 10000; got "abc".');
    const format = await getJson(`${data}?format=xml`);
    expect(format.body.detail).toBe('The query parameter "format" must be objects or arrays (lower case); got "xml".');
    // values are exactly as documented: a near miss names the one meant (QA Q2)
    const upper = await getJson(`${data}?format=ARRAYS&limit=1`);
    expect(upper.status).toBe(400);
    expect(upper.body).toMatchObject({ parameter: "format", didYouMean: "arrays" });
    expect(upper.body.detail).toBe('The query parameter "format" must be objects or arrays (lower case); got "ARRAYS" (did you mean "arrays"?).');
  });

  it("names the closest column and lists the columns for an unknown column anywhere", async () => {
    const data = `${server.url}/api/datasets/${datasetId}/versions/1/data`;
    for (const q of ["columns=id,name", "sort=-name", "filter=name:eq:Ada"]) {
      const res = await getJson(`${data}?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.body, q).toMatchObject({ column: "name", didYouMean: "Name", columns: ["id", "Name", "score", "joined"] });
      expect(res.body.detail, q).toMatch(/Did you mean "Name"\? The columns are: "id", "Name", "score", "joined"\./);
    }
    const stats = await getJson(`${server.url}/api/datasets/${datasetId}/versions/1/stats?filter=Score:gt:1`);
    expect(stats.body).toMatchObject({ status: 400, didYouMean: "score" });
  });

  it("says what a filter value of each type looks like", async () => {
    const data = `${server.url}/api/datasets/${datasetId}/versions/1/data`;
    const cases: [string, RegExp][] = [
      ["joined:gt:31/01/2024", /Date values look like 2024-01-31/],
      ["id:eq:1.5", /Int64 values are whole numbers/],
      ["score:lt:high", /Float64 values are numbers like 1\.5/],
    ];
    for (const [f, message] of cases) {
      const res = await getJson(`${data}?filter=${encodeURIComponent(f)}`);
      expect(res.status, f).toBe(400);
      expect(res.body.detail, f).toMatch(message);
    }
    const bools = await upload(`${server.url}/api/datasets/upload`, { name: "b.csv", content: "flag\ntrue\nfalse\n" });
    const res = await getJson(`${server.url}/api/datasets/${bools.body.dataset.id}/versions/1/data?filter=flag:eq:yes`);
    expect(res.body.detail).toMatch(/Boolean is true or false/);
  });

  it("points a dataset name used as an id to ?name= and its id", async () => {
    const res = await getJson(`${server.url}/api/datasets/strict/versions/1/data`);
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ code: "NOT_FOUND", datasetId });
    expect(res.body.detail).toContain(`its id is "${datasetId}"`);
    expect(res.body.detail).toContain("GET /api/datasets?name=strict");
    const unknown = await getJson(`${server.url}/api/datasets/no-such-thing`);
    expect(unknown.body.detail).toMatch(/server-made UUIDs.*GET \/api\/datasets\?name=no-such-thing/);
    // A real dataset with a missing version keeps the version's message.
    const version = await getJson(`${server.url}/api/datasets/${datasetId}/versions/9`);
    expect(version.body.detail).toMatch(/no version 9/);
  });

  it("names the file whose binary content is not text", async () => {
    const res = await upload(`${server.url}/api/datasets/upload`, { name: "photo.csv", content: new Uint8Array([0x00, 0x01, 0x02, 0xff, 0x00, 0x10, 0x80, 0x00]) });
    expect(res.status).toBe(415);
    expect(res.body.detail).toMatch(/^The file "photo\.csv" contains binary data, not text/);
  });

  it("answers a path with other methods 405 with Allow, other paths 404", async () => {
    const res = await getJson(`${server.url}/api/datasets/${datasetId}`, { method: "PUT" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET, HEAD, PATCH, DELETE");
    expect((await getJson(`${server.url}/api/nothing-here`)).status).toBe(404);
  });
});
