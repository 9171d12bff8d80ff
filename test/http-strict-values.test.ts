/**
 * One rule for every boolean and enumerated parameter (QA Q2, issue 12 "Parameters are strict"):
 * exactly the documented spellings (`true`/`false`, the lower-case words) are accepted, on every
 * route that takes them; anything else (`yes`, `1`, `TRUE`, `Skip`, ` true`) is a 400 that names
 * the parameter, lists the accepted values and, for a near miss, the one meant. The fields come
 * from the one list of options (OPTION_FIELDS) and the routes' enumerations, so a new one is
 * covered without touching this test.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OPTION_FIELDS } from "../src/ingest/options.ts";
import { getJson, startServer, upload, type TestServer } from "./helpers/server.ts";

const CSV = "a;b\n1,5;2\n3,25;4\n";
/** Values a user might type that are not the documented spelling, and what each meant (if anything). */
const BOOLEAN_MISSES: [string, string | undefined][] = [["yes", undefined], ["no", undefined], ["1", undefined], ["0", undefined], ["TRUE", "true"], ["False", "false"], [" true", "true"], ["true ", "true"], ["on", undefined]];

const booleans = OPTION_FIELDS.filter((f) => f.type === "boolean").map((f) => f.name);
const enums = OPTION_FIELDS.filter((f) => f.enum !== undefined).map((f) => ({ name: f.name, values: f.enum as readonly string[] }));

let server: TestServer;
let datasetId: string;

beforeAll(async () => {
  server = await startServer("memory");
  const created = await upload(`${server.url}/api/datasets/upload`, { name: "strict.csv", content: "id,name\n1,a\n2,b\n" });
  expect(created.status).toBe(201);
  datasetId = created.body.dataset.id as string;
});

afterAll(async () => {
  await server?.close();
});

function expectRefused(res: { status: number; body: any; headers: Headers }, name: string, allowed: readonly string[], meant: string | undefined, label: string): void {
  expect(res.status, label).toBe(400);
  expect(res.headers.get("content-type"), label).toMatch(/application\/problem\+json/);
  expect(res.body.code, label).toBe("BAD_REQUEST");
  expect(res.body.parameter, label).toBe(name);
  expect(res.body.detail, label).toContain(`"${name}"`);
  for (const v of allowed) expect(res.body.detail, label).toContain(v);
  if (meant === undefined) expect(res.body.didYouMean, label).toBeUndefined();
  else {
    expect(res.body.didYouMean, label).toBe(meant);
    expect(res.body.detail, label).toContain(`did you mean "${meant}"?`);
  }
}

describe("boolean and enumerated form fields (upload, inspect, add-version)", () => {
  it("finds the boolean and enumerated options it is about", () => {
    expect(booleans).toEqual(expect.arrayContaining(["header", "decimalComma"]));
    expect(enums.map((e) => e.name)).toEqual(expect.arrayContaining(["onBadRows", "quoting"]));
  });

  it("accepts exactly true and false for every boolean field, and reads them as written", async () => {
    for (const name of booleans) {
      for (const value of ["true", "false"]) {
        const res = await upload(`${server.url}/api/datasets/inspect`, { name: "d.csv", content: CSV }, { [name]: value, delimiter: ";" });
        expect(res.status, `${name}=${value}`).toBe(200);
        if (name === "header") expect(res.body.header, `${name}=${value}`).toBe(value === "true");
        if (name === "decimalComma") expect(res.body.columns[0].dtype, `${name}=${value}`).toBe(value === "true" ? "Float64" : "String");
      }
    }
  });

  it("refuses every other spelling of a boolean, naming the field and the accepted values", async () => {
    for (const name of booleans) {
      for (const [value, meant] of BOOLEAN_MISSES) {
        const res = await upload(`${server.url}/api/datasets/inspect`, { name: "d.csv", content: CSV }, { [name]: value, delimiter: ";" });
        expectRefused(res, name, ["true", "false"], meant, `inspect ${name}=${JSON.stringify(value)}`);
      }
    }
  });

  it("accepts each enumerated value as documented and refuses other cases and spellings", async () => {
    for (const { name, values } of enums) {
      for (const value of values) {
        const res = await upload(`${server.url}/api/datasets/inspect`, { name: "d.csv", content: CSV }, { [name]: value });
        expect(res.status, `${name}=${value}`).toBe(200);
      }
      for (const value of values) {
        const misses: [string, string | undefined][] = [[value.toUpperCase(), value], [value[0]!.toUpperCase() + value.slice(1), value], [` ${value}`, value], [`${value}s`, undefined]];
        for (const [miss, meant] of misses) {
          const res = await upload(`${server.url}/api/datasets/inspect`, { name: "d.csv", content: CSV }, { [name]: miss });
          expectRefused(res, name, values, meant, `inspect ${name}=${JSON.stringify(miss)}`);
        }
      }
    }
  });

  it("applies the same rule on upload and add-version, and stores nothing for a refused field", async () => {
    const before = (await getJson(`${server.url}/api/datasets`)).body.total as number;
    const up = await upload(`${server.url}/api/datasets/upload`, { name: "d.csv", content: CSV }, { header: "yes" });
    expectRefused(up, "header", ["true", "false"], undefined, "upload header=yes");
    const skip = await upload(`${server.url}/api/datasets/upload`, { name: "d.csv", content: CSV }, { onBadRows: "SKIP" });
    expectRefused(skip, "onBadRows", ["fail", "skip"], "skip", "upload onBadRows=SKIP");
    const add = await upload(`${server.url}/api/datasets/${datasetId}/versions`, { name: "d.csv", content: CSV }, { decimalComma: "1", delimiter: ";" });
    expectRefused(add, "decimalComma", ["true", "false"], undefined, "add-version decimalComma=1");
    expect((await getJson(`${server.url}/api/datasets`)).body.total).toBe(before);
    expect((await getJson(`${server.url}/api/datasets/${datasetId}/versions`)).body.items).toHaveLength(1);
  });
});

describe("enumerated query parameters", () => {
  it("accepts the documented words and refuses other cases on /data and /download", async () => {
    const v = `${server.url}/api/datasets/${datasetId}/versions/1`;
    expect((await getJson(`${v}/data?format=arrays`)).status).toBe(200);
    expect((await fetch(`${v}/download?format=ndjson`)).status).toBe(200);
    expectRefused(await getJson(`${v}/data?format=Arrays`), "format", ["objects", "arrays"], "arrays", "data format=Arrays");
    expectRefused(await getJson(`${v}/download?format=CSV`), "format", ["csv", "parquet", "ndjson", "json", "arrow"], "csv", "download format=CSV");
    expectRefused(await getJson(`${v}/download?format=%20csv`), "format", ["csv", "parquet"], "csv", "download format=' csv'");
    expectRefused(await getJson(`${v}/download?format=xlsx`), "format", ["csv", "parquet"], undefined, "download format=xlsx");
  });
});
