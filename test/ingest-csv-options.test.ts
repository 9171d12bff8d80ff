/**
 * The CSV options real files need (issue 10): skipRows/headerRow, commentPrefix, nullValues,
 * decimalComma, quoting=lenient|none, and quote errors in our words. Where Python's csv module is
 * the reference (lenient quoting), generated files are compared with what it reads.
 */
import { execFileSync } from "node:child_process";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { ApiError } from "../src/errors.ts";
import { parseUpload } from "../src/ingest/index.ts";
import { parseOptionsFrom } from "../src/ingest/options.ts";
import { columnsOf, LIMITS, rowsOf, tempDir } from "./ingest-helpers.ts";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const SEED = 20261202;
const RUNS = Number(process.env.GEN_RUNS ?? 10);
let counter = 0;

async function read(content: string, fields: Record<string, string> = {}, name = `f${counter++}.csv`) {
  const { frame, source } = await parseUpload(tmp.write(name, content), parseOptionsFrom(fields), LIMITS);
  return { columns: columnsOf(frame), rows: await rowsOf(frame), notes: source.notes ?? [], source };
}

async function refusal(content: string, fields: Record<string, string> = {}): Promise<ApiError> {
  try {
    await read(content, fields);
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

const hasPython = (() => {
  try {
    execFileSync("python3", ["-c", "import csv"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

/** Python's csv module (default dialect, strict=False) on a file: the reference for quoting=lenient. */
function pythonRows(path: string, delimiter: string): string[][] {
  const code = "import csv,json,sys; print(json.dumps(list(csv.reader(open(sys.argv[1], encoding='utf-8', newline=''), delimiter=sys.argv[2]))))";
  return JSON.parse(execFileSync("python3", ["-c", code, path, delimiter]).toString()) as string[][];
}

describe("title rows, comments and null values", () => {
  it("skipRows and headerRow leave title lines out, read as plain text (quotes and all)", async () => {
    const text = 'Sales report "Q3\nexported 2024-10-01;;;\nregion,units\nnorth,3\nsouth,4\n';
    for (const fields of [{ skipRows: "2" }, { headerRow: "3" }] as Record<string, string>[]) {
      const r = await read(text, fields);
      expect(r.columns).toEqual([
        { name: "region", dtype: "String" },
        { name: "units", dtype: "Int64" },
      ]);
      expect(r.rows).toEqual([
        ["north", 3],
        ["south", 4],
      ]);
      expect(r.notes.join(" ")).toContain("header was read from line 3");
    }
  });

  it("refuses skipRows past the end of the file and contradicting skipRows/headerRow (400)", async () => {
    expect((await refusal("a\n1\n", { skipRows: "5" })).status).toBe(422);
    expect(() => parseOptionsFrom({ skipRows: "1", headerRow: "3" })).toThrow(/disagree/);
    expect(() => parseOptionsFrom({ headerRow: "0" })).toThrow(/headerRow/);
    expect(() => parseOptionsFrom({ skipRows: "-1" })).toThrow(/skipRows/);
  });

  it("leaves comment lines out, even with quotes in them, and counts them", async () => {
    const r = await read('# exported by "tool\nid,name\n1,a\n# a comment, with a comma\n2,b\n', { commentPrefix: "#" });
    expect(r.rows).toEqual([
      [1, "a"],
      [2, "b"],
    ]);
    expect(r.notes.join(" ")).toContain('2 comment lines (starting with "#") were left out');
  });

  it("reads the nullValues as null, counted per column, and types the rest", async () => {
    const r = await read("price,code\n1.5,N/A\nN/A,-\n-,x\n2,NULL\n", { nullValues: "N/A,-,NULL" });
    expect(r.columns).toEqual([
      { name: "price", dtype: "Float64" },
      { name: "code", dtype: "String" },
    ]);
    expect(r.rows).toEqual([
      [1.5, null],
      [null, null],
      [null, "x"],
      [2, null],
    ]);
    expect(r.notes).toContain('Column "price": 2 values listed in nullValues were read as null.');
    expect(r.notes).toContain('Column "code": 3 values listed in nullValues were read as null.');
  });

  it("takes nullValues as a JSON array too, and refuses a broken one", async () => {
    expect(parseOptionsFrom({ nullValues: '["N/A", ",", ""]' }).nullValues).toEqual(["N/A", ",", ""]);
    expect(() => parseOptionsFrom({ nullValues: '["N/A", 1]' })).toThrow(/JSON array of strings/);
  });
});

describe("decimalComma", () => {
  it("reads 1,5 as 1.5 with a semicolon delimiter, and keeps point decimals as text", async () => {
    const r = await read("a;b;c\n1,5;2;1.5\n-0,25;3;2.5\n", { decimalComma: "true" });
    expect(r.columns).toEqual([
      { name: "a", dtype: "Float64" },
      { name: "b", dtype: "Int64" },
      { name: "c", dtype: "String" },
    ]);
    expect(r.rows).toEqual([
      [1.5, 2, "1.5"],
      [-0.25, 3, "2.5"],
    ]);
    expect(r.notes.join(" ")).toContain('decimal comma (decimalComma=true) were read in column(s) "a"');
  });

  it("refuses decimalComma with a comma delimiter (400)", async () => {
    expect(() => parseOptionsFrom({ decimalComma: "true", delimiter: "," })).toThrow(/delimiter other than a comma/);
    const err = await refusal("a,b\n1,2\n", { decimalComma: "true" });
    expect(err.status).toBe(400);
  });
});

describe("quoting", () => {
  it("refuses a quote inside an unquoted field in our words, naming line and column and the way out", async () => {
    const err = await refusal("name,height\nAnn,5'11\"\n");
    expect(err.status).toBe(422);
    expect(err.message).toContain('Line 2, column "height"');
    expect(err.message).toContain("quoting=lenient");
    expect(err.message).not.toMatch(/chunk|polars|expected \d+ rows/i);
  });

  it("refuses a backslash-escaped quote in our words, with the ways out", async () => {
    const err = await refusal('id,text\n1,"say \\"hi\\""\n');
    expect(err.status).toBe(422);
    expect(err.message).toContain('Line 2, column "text"');
    expect(err.message).toContain("backslash");
    expect(err.extra).toMatchObject({ line: 2, column: "text" });
  });

  it("quoting=lenient reads a quote inside an unquoted field as a character, and notes it", async () => {
    const r = await read("name,height\nAnn,5'11\"\n\"Bo, Jr\",6'\n", { quoting: "lenient" });
    expect(r.rows).toEqual([
      ["Ann", "5'11\""],
      ["Bo, Jr", "6'"],
    ]);
    expect(r.notes.join(" ")).toContain("quoting=lenient read them as ordinary characters");
  });

  it("quoting=none never treats quotes as quoting", async () => {
    const r = await read('a,b\n"x",y"z\n', { quoting: "none" });
    expect(r.rows).toEqual([['"x"', 'y"z']]);
  });

  it.skipIf(!hasPython)("quoting=lenient reads generated files exactly as Python's csv module does", async () => {
    const piece = fc.oneof(fc.constantFrom('"', '""', ";", "\n", "\r\n", "'", "a", "b", " ", "é", "x\"y"), fc.string({ unit: "grapheme-ascii", maxLength: 4 }));
    const fieldArb = fc.array(piece, { maxLength: 5 }).map((p) => p.join(""));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fieldArb, { minLength: 3, maxLength: 3 }), { minLength: 1, maxLength: 6 }), async (records) => {
        // Unquoted fields may not hold the delimiter or line breaks; a leading quote makes them quoted.
        const line = (r: string[]) => r.map((f) => (/[;\r\n]/.test(f) || f.startsWith('"') ? `"${f.replaceAll('"', '""')}"` : f)).join(";");
        const text = `h1;h2;h3\n${records.map(line).join("\n")}\n`;
        const name = `lenient-${counter++}.csv`;
        const upload = tmp.write(name, text);
        const expected = pythonRows(upload.path, ";").slice(1).filter((r) => r.length > 0);
        const { frame } = await parseUpload(upload, parseOptionsFrom({ quoting: "lenient", delimiter: ";", schema: '{"h1":"String","h2":"String","h3":"String"}' }), LIMITS);
        // Python has no nulls: an unquoted empty field is "" there.
        const ours = (await rowsOf(frame)).map((r) => r.map((v) => (v === null ? "" : v)));
        expect(ours).toEqual(expected);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("reads a file with the traits of frictionless's issue-1066.csv (quotes inside unquoted fields) with quoting=lenient", async () => {
    // `;`-delimited Italian registry: apostrophes, quotes inside unquoted names, a quoted field
    // with text after its closing quote, NULL placeholders.
    const lines = ["idImpianto;Gestore;Bandiera;Comune;Latitudine"];
    for (let i = 0; i < 300; i++) {
      const gestore = i % 7 === 0 ? `DISTRIBUTORE "API" ${i}` : i % 11 === 0 ? `"S.N.C. ${i}" DI ROSSI` : `ROSSI & C. ${i}`;
      lines.push(`${1000 + i};${gestore};Agip Eni;CANICATTI';${i % 13 === 0 ? "NULL" : (37 + i / 1000).toFixed(3)}`);
    }
    const text = `${lines.join("\n")}\n`;
    expect((await refusal(text)).message).toContain("quoting=lenient");
    const r = await read(text, { quoting: "lenient", nullValues: "NULL" });
    expect(r.columns.map((c) => c.dtype)).toEqual(["Int64", "String", "String", "String", "Float64"]);
    expect(r.rows).toHaveLength(300);
    expect(r.rows[7]).toEqual([1007, 'DISTRIBUTORE "API" 7', "Agip Eni", "CANICATTI'", 37.007]);
    expect(r.rows[11]).toEqual([1011, "S.N.C. 11 DI ROSSI", "Agip Eni", "CANICATTI'", 37.011]);
    expect(r.notes.join(" ")).toMatch(/text after the closing quote/);
    if (hasPython) {
      const upload = tmp.write("issue-1066-like.csv", text);
      const py = pythonRows(upload.path, ";").slice(1);
      expect(r.rows.map((row) => [String(row[0]), row[1], row[2], row[3]])).toEqual(py.map((row) => row.slice(0, 4)));
    }
  });
});

describe("schema= parsing is total", () => {
  it("any JSON (deep, odd, huge keys) is options or a 400 naming the field, never a crash", () => {
    const deep = fc.integer({ min: 1, max: 20_000 }).map((d) => `${"[".repeat(d)}${"]".repeat(d)}`);
    const deepObject = fc.integer({ min: 1, max: 5_000 }).map((d) => `${'{"a":'.repeat(d)}1${"}".repeat(d)}`);
    const text = fc.oneof(fc.json({ maxDepth: 6 }), deep, deepObject, fc.string(), fc.constantFrom('{"__proto__": "String"}', '{"a": "string"}', '{"a": null}', "null", "[]", '{"a": "Int64", "a": "String"}'));
    fc.assert(
      fc.property(text, (raw) => {
        try {
          const parsed = parseOptionsFrom({ schema: raw }).schema;
          // An empty field is an absent one (HTML forms send blank inputs).
          expect(raw === "" ? parsed === undefined : typeof parsed === "object").toBe(true);
        } catch (err) {
          expect(err).toBeInstanceOf(ApiError);
          expect((err as ApiError).status).toBe(400);
          expect((err as ApiError).message).toContain('"schema"');
          expect((err as ApiError).message.length).toBeLessThan(400);
        }
      }),
      { seed: SEED + 9, numRuns: 300 },
    );
    expect(parseOptionsFrom({ schema: '{"__proto__": "String"}' }).schema?.["__proto__"]).toBe("String");
    expect(() => parseOptionsFrom({ schema: '{"a": "string"}' })).toThrow(/did you mean "String"/);
  });
});
