/**
 * The diff (src/frame/diff.ts) against an independent computation: generated version pairs are
 * written as Parquet, DuckDB reads the same files and computes the diff in SQL (EXCEPT ALL for
 * whole-row multisets, IS NOT DISTINCT FROM joins for keys), and every count, every differing
 * row's position and every rendered value must agree.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DuckDBInstance, type DuckDBConnection } from "@duckdb/node-api";
import fc from "fast-check";
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../src/errors.ts";
import { diffFrames, diffRowsPage, statsDrift, type DiffResult, type RowHash } from "../src/frame/diff.ts";

let dir: string;
let duck: DuckDBConnection;
let fileNo = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "diff-test-"));
  duck = await (await DuckDBInstance.create(":memory:")).connect();
});
afterAll(async () => {
  duck.closeSync();
  await rm(dir, { recursive: true, force: true });
});

type Dtype = "Int64" | "Float64" | "String";
interface ColumnSpec {
  name: string;
  dtype: Dtype;
  values: (number | string | null)[];
}

function frameOf(cols: ColumnSpec[]): pl.DataFrame {
  const dt = { Int64: pl.Int64, Float64: pl.Float64, String: pl.String };
  return pl.DataFrame(cols.map((c) => pl.Series(c.name, c.values, dt[c.dtype])));
}

async function parquetOf(cols: ColumnSpec[]): Promise<string> {
  const file = path.join(dir, `v${fileNo++}.parquet`);
  frameOf(cols).writeParquet(file);
  return file;
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
const sqlText = (s: string) => `'${s.replace(/'/g, "''")}'`;

async function rows(sql: string): Promise<Record<string, unknown>[]> {
  return (await duck.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
}
async function count(sql: string): Promise<number> {
  return Number((await rows(`SELECT count(*) AS n FROM (${sql})`))[0]?.n);
}

/** How DuckDB compares one shared column, mirroring the documented rules independently. */
function sharedColumns(from: ColumnSpec[], to: ColumnSpec[]): { name: string; a: string; b: string; distinct: string }[] {
  return from.flatMap((c) => {
    const d = to.find((x) => x.name === c.name);
    if (!d) return [];
    const q = ident(c.name);
    if (c.dtype === d.dtype) return [{ name: c.name, a: `a.${q}`, b: `b.${q}`, distinct: `a.${q} IS DISTINCT FROM b.${q}` }];
    const numeric = (t: Dtype) => t !== "String";
    if (numeric(c.dtype) && numeric(d.dtype)) {
      return [{ name: c.name, a: `a.${q}::DOUBLE`, b: `b.${q}::DOUBLE`, distinct: `a.${q}::DOUBLE IS DISTINCT FROM b.${q}::DOUBLE` }];
    }
    // incomparable: equal only when null in both
    return [{ name: c.name, a: `CASE WHEN a.${q} IS NULL THEN NULL ELSE 'a' END`, b: `CASE WHEN b.${q} IS NULL THEN NULL ELSE 'b' END`, distinct: `NOT (a.${q} IS NULL AND b.${q} IS NULL)` }];
  });
}

const src = (file: string) => `(SELECT *, file_row_number AS _pos FROM read_parquet(${sqlText(file)}, file_row_number = true))`;

/** Positions in `file` given by our diff, as a DuckDB relation. */
function at(file: string, positions: Uint32Array, alias: string): string {
  const list = positions.length === 0 ? "NULL" : Array.from(positions).join(",");
  return `(SELECT * FROM ${src(file)} t WHERE t._pos IN (${list})) ${alias}`;
}

async function checkMultiset(fromFile: string, toFile: string, from: ColumnSpec[], to: ColumnSpec[], result: DiffResult): Promise<void> {
  const shared = sharedColumns(from, to);
  const proj = (side: "a" | "b") => (shared.length === 0 ? "1 AS one" : shared.map((s, i) => `${side === "a" ? s.a : s.b} AS c${i}`).join(", "));
  const A = `SELECT ${proj("a")} FROM ${src(fromFile)} a`;
  const B = `SELECT ${proj("b")} FROM ${src(toFile)} b`;
  const removed = `${A} EXCEPT ALL ${B}`;
  const added = `${B} EXCEPT ALL ${A}`;
  expect(result.rows.removed).toBe(await count(removed));
  expect(result.rows.added).toBe(await count(added));
  expect(result.rows.changed).toBe(0);
  expect(result.rows.unchanged).toBe(from[0] ? from[0].values.length - result.rows.removed : 0);
  // the rows we name are exactly those rows, as multisets
  const oursRemoved = `SELECT ${proj("a")} FROM ${at(fromFile, result.positions.removed, "a")}`;
  const oursAdded = `SELECT ${proj("b")} FROM ${at(toFile, result.positions.added, "b")}`;
  expect(await count(`(${oursRemoved}) EXCEPT ALL (${removed})`)).toBe(0);
  expect(await count(`(${removed}) EXCEPT ALL (${oursRemoved})`)).toBe(0);
  expect(await count(`(${oursAdded}) EXCEPT ALL (${added})`)).toBe(0);
  expect(await count(`(${added}) EXCEPT ALL (${oursAdded})`)).toBe(0);
}

async function checkKeyed(fromFile: string, toFile: string, from: ColumnSpec[], to: ColumnSpec[], key: string[], result: DiffResult): Promise<void> {
  const shared = sharedColumns(from, to);
  const on = key.map((k) => shared.find((s) => s.name === k)).map((s) => `${s?.a} IS NOT DISTINCT FROM ${s?.b}`).join(" AND ");
  const others = shared.filter((s) => !key.includes(s.name));
  const changedCond = others.length === 0 ? "false" : others.map((s) => s.distinct).join(" OR ");
  const added = `SELECT b._pos FROM ${src(toFile)} b WHERE NOT EXISTS (SELECT 1 FROM ${src(fromFile)} a WHERE ${on}) ORDER BY b._pos`;
  const removed = `SELECT a._pos FROM ${src(fromFile)} a WHERE NOT EXISTS (SELECT 1 FROM ${src(toFile)} b WHERE ${on}) ORDER BY a._pos`;
  const matched = `SELECT a._pos AS pa, b._pos AS pb, (${changedCond}) AS changed FROM ${src(fromFile)} a JOIN ${src(toFile)} b ON ${on}`;
  const changed = await rows(`SELECT pa, pb FROM (${matched}) WHERE changed ORDER BY pb`);
  const unchanged = await count(`SELECT * FROM (${matched}) WHERE NOT changed`);
  expect(Array.from(result.positions.added)).toEqual((await rows(added)).map((r) => Number(r._pos)));
  expect(Array.from(result.positions.removed)).toEqual((await rows(removed)).map((r) => Number(r._pos)));
  expect(Array.from(result.positions.changedFrom)).toEqual(changed.map((r) => Number(r.pa)));
  expect(Array.from(result.positions.changedTo)).toEqual(changed.map((r) => Number(r.pb)));
  expect(result.rows).toEqual({ added: result.positions.added.length, removed: result.positions.removed.length, changed: changed.length, unchanged });
}

/** Key tuples that occur more than once in a file (DuckDB's GROUP BY: nulls form one group). */
async function duplicates(file: string, key: string[]): Promise<string[]> {
  const cols = key.map(ident).join(", ");
  const found = await rows(`SELECT to_json(struct_pack(${key.map((k) => `${ident(k)} := ${ident(k)}`).join(", ")}))::VARCHAR AS j FROM read_parquet(${sqlText(file)}) GROUP BY ${cols} HAVING count(*) > 1`);
  return found.map((r) => String(r.j));
}

/** JSON-normalised DuckDB value of one cell as the API renders it (NaN → null, numbers as numbers). */
function canonical(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "string" && /^-?\d+$/.test(v)) return Number(v);
  if (v === "NaN" || v === "Infinity" || v === "-Infinity") return null;
  return v;
}

async function duckRowsAt(file: string, positions: Uint32Array, names: string[]): Promise<Record<string, unknown>[]> {
  if (positions.length === 0) return [];
  const found = await rows(`SELECT _pos, ${names.map(ident).join(", ")} FROM ${src(file)} t WHERE _pos IN (${Array.from(positions).join(",")})`);
  const byPos = new Map(found.map((r) => [Number(r._pos), r]));
  return Array.from(positions, (p) => Object.fromEntries(names.map((n) => [n, canonical(byPos.get(p)?.[n])])));
}

function canonicalRow(row: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, canonical(v)]));
}

async function checkPages(fromLf: pl.LazyDataFrame, toLf: pl.LazyDataFrame, fromFile: string, toFile: string, from: ColumnSpec[], to: ColumnSpec[], result: DiffResult): Promise<void> {
  const limit = 3;
  for (const kind of ["added", "removed", "changed"] as const) {
    const total = kind === "added" ? result.rows.added : kind === "removed" ? result.rows.removed : result.rows.changed;
    const seen: unknown[] = [];
    for (let offset = 0; offset < total; offset += limit) {
      const page = await diffRowsPage(fromLf, toLf, result, kind, offset, limit);
      expect(page.totalRows).toBe(total);
      seen.push(...(JSON.parse(page.rowsJson) as unknown[]));
    }
    expect(seen.length).toBe(total);
    if (kind === "added") expect(seen.map((r) => canonicalRow(r as Record<string, unknown>))).toEqual(await duckRowsAt(toFile, result.positions.added, to.map((c) => c.name)));
    if (kind === "removed") expect(seen.map((r) => canonicalRow(r as Record<string, unknown>))).toEqual(await duckRowsAt(fromFile, result.positions.removed, from.map((c) => c.name)));
    if (kind === "changed") {
      const fromRows = await duckRowsAt(fromFile, result.positions.changedFrom, from.map((c) => c.name));
      const toRows = await duckRowsAt(toFile, result.positions.changedTo, to.map((c) => c.name));
      const shared = sharedColumns(from, to).filter((s) => !result.key.includes(s.name));
      seen.forEach((raw, i) => {
        const r = raw as { key: Record<string, unknown>; from: Record<string, unknown>; to: Record<string, unknown>; columns: string[] };
        expect(canonicalRow(r.from)).toEqual(fromRows[i]);
        expect(canonicalRow(r.to)).toEqual(toRows[i]);
        expect(Object.keys(r.key)).toEqual(result.key);
        expect(r.columns.length).toBeGreaterThan(0);
        expect(r.columns.every((c) => shared.some((s) => s.name === c))).toBe(true);
      });
    }
  }
}

// ---- generators -------------------------------------------------------------------------

const small = fc.oneof(fc.constant(null), fc.integer({ min: 0, max: 4 }));
const word = fc.oneof(fc.constant(null), fc.constantFrom("", "a", "b", "Ä", "a,b", '"q"', "null"));
const float = fc.oneof(fc.constant(null), fc.constantFrom(0, -0, 1.5, -2.25, 1e300, Number.NaN, Number.POSITIVE_INFINITY));

interface Pair {
  from: ColumnSpec[];
  to: ColumnSpec[];
}

/**
 * A version and its successor: rows edited, removed, added, duplicated; columns with a type
 * change (comparable Int64 → Float64, incomparable String → Int64), a rename, an added column.
 */
const versionPair: fc.Arbitrary<Pair> = fc
  .record({
    rows: fc.array(fc.record({ id: small, s: word, v: float, n: small, t: word, old: small }), { maxLength: 14 }),
    edits: fc.array(fc.record({ op: fc.constantFrom("keep", "keep", "keep", "drop", "edit", "dup"), s: word, v: float }), { maxLength: 14 }),
    extra: fc.array(fc.record({ id: small, s: word, v: float, n: small, t: word, old: small }), { maxLength: 4 }),
    nToFloat: fc.boolean(),
    tToInt: fc.boolean(),
    rename: fc.boolean(),
    shuffle: fc.boolean(),
  })
  .map(({ rows, edits, extra, nToFloat, tToInt, rename, shuffle }) => {
    const next: typeof rows = [];
    rows.forEach((r, i) => {
      const e = edits[i] ?? { op: "keep", s: null, v: null };
      if (e.op === "drop") return;
      if (e.op === "edit") next.push({ ...r, s: e.s, v: e.v });
      else next.push(r);
      if (e.op === "dup") next.push(r);
    });
    next.push(...extra);
    if (shuffle) next.reverse();
    const from: ColumnSpec[] = [
      { name: "id", dtype: "Int64", values: rows.map((r) => r.id) },
      { name: "s", dtype: "String", values: rows.map((r) => r.s) },
      { name: "v", dtype: "Float64", values: rows.map((r) => r.v) },
      { name: "n", dtype: "Int64", values: rows.map((r) => r.n) },
      { name: "t", dtype: "String", values: rows.map((r) => r.t) },
      { name: "old", dtype: "Int64", values: rows.map((r) => r.old) },
    ];
    const to: ColumnSpec[] = [
      { name: "id", dtype: "Int64", values: next.map((r) => r.id) },
      { name: "s", dtype: "String", values: next.map((r) => r.s) },
      { name: "v", dtype: "Float64", values: next.map((r) => r.v) },
      { name: "n", dtype: nToFloat ? "Float64" : "Int64", values: next.map((r) => r.n) },
      { name: "t", dtype: tToInt ? "Int64" : "String", values: next.map((r) => (tToInt ? (r.t === null ? null : r.t.length) : r.t)) },
      { name: rename ? "new" : "old", dtype: "Int64", values: next.map((r) => r.old) },
      { name: "added", dtype: "String", values: next.map(() => "x") },
    ];
    return { from, to };
  });

const keyChoice = fc.constantFrom<string[]>(["id"], ["id", "s"], ["n"], ["s", "id"]);

/** Unique keys of every shape the fast paths take, version pairs in key order, in one other order, or reordered. */
const shapes = ["int", "wide", "double", "text", "pair"] as const;
const keyedPair = fc
  .record({
    n: fc.integer({ min: 0, max: 14 }),
    shape: fc.constantFrom(...shapes),
    order: fc.constantFrom("key", "same", "reordered"),
    ops: fc.array(fc.constantFrom("keep", "keep", "drop", "edit"), { minLength: 14, maxLength: 14 }),
    cells: fc.array(fc.record({ s: word, v: float, s2: word, v2: float }), { minLength: 18, maxLength: 18 }),
    extra: fc.integer({ min: 0, max: 4 }),
  })
  .map(({ n, shape, order, ops, cells, extra }) => {
    // key of row r: increasing in r for the numeric shapes
    const keyOf = (r: number, side: "from" | "to"): (number | string)[] => {
      if (shape === "int") return [r * 3 - 10];
      if (shape === "wide") return [2 ** 40 + (r - 7) * 2 ** 33 + r];
      if (shape === "double") return [r === 4 ? (side === "to" ? -0 : 0) : (r - 4) * 0.75];
      if (shape === "text") return [`k${r}${r % 2 === 0 ? "é" : ""}`];
      return [r % 3, Math.floor(r / 3)];
    };
    type Row = { r: number; s: string | null; v: number | null };
    const rows: Row[] = Array.from({ length: n }, (_, r) => ({ r, s: cells[r]?.s ?? null, v: cells[r]?.v ?? null }));
    let next: Row[] = rows.flatMap((row) => {
      const op = ops[row.r];
      const c = cells[row.r];
      if (op === "drop") return [];
      return [op === "edit" && c ? { ...row, s: c.s2, v: c.v2 } : row];
    });
    next.push(...Array.from({ length: extra }, (_, k) => ({ r: n + k, s: cells[n + k]?.s ?? null, v: cells[n + k]?.v ?? null })));
    let first = rows;
    if (order === "same") {
      first = [...rows].reverse();
      next = [...next].reverse();
    } else if (order === "reordered") next = [...next].reverse();
    const keyNames = shape === "pair" ? ["g", "h"] : ["k"];
    const keyType: Dtype = shape === "double" ? "Float64" : shape === "text" ? "String" : "Int64";
    const side = (rs: Row[], which: "from" | "to"): ColumnSpec[] => [
      ...keyNames.map((name, j) => ({ name, dtype: keyType, values: rs.map((row) => keyOf(row.r, which)[j] as number | string) })),
      { name: "s", dtype: "String" as Dtype, values: rs.map((row) => row.s) },
      { name: "v", dtype: "Float64" as Dtype, values: rs.map((row) => row.v) },
    ];
    return { from: side(first, "from"), to: side(next, "to"), key: keyNames };
  });

describe("diff against DuckDB on generated version pairs", () => {
  it("whole-row multisets match DuckDB's EXCEPT ALL both ways, row by row", async () => {
    await fc.assert(
      fc.asyncProperty(versionPair, async ({ from, to }) => {
        const [fromFile, toFile] = await Promise.all([parquetOf(from), parquetOf(to)]);
        const fromLf = pl.scanParquet(fromFile);
        const toLf = pl.scanParquet(toFile);
        const result = await diffFrames(fromLf, toLf);
        await checkMultiset(fromFile, toFile, from, to, result);
        await checkPages(fromLf, toLf, fromFile, toFile, from, to, result);
      }),
      { numRuns: 60 },
    );
  });

  it("keyed diffs match DuckDB's IS NOT DISTINCT FROM joins, and duplicate keys are refused naming one", async () => {
    let refused = 0;
    let compared = 0;
    await fc.assert(
      fc.asyncProperty(versionPair, keyChoice, async ({ from, to }, key) => {
        const [fromFile, toFile] = await Promise.all([parquetOf(from), parquetOf(to)]);
        const fromLf = pl.scanParquet(fromFile);
        const toLf = pl.scanParquet(toFile);
        const dupFrom = await duplicates(fromFile, key);
        const dupTo = await duplicates(toFile, key);
        if (dupFrom.length > 0 || dupTo.length > 0) {
          refused++;
          const err = await diffFrames(fromLf, toLf, key, { from: "1", to: "2" }).then(() => null, (e: unknown) => e);
          expect(err).toBeInstanceOf(ApiError);
          const api = err as ApiError;
          expect(api.status).toBe(400);
          const named = JSON.stringify(api.extra.duplicate);
          const pool = api.extra.version === 1 ? dupFrom : dupTo;
          expect(pool.map((j) => JSON.stringify(canonicalRow(JSON.parse(j) as Record<string, unknown>)))).toContain(JSON.stringify(canonicalRow(JSON.parse(named) as Record<string, unknown>)));
          return;
        }
        compared++;
        const result = await diffFrames(fromLf, toLf, key);
        await checkKeyed(fromFile, toFile, from, to, key, result);
        await checkPages(fromLf, toLf, fromFile, toFile, from, to, result);
      }),
      { numRuns: 80 },
    );
    // both branches must have been exercised, or the property proved little
    expect(refused).toBeGreaterThan(0);
    expect(compared).toBeGreaterThan(0);
  });

  it("versions stored in key order (the merge path: one numeric key, strictly ascending) match DuckDB too", async () => {
    const sortedPair = fc
      .record({
        ids: fc.uniqueArray(fc.integer({ min: -20, max: 20 }), { maxLength: 14 }),
        cells: fc.array(fc.record({ s: word, v: float, n: small, op: fc.constantFrom("keep", "keep", "drop", "edit"), s2: word, v2: float }), { minLength: 14, maxLength: 14 }),
        extra: fc.uniqueArray(fc.integer({ min: 21, max: 40 }), { maxLength: 4 }),
        keyTypes: fc.constantFrom<[Dtype, Dtype]>(["Int64", "Int64"], ["Int64", "Float64"], ["Float64", "Float64"], ["Float64", "Int64"]),
        nToFloat: fc.boolean(),
      })
      .map(({ ids, cells, extra, keyTypes, nToFloat }) => {
        const rows = [...ids].sort((a, b) => a - b).map((id, i) => ({ id, ...(cells[i] as (typeof cells)[number]) }));
        const next = rows.flatMap((r) => (r.op === "drop" ? [] : [r.op === "edit" ? { ...r, s: r.s2, v: r.v2 } : r]));
        next.push(...[...extra].sort((a, b) => a - b).map((id, i) => ({ id, ...(cells[i] as (typeof cells)[number]) })));
        const side = (rs: typeof rows, keyType: Dtype, nType: Dtype): ColumnSpec[] => [
          { name: "id", dtype: keyType, values: rs.map((r) => r.id) },
          { name: "s", dtype: "String", values: rs.map((r) => r.s) },
          { name: "v", dtype: "Float64", values: rs.map((r) => r.v) },
          { name: "n", dtype: nType, values: rs.map((r) => r.n) },
        ];
        return { from: side(rows, keyTypes[0], "Int64"), to: side(next, keyTypes[1], nToFloat ? "Float64" : "Int64") };
      });
    await fc.assert(
      fc.asyncProperty(sortedPair, async ({ from, to }) => {
        const [fromFile, toFile] = await Promise.all([parquetOf(from), parquetOf(to)]);
        const fromLf = pl.scanParquet(fromFile);
        const toLf = pl.scanParquet(toFile);
        const result = await diffFrames(fromLf, toLf, ["id"]);
        await checkKeyed(fromFile, toFile, from, to, ["id"], result);
        await checkPages(fromLf, toLf, fromFile, toFile, from, to, result);
      }),
      { numRuns: 60 },
    );
  });

  it("every key shape the fast paths take (one integer key within and beyond Int32, double keys with -0.0, text, two columns; in key order, in the same other order, reordered) matches DuckDB", async () => {
    await fc.assert(
      fc.asyncProperty(keyedPair, async ({ from, to, key }) => {
        const [fromFile, toFile] = await Promise.all([parquetOf(from), parquetOf(to)]);
        const fromLf = pl.scanParquet(fromFile);
        const toLf = pl.scanParquet(toFile);
        const result = await diffFrames(fromLf, toLf, key);
        await checkKeyed(fromFile, toFile, from, to, key, result);
        await checkPages(fromLf, toLf, fromFile, toFile, from, to, result);
      }),
      { numRuns: 100 },
    );
  });

  // weak hashes (equal values still hash alike, as the fast paths need): most rows of a version
  // share one of 4 (or 16) hashes with rows that differ
  const modulo = (m: number): RowHash => (values) => pl.DataFrame([values.hashRows(1, 2, 3, 4).alias("h")]).select(pl.col("h").modulo(pl.lit(m).cast(pl.UInt64))).getColumn("h");
  const weakHashes = { mod4: modulo(4), mod16: modulo(16) };

  it("whole-row multisets stay exact when row hashes collide (the confirmation fails and the exact join answers)", async () => {
    for (const rowHash of Object.values(weakHashes)) {
      await fc.assert(
        fc.asyncProperty(versionPair, async ({ from, to }) => {
          const [fromFile, toFile] = await Promise.all([parquetOf(from), parquetOf(to)]);
          const result = await diffFrames(pl.scanParquet(fromFile), pl.scanParquet(toFile), [], undefined, { rowHash });
          await checkMultiset(fromFile, toFile, from, to, result);
        }),
        { numRuns: 30 },
      );
    }
  });

  it("keyed diffs stay exact when key hashes collide, and repeated keys are still refused", async () => {
    for (const rowHash of Object.values(weakHashes)) {
      await fc.assert(
        fc.asyncProperty(keyedPair, async ({ from, to, key }) => {
          const [fromFile, toFile] = await Promise.all([parquetOf(from), parquetOf(to)]);
          const result = await diffFrames(pl.scanParquet(fromFile), pl.scanParquet(toFile), key, undefined, { rowHash });
          await checkKeyed(fromFile, toFile, from, to, key, result);
        }),
        { numRuns: 40 },
      );
      await fc.assert(
        fc.asyncProperty(versionPair, keyChoice, async ({ from, to }, key) => {
          const [fromFile, toFile] = await Promise.all([parquetOf(from), parquetOf(to)]);
          const repeated = (await duplicates(fromFile, key)).length + (await duplicates(toFile, key)).length > 0;
          const run = diffFrames(pl.scanParquet(fromFile), pl.scanParquet(toFile), key, { from: "1", to: "2" }, { rowHash });
          if (repeated) await expect(run).rejects.toMatchObject({ status: 400 });
          else await checkKeyed(fromFile, toFile, from, to, key, await run);
        }),
        { numRuns: 40 },
      );
    }
  });


  it("a key hash shared by different keys of the two versions is caught by the key comparison", async () => {
    // hash = the key's length: unique within each version, but "bb" (removed) and "xx" (added) collide
    const byLength: RowHash = (values) => values.select(pl.all().str.lengths().cast(pl.UInt64).alias("h")).getColumn("h");
    const from = await parquetOf([{ name: "k", dtype: "String", values: ["a", "bb", "ccc"] }, { name: "x", dtype: "Int64", values: [1, 2, 3] }]);
    const to = await parquetOf([{ name: "k", dtype: "String", values: ["a", "xx", "ccc"] }, { name: "x", dtype: "Int64", values: [1, 2, 4] }]);
    const result = await diffFrames(pl.scanParquet(from), pl.scanParquet(to), ["k"], undefined, { rowHash: byLength });
    expect(result.rows).toEqual({ added: 1, removed: 1, changed: 1, unchanged: 1 });
    expect([Array.from(result.positions.added), Array.from(result.positions.removed), Array.from(result.positions.changedTo)]).toEqual([[1], [1], [2]]);
  });

  it("unique keys with nulls: a null key matches the null key of the other version", async () => {
    const from = await parquetOf([{ name: "id", dtype: "Int64", values: [1, null, 3] }, { name: "x", dtype: "String", values: ["a", "n", "c"] }]);
    const to = await parquetOf([{ name: "id", dtype: "Int64", values: [null, 3, 4] }, { name: "x", dtype: "String", values: ["N", "c", "d"] }]);
    const result = await diffFrames(pl.scanParquet(from), pl.scanParquet(to), ["id"]);
    expect(result.rows).toEqual({ added: 1, removed: 1, changed: 1, unchanged: 1 });
    const page = JSON.parse((await diffRowsPage(pl.scanParquet(from), pl.scanParquet(to), result, "changed", 0, 10)).rowsJson) as unknown;
    expect(page).toEqual([{ key: { id: null }, from: { id: null, x: "n" }, to: { id: null, x: "N" }, columns: ["x"] }]);
  });
});

describe("diff semantics", () => {
  const lf = (cols: Record<string, pl.Series>) => pl.DataFrame(Object.values(cols)).lazy();

  it("reports the schema: added, removed and type-changed columns in version order", async () => {
    const a = lf({ id: pl.Series("id", [1, 2], pl.Int64), price: pl.Series("price", [1, 2], pl.Int64), gone: pl.Series("gone", ["x", "y"]) });
    const b = lf({ id: pl.Series("id", [1, 2], pl.Int64), price: pl.Series("price", [1, 2.5], pl.Float64), fresh: pl.Series("fresh", [true, false]) });
    const r = await diffFrames(a, b, ["id"]);
    expect(r.schema).toEqual({ added: [{ name: "fresh", dtype: "Boolean" }], removed: [{ name: "gone", dtype: "String" }], changed: [{ name: "price", from: "Int64", to: "Float64" }] });
    // Int64 1 equals Float64 1.0; 2 vs 2.5 is a change
    expect(r.rows).toEqual({ added: 0, removed: 0, changed: 1, unchanged: 1 });
  });

  it("columns named like internal ones, wildcards and regexes are compared as data", async () => {
    const names = ["_ia", "_ib", "_kind", "*", "^a.*$", "b0", "a1", "0"];
    const a = pl.DataFrame(names.map((n, i) => pl.Series(n, [i, i + 1, i + 2], pl.Int64))).lazy();
    const b = pl.DataFrame(names.map((n, i) => pl.Series(n, [i, i + 1, n === "*" ? 99 : i + 2], pl.Int64))).lazy();
    const keyed = await diffFrames(a, b, ["_ia"]);
    expect(keyed.rows).toEqual({ added: 0, removed: 0, changed: 1, unchanged: 2 });
    const page = JSON.parse((await diffRowsPage(a, b, keyed, "changed", 0, 5)).rowsJson) as { key: unknown; columns: string[]; to: Record<string, unknown> }[];
    expect(page[0]?.columns).toEqual(["*"]);
    expect(page[0]?.key).toEqual({ _ia: 2 });
    expect(Object.keys(page[0]?.to ?? {})).toEqual(["0", ...names.filter((n) => n !== "0")]); // JS object order; the JSON text keeps file order:
    expect((await diffRowsPage(a, b, keyed, "changed", 0, 5)).rowsJson).toContain(`"to":{"_ia":2,"_ib":3,"_kind":4,"*":99,`);
    expect((await diffFrames(a, b)).rows).toEqual({ added: 1, removed: 1, changed: 0, unchanged: 2 });
  });

  it("sorted integer keys beyond 2^53 are matched exactly (not as doubles)", async () => {
    const big = 2n ** 53n;
    const frame = (ids: bigint[], xs: string[]) => pl.DataFrame([pl.Series("id", ids.map(String), pl.String).cast(pl.Int64), pl.Series("x", xs, pl.String)]).lazy();
    const result = await diffFrames(frame([big + 1n, big + 2n, big + 5n], ["a", "b", "c"]), frame([big + 1n, big + 3n, big + 5n], ["a", "b", "C"]), ["id"]);
    expect(result.rows).toEqual({ added: 1, removed: 1, changed: 1, unchanged: 1 });
    expect(Array.from(result.positions.added)).toEqual([1]);
    expect(Array.from(result.positions.removed)).toEqual([1]);
    expect([Array.from(result.positions.changedFrom), Array.from(result.positions.changedTo)]).toEqual([[2], [2]]);
  });

  it("refuses bad keys in our words", async () => {
    const a = lf({ id: pl.Series("id", [1], pl.Int64), s: pl.Series("s", ["1"]) });
    const b = lf({ id: pl.Series("id", ["1"], pl.String), s: pl.Series("s", ["1"]), z: pl.Series("z", [1]) });
    await expect(diffFrames(a, b, ["nope"])).rejects.toThrow(/Key column "nope" is not in either version/);
    await expect(diffFrames(a, b, ["z"])).rejects.toThrow(/not in the older version \(from\)/);
    await expect(diffFrames(a, b, ["id"])).rejects.toThrow(/changed type from Int64 to String/);
    await expect(diffFrames(a, b, ["s", "s"])).rejects.toThrow(/listed twice/);
  });

  it("zero rows and zero shared columns", async () => {
    const empty = lf({ id: pl.Series("id", [], pl.Int64) });
    const three = lf({ id: pl.Series("id", [1, 2, 3], pl.Int64) });
    expect((await diffFrames(empty, three, ["id"])).rows).toEqual({ added: 3, removed: 0, changed: 0, unchanged: 0 });
    expect((await diffFrames(three, empty)).rows).toEqual({ added: 0, removed: 3, changed: 0, unchanged: 0 });
    const other = lf({ q: pl.Series("q", ["a", "b"]) });
    // nothing shared: every row is equal on no columns, so only the count differs
    expect((await diffFrames(three, other)).rows).toEqual({ added: 0, removed: 1, changed: 0, unchanged: 2 });
  });

  it("stats drift pairs the shared columns' figures", () => {
    const drift = statsDrift(
      { columns: [{ name: "p", dtype: "Float64", count: 3, nullCount: 0, distinctCount: 3, mean: 2, min: 1, max: 3 }, { name: "gone", dtype: "String", count: 1, nullCount: 0, distinctCount: 1 }] },
      { columns: [{ name: "p", dtype: "Float64", count: 2, nullCount: 1, distinctCount: 2, mean: 2.5, min: 2, max: 3 }] },
    );
    expect(drift).toEqual([{ name: "p", nullCount: [0, 1], distinctCount: [3, 2], mean: [2, 2.5], min: [1, 2], max: [3, 3] }]);
  });
});
