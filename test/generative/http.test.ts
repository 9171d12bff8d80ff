/**
 * Generative, through a real server on a loopback port: generated tables written by DuckDB
 * (Parquet, CSV) and SheetJS (xlsx), uploaded; pages compared with values computed in JS; stats
 * counts checked; every download format read back by DuckDB (Arrow through Polars' IPC reader,
 * which DuckDB cannot read without an extension) and compared value by value with DuckDB's own
 * reading of the uploaded file.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import XLSX from "xlsx";
import { getJson, startServer, upload, type TestServer } from "../helpers/server.ts";
import { openDuck, quoteIdent, sqlString, type Duck } from "./duck.ts";
import { params, TIMEOUT, PARQUET_TYPES, sameCell, tableOf, text, TYPES, withValues, type ColumnType, type GenColumn, type GenTable } from "./tables.ts";

let server: TestServer;
let duck: Duck;
let n = 0;

beforeAll(async () => {
  server = await startServer("memory", { RATE_LIMIT_UPLOADS: "0", RATE_LIMIT_READS: "0" });
  duck = await openDuck();
});
afterAll(async () => {
  await server?.close();
  duck?.close();
});

const api = (p: string) => `${server.url}/api${p}`;

async function uploadFile(file: string, name: string): Promise<{ id: string; columns: { name: string; dtype: string }[] }> {
  const res = await upload(api("/datasets/upload"), { name, content: readFileSync(file) }, { name: `gen-${n++}` });
  if (res.status !== 201) expect.fail(`upload ${name}: ${res.status} ${JSON.stringify(res.body)}`);
  return { id: res.body.dataset.id as string, columns: res.body.version.columns };
}

/** Every row of version 1 as arrays (cells as JSON.parse reads them). */
async function rowsOf(id: string): Promise<unknown[][]> {
  const res = await fetch(api(`/datasets/${id}/versions/1/data?format=arrays&limit=10000`));
  expect(res.status).toBe(200);
  return (JSON.parse(await res.text()) as { rows: unknown[][] }).rows;
}

function expectCells(t: GenTable, rows: unknown[][], types: ColumnType[] = t.columns.map((c) => c.type)): void {
  expect(rows).toHaveLength(t.rows);
  rows.forEach((row, r) =>
    t.columns.forEach((c, k) => {
      const type = types[k] as ColumnType;
      const value = c.values[r] ?? null;
      if (!sameCell(type, row[k], value)) expect.fail(`${type.dtype} column ${k} ${JSON.stringify(c.name)} row ${r}: got ${JSON.stringify(row[k])}, want ${JSON.stringify(value === null ? null : type.expected(value))}`);
    }),
  );
}

async function download(id: string, format: string): Promise<string> {
  const res = await fetch(api(`/datasets/${id}/versions/1/download?format=${format}`));
  if (res.status !== 200) expect.fail(`download ${format}: ${res.status} ${await res.text()}`);
  const file = path.join(duck.dir, `dl-${n++}.${format}`);
  writeFileSync(file, Buffer.from(await res.arrayBuffer()));
  return file;
}

const NESTED = new Set(["nested"]);

/** Deep equality that names what differed (fast-check's report hides vitest's diff). */
function same(label: string, got: unknown, want: unknown): void {
  const a = JSON.stringify(got);
  const b = JSON.stringify(want);
  if (a !== b) expect.fail(`${label}: got ${a}, want ${b}`);
}

/** DuckDB's `columns={…}` for a reader, typed like the generated table (nested as text). */
const columnsOption = (t: GenTable) => `{${t.columns.map((c) => `${sqlString(c.name)}: ${sqlString(NESTED.has(c.type.kind) ? "VARCHAR" : c.type.duck)}`).join(", ")}}`;

const parquetTable = tableOf(PARQUET_TYPES, { maxColumns: 5, maxRows: 8 });

/** One generated table through the API as Parquet: pages, stats counts, every download read back by DuckDB. */
async function parquetRoundTrip(t: GenTable): Promise<void> {
  const file = await duck.write(t, "parquet", "http");
  const { id, columns } = await uploadFile(file, "gen.parquet");
  expect(columns.map((c) => [c.name, c.dtype])).toEqual(t.columns.map((c) => [c.name, c.type.dtype]));
  expectCells(t, await rowsOf(id));
  const stats = await getJson(api(`/datasets/${id}/versions/1/stats`));
  expect(stats.status).toBe(200);
  t.columns.forEach((c, k) => {
    const nulls = c.values.filter((v) => v === null).length;
    expect([stats.body.columns[k].count, stats.body.columns[k].nullCount]).toEqual([t.rows - nulls, nulls]);
  });

  const original = await duck.texts(`SELECT * FROM read_parquet(${sqlString(file)})`);
  // Parquet and Arrow keep types and values, except that a MAP comes back as the list of its
  // key/value entries (Polars has no map type), which the version's notes say (QA finding Q6)
  const maps = t.columns.filter((c) => c.type.duck.startsWith("MAP("));
  const entries = maps.length === 0 ? original : await duck.texts(`SELECT ${t.columns.map((c) => (maps.includes(c) ? `map_entries(${quoteIdent(c.name)})` : quoteIdent(c.name))).join(", ")} FROM read_parquet(${sqlString(file)})`);
  const parquetFile = await download(id, "parquet");
  same("parquet download", await duck.texts(`SELECT * FROM read_parquet(${sqlString(parquetFile)})`), entries);
  if (maps.length > 0) {
    const types = await duck.texts(`SELECT ${maps.map((c) => `typeof(${quoteIdent(c.name)})`).join(", ")} FROM read_parquet(${sqlString(parquetFile)}) LIMIT 1`);
    if (t.rows > 0) same("map column types in the download", types[0], maps.map(() => 'STRUCT("key" VARCHAR, "value" BIGINT)[]'));
    const version = await getJson(api(`/datasets/${id}/versions/1`));
    const note = ((version.body.source.notes ?? []) as string[]).find((x) => x.includes("hold a Parquet MAP"));
    if (!note) expect.fail(`no note on the MAP column(s) ${JSON.stringify(maps.map((c) => c.name))}: ${JSON.stringify(version.body.source.notes)}`);
    for (const c of maps) expect(note).toContain(JSON.stringify(c.name));
  }
  const arrow = await download(id, "arrow");
  const viaArrow = path.join(duck.dir, `arrow-${n++}.parquet`);
  (await pl.scanIPC(arrow).collect()).writeParquet(viaArrow);
  same("arrow download", await duck.texts(`SELECT * FROM read_parquet(${sqlString(viaArrow)})`), entries);

  // CSV: every scalar value parses back to the same value in its type; nested cells are JSON text
  const flat = t.columns.flatMap((c, k) => (NESTED.has(c.type.kind) ? [] : [k]));
  const pick = (rows: (string | null)[][]) => rows.map((r) => flat.map((k) => r[k] ?? null));
  const csv = await download(id, "csv");
  const csvRows = await duck.texts(`SELECT * FROM read_csv(${sqlString(csv)}, header = true, columns = ${columnsOption(t)}, quote = '"', escape = '"', delim = ',', new_line = '\\n', allow_quoted_nulls = false)`);
  same("csv download", pick(csvRows), pick(original));
  t.columns.forEach((c, k) => {
    if (!NESTED.has(c.type.kind)) return;
    csvRows.forEach((r, row) => {
      const v = c.values[row] ?? null;
      expect(v === null ? r[k] : JSON.parse(r[k] as string)).toEqual(v === null ? null : c.type.expected(v));
    });
  });
  // NDJSON and JSON: scalars parse back (NaN/±Infinity are null there); nested as JSON
  const finite = (rows: (string | null)[][]) => pick(rows).map((r) => r.map((x) => (x === "nan" || x === "inf" || x === "-inf" ? null : x)));
  for (const format of ["ndjson", "json"]) {
    const f = await download(id, format);
    const flatCols = `{${flat.map((k) => `${sqlString(t.columns[k]!.name)}: ${sqlString(t.columns[k]!.type.duck)}`).join(", ")}}`;
    if (t.rows === 0 || flat.length === 0) continue;
    const got = await duck.texts(`SELECT ${flat.map((k) => quoteIdent(t.columns[k]!.name)).join(", ")} FROM read_json(${sqlString(f)}, format = '${format === "ndjson" ? "newline_delimited" : "array"}', columns = ${flatCols})`);
    same(`${format} download`, got, finite(original));
  }
}

describe("generated files through the HTTP API", () => {

  it("Parquet: pages, stats counts and every download format agree with DuckDB, value by value", async () => {
    await fc.assert(fc.asyncProperty(parquetTable, parquetRoundTrip), params(15));
  }, TIMEOUT);

  it("Parquet MAP columns: kept as lists of key/value structs, in pages and downloads, and noted on the version", async () => {
    const withMap = tableOf([TYPES.map, TYPES.int64, TYPES.struct], { maxColumns: 3, maxRows: 6 }).filter((t) => t.columns.some((c) => c.type === TYPES.map));
    await fc.assert(fc.asyncProperty(withMap, parquetRoundTrip), params(3));
  }, TIMEOUT);

  it("inspect: the preview keeps -0.0, big integers and column order as pages do", async () => {
    const file = path.join(duck.dir, "inspect.parquet");
    await duck.db.run(`COPY (SELECT -0.0::DOUBLE AS "z", 18446744073709551615::UBIGINT AS "u", 'x' AS "count") TO ${sqlString(file)} (FORMAT parquet)`);
    const form = new FormData();
    form.append("file", new Blob([readFileSync(file)]), "inspect.parquet");
    const res = await fetch(api("/datasets/inspect"), { method: "POST", body: form });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain('"preview":[{"z":-0.0,"u":"18446744073709551615","count":"x"}]');
  });

  // CSV download → re-upload keeps every value (types as in the README table).
  it("CSV download then re-upload: every value comes back", async () => {
    const scalar = PARQUET_TYPES.filter((c) => c.kind !== "nested");
    await fc.assert(
      fc.asyncProperty(tableOf(scalar, { maxColumns: 4, maxRows: 6 }), async (t) => {
        fc.pre(t.rows > 0 && (t.columns.length > 1 || t.columns.every((c) => c.values.every((v) => v !== null))));
        const file = await duck.write(t, "parquet", "rt");
        const { id } = await uploadFile(file, "rt.parquet");
        const csv = await download(id, "csv");
        const back = await uploadFile(csv, "rt.csv");
        const again = await fetch(api(`/datasets/${back.id}/versions/1/download?format=parquet`));
        const file2 = path.join(duck.dir, `rt-${n++}.parquet`);
        writeFileSync(file2, Buffer.from(await again.arrayBuffer()));
        // compared in the original types: a column read back as another type must cast to the same values
        const cols = t.columns.map((c) => `TRY_CAST(${quoteIdent(c.name)} AS ${c.type.duck})`).join(", ");
        same("csv round trip", await duck.texts(`SELECT ${cols} FROM read_parquet(${sqlString(file2)})`), await duck.texts(`SELECT * FROM read_parquet(${sqlString(file)})`));
      }),
      params(15),
    );
  }, TIMEOUT);

  // CSV as DuckDB writes it, with a header written here (names DuckDB would refuse: duplicates
  // differing in case only). Values are kept to what CSV inference reads back as that type.
  const csvFloat = withValues(TYPES.float64, fc.double({ min: -1e9, max: 1e9, noNaN: true }).map((x) => Math.round(x * 1000) / 1000));
  const csvString = withValues(TYPES.string, text.map((s) => `x${s}`));
  const csvInt = withValues(TYPES.int64, fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }));
  const CSV_TYPES = [csvInt, csvFloat, csvString, TYPES.boolean, TYPES.date, PARQUET_TYPES.find((c) => c.dtype === "Datetime(us)") as ColumnType];

  it("CSV: DuckDB-written files read back with their values", async () => {
    await fc.assert(
      fc.asyncProperty(tableOf(CSV_TYPES, { maxColumns: 4, maxRows: 8 }), async (t) => {
        // a one-column row holding a null is a blank line, which CSV readers skip (documented)
        fc.pre(t.columns.length > 1 || t.columns.every((c) => c.values.every((v) => v !== null)));
        const body = await duck.write(t, "csv", "http");
        const header = t.columns.map((c) => `"${c.name.replaceAll('"', '""')}"`).join(",");
        const file = `${body}.with-header.csv`;
        writeFileSync(file, `${header}\n${readFileSync(body, "utf8")}`);
        // a column of nothing but nulls has no type in a CSV: String
        const types = t.columns.map((c) => (c.values.every((v) => v === null) ? TYPES.string : c.type));
        const { id, columns } = await uploadFile(file, "gen.csv");
        expect(columns.map((c) => c.name)).toEqual(t.columns.map((c) => c.name));
        expect(columns.map((c) => c.dtype)).toEqual(types.map((c) => (c === csvInt ? "Int64" : c.dtype)));
        expectCells(t, await rowsOf(id), types);
      }),
      params(15),
    );
  }, TIMEOUT);

  it("CSV numbers as people write them (signs, zeros, exponents): the type and value from the text, and a note for each text a number does not keep", async () => {
    // one numeric text: sign, integer part (sometimes with leading zeros), fraction (trailing zeros too), exponent
    const digits = (min: number, max: number) => fc.array(fc.constantFrom(..."0123456789"), { minLength: min, maxLength: max }).map((d) => d.join(""));
    const intPart = fc.oneof(fc.constant("0"), fc.tuple(fc.constantFrom(..."123456789"), digits(0, 5)).map(([a, b]) => a + b), { weight: 1, arbitrary: digits(2, 4).map((d) => `0${d}`) });
    const numberText = fc
      .record({
        sign: fc.constantFrom("", "", "+", "-"),
        int: intPart,
        fraction: fc.oneof({ weight: 3, arbitrary: fc.constant("") }, digits(0, 4).map((d) => `.${d}`)),
        exponent: fc.oneof({ weight: 4, arbitrary: fc.constant("") }, fc.tuple(fc.constantFrom("e", "E"), fc.constantFrom("", "+", "-"), digits(1, 2)).map((p) => p.join(""))),
      })
      .map(({ sign, int, fraction, exponent }) => sign + int + fraction + exponent);
    // a column is mostly one style: integers only, or any number
    const column = fc.oneof(fc.array(fc.record({ sign: fc.constantFrom("", "+", "-"), int: intPart }).map(({ sign, int }) => sign + int), { minLength: 1, maxLength: 6 }), fc.array(numberText, { minLength: 1, maxLength: 6 }));
    const INT = /^[+-]?(0|[1-9][0-9]*)$/;
    const FLOAT = /^[+-]?((0|[1-9][0-9]*)(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$/;
    await fc.assert(
      // several columns per upload: each upload costs a parse in the sandbox
      fc.asyncProperty(fc.array(column, { minLength: 1, maxLength: 6 }), async (columns) => {
        const rows = Math.max(...columns.map((c) => c.length));
        const names = columns.map((_, k) => `n${k}`);
        const cell = (c: string[], r: number) => c[r] ?? "";
        const file = path.join(duck.dir, `numbers-${n++}.csv`);
        writeFileSync(file, `${names.join(",")}\n${Array.from({ length: rows }, (_, r) => columns.map((c) => cell(c, r)).join(",")).join("\n")}\n`);
        const res = await upload(api("/datasets/upload"), { name: "numbers.csv", content: readFileSync(file) }, { name: `gen-${n++}` });
        if (res.status !== 201) expect.fail(`upload: ${res.status} ${JSON.stringify(res.body)}`);
        const notes = (res.body.version.source.notes ?? []) as string[];
        const got = await rowsOf(res.body.dataset.id as string);
        columns.forEach((texts, k) => {
          // the model, from the text alone: Int64 when every value is an integer's text, Float64 when
          // every value is a number's (all generated ones are exact in a double), else String
          const kind = texts.every((t) => INT.test(t)) ? "Int64" : texts.every((t) => FLOAT.test(t)) ? "Float64" : "String";
          expect([names[k], res.body.version.columns[k].dtype]).toEqual([names[k], kind]);
          texts.forEach((t, r) => {
            const want = kind === "Int64" ? Number(t) + 0 : kind === "Float64" ? Number(t) : t;
            if (!Object.is(got[r]?.[k], want)) expect.fail(`${names[k]} row ${r}: ${JSON.stringify(t)} came back as ${JSON.stringify(got[r]?.[k])}, want ${String(want)}`);
          });
          const plus = texts.filter((t) => t.startsWith("+")).length;
          const minusZero = kind === "Int64" ? texts.filter((t) => t === "-0").length : 0;
          const note = notes.find((x) => x.startsWith(`Column "${names[k]}" (${kind}):`));
          if (kind === "String" || plus + minusZero === 0) {
            expect(note, `no note for ${names[k]} ${JSON.stringify(texts)}`).toBeUndefined();
            return;
          }
          if (!note) expect.fail(`no note for ${names[k]} (${kind}) ${JSON.stringify(texts)}: ${JSON.stringify(notes)}`);
          if (plus > 0) expect(note).toContain(`${plus} value${plus === 1 ? "" : "s"} written with a plus sign`);
          if (minusZero > 0) expect(note).toContain(`${minusZero} value${minusZero === 1 ? "" : "s"} written as -0`);
        });
      }),
      params(5),
    );
  }, TIMEOUT);

  it("xlsx: SheetJS-written workbooks read back with their values", async () => {
    const xInt = withValues(TYPES.int64, fc.bigInt({ min: -(2n ** 40n), max: 2n ** 40n }));
    const xFloat = withValues(TYPES.float64, fc.double({ min: -1e12, max: 1e12, noNaN: true, noDefaultInfinity: true }).filter((x) => !Number.isInteger(x)));
    await fc.assert(
      fc.asyncProperty(tableOf([xInt, xFloat, csvString, TYPES.boolean], { maxColumns: 4, maxRows: 8 }), async (t) => {
        // an all-empty column has no cells and an all-empty row is dropped (documented)
        const present = t.columns.map((c) => c.values.some((v) => v !== null));
        const rowsPresent = Array.from({ length: t.rows }, (_, r) => t.columns.some((c) => c.values[r] !== null));
        fc.pre(present.every(Boolean) && rowsPresent.every(Boolean) && t.rows > 0);
        const aoa = [t.columns.map((c) => c.name), ...Array.from({ length: t.rows }, (_, r) => t.columns.map((c) => {
          const v = c.values[r] ?? null;
          return typeof v === "bigint" ? Number(v) : v;
        }))];
        const wb = XLSX.utils.book_new();
        XLSX.utils.book_append_sheet(wb, XLSX.utils.aoa_to_sheet(aoa), "Sheet1");
        const file = path.join(duck.dir, `gen-${n++}.xlsx`);
        writeFileSync(file, XLSX.write(wb, { type: "buffer", bookType: "xlsx" }) as Buffer);
        const { id, columns } = await uploadFile(file, "gen.xlsx");
        expect(columns.map((c) => c.name)).toEqual(t.columns.map((c) => c.name));
        expect(columns.map((c) => c.dtype)).toEqual(t.columns.map((c) => (c.type === xInt ? "Int64" : c.type.dtype)));
        expectCells(t, await rowsOf(id));
      }),
      params(10),
    );
  }, TIMEOUT);
});

export type { GenColumn };
