/**
 * Generative: filters and sorts on generated Parquet tables against the documented rule computed
 * here in JS (typed comparison; null and NaN match no comparison, `isnull` finds both; sorts are
 * stable with nulls and NaN last), on the eager and the lazy page path, and the filtered
 * statistics' row count.
 */
import fc from "fast-check";
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readPage } from "../../src/frame/page.ts";
import { parseFilters, parseSort } from "../../src/frame/query.ts";
import { lazyOf } from "../../src/frame/safe.ts";
import { computeStats } from "../../src/frame/stats.ts";
import { versionOf } from "../frame-helpers.ts";
import { openDuck, type Duck } from "./duck.ts";
import { params, PARQUET_TYPES, TIMEOUT, type Cell, type ColumnType, type GenTable } from "./tables.ts";

let duck: Duck;
beforeAll(async () => {
  duck = await openDuck();
});
afterAll(() => duck.close());

const byName = (name: string) => PARQUET_TYPES.find((t) => t.dtype === name) as ColumnType;
const FILTERABLE = ["Int8", "Int64", "UInt64", "Float32", "Float64", "Decimal(38, 10)", "Decimal(10, 2)", "String", "Boolean", "Date", "Datetime(us)", "Datetime(ns)", "Time"].map(byName);
const OPS = ["eq", "ne", "gt", "gte", "lt", "lte", "in", "isnull", "notnull"] as const;

/** A comparable JS key of a value: bigint for integers, decimals, temporal units; numbers; strings. */
function key(type: ColumnType, v: Cell): bigint | number | string | boolean {
  if (type.kind === "temporal" && typeof v === "number") return BigInt(v);
  return v as bigint | number | string | boolean;
}

/** The filter literal text of a value (what a client would type). */
function literal(type: ColumnType, v: Cell): string {
  if (type.kind === "float") return String(v);
  if (type.kind === "temporal" || type.kind === "time" || type.kind === "decimal") return String(type.expected(v));
  return String(v);
}

const cmp = (a: bigint | number | string | boolean, b: bigint | number | string | boolean): number => {
  if (typeof a === "string" && typeof b === "string") return Buffer.compare(Buffer.from(a), Buffer.from(b));
  return a < b ? -1 : a > b ? 1 : 0;
};

function matches(type: ColumnType, op: (typeof OPS)[number], v: Cell | null, lits: Cell[]): boolean {
  const missing = v === null || (typeof v === "number" && Number.isNaN(v));
  if (op === "isnull") return missing;
  if (op === "notnull") return !missing;
  if (missing) return false;
  const c = (l: Cell) => cmp(key(type, v), key(type, l));
  switch (op) {
    case "eq":
      return c(lits[0]) === 0;
    case "ne":
      return c(lits[0]) !== 0;
    case "gt":
      return c(lits[0]) > 0;
    case "gte":
      return c(lits[0]) >= 0;
    case "lt":
      return c(lits[0]) < 0;
    case "lte":
      return c(lits[0]) <= 0;
    default:
      return lits.some((l) => c(l) === 0);
  }
}

const table: fc.Arbitrary<{ t: GenTable; col: number; op: (typeof OPS)[number]; lits: Cell[]; desc: boolean }> = fc
  .record({ types: fc.array(fc.constantFrom(...FILTERABLE), { minLength: 1, maxLength: 3 }), rows: fc.integer({ min: 0, max: 30 }) })
  .chain(({ types, rows }) =>
    fc
      .tuple(...types.map((type) => fc.array(fc.option(type.value, { nil: null, freq: 5 }), { minLength: rows, maxLength: rows })))
      .chain((cols) => {
        const t: GenTable = { rows, columns: types.map((type, k) => ({ name: `c${k}_${type.dtype.replace(/[^A-Za-z0-9]+/g, "_")}`, type, values: cols[k] as (Cell | null)[] })) };
        return fc.record({
          t: fc.constant(t),
          col: fc.integer({ min: 0, max: types.length - 1 }),
          op: fc.constantFrom(...OPS),
          desc: fc.boolean(),
          seed: fc.nat(),
        });
      })
      .chain(({ t, col, op, desc }) => {
        const c = t.columns[col] as GenTable["columns"][number];
        const present = c.values.filter((v): v is Cell => v !== null && !(typeof v === "number" && Number.isNaN(v)));
        // literals: values of the column (so eq finds something) or fresh ones; never NaN (not a filter value)
        const value = present.length > 0 ? fc.oneof(fc.constantFrom(...present), c.type.value) : c.type.value;
        const lit = value.filter((v) => !(typeof v === "number" && !Number.isFinite(v)));
        return fc.record({ t: fc.constant(t), col: fc.constant(col), op: fc.constant(op), desc: fc.constant(desc), lits: fc.array(lit, { minLength: 1, maxLength: op === "in" ? 4 : 1 }) });
      }),
  );

describe("generated filters and sorts", () => {
  it("select the rows the documented rule selects, in the documented order", async () => {
    await fc.assert(
      fc.asyncProperty(table, async ({ t, col, op, lits, desc }) => {
        const c = t.columns[col] as GenTable["columns"][number];
        // Booleans take only eq/ne/in/isnull/notnull-like comparisons through true/false text
        const file = await duck.write({ rows: t.rows, columns: [{ name: "id", type: byName("Int64"), values: Array.from({ length: t.rows }, (_, i) => BigInt(i)) }, ...t.columns] }, "parquet", "filters");
        const lf = pl.scanParquet(file, { glob: false, hivePartitioning: false });
        const df = await lf.collect();
        const v = versionOf(df, "gen-filters");
        const raw = op === "isnull" || op === "notnull" ? `${c.name}:${op}` : `${c.name}:${op}:${lits.map((l) => literal(c.type, l)).join("|")}`;
        const filters = parseFilters([raw], v);
        const want = c.values.flatMap((x, i) => (matches(c.type, op, x, lits) ? [i] : []));
        // sort the matching rows by the filtered column: stable, nulls and NaN last
        const missing = (x: Cell | null) => x === null || (typeof x === "number" && Number.isNaN(x));
        const order = [...want].sort((a, b) => {
          const [x, y] = [c.values[a] ?? null, c.values[b] ?? null];
          if (missing(x) || missing(y)) return missing(x) === missing(y) ? a - b : missing(x) ? 1 : -1;
          const d = cmp(key(c.type, x), key(c.type, y));
          return d === 0 ? a - b : desc ? -d : d;
        });
        const sort = parseSort(`${desc ? "-" : ""}${c.name}`, v);
        for (const frame of [df, undefined]) {
          const page = await readPage(frame ? lazyOf(df) : lf, v, { offset: 0, limit: 1000, columns: ["id"], filters }, "arrays", frame);
          const got = (JSON.parse(page.rowsJson) as [number][]).map((r) => r[0]);
          if (JSON.stringify(got) !== JSON.stringify(want)) expect.fail(`${raw}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
          expect(page.totalRows).toBe(want.length);
          const sorted = await readPage(frame ? lazyOf(df) : lf, v, { offset: 0, limit: 1000, columns: ["id"], filters, sort }, "arrays", frame);
          const gotOrder = (JSON.parse(sorted.rowsJson) as [number][]).map((r) => r[0]);
          if (JSON.stringify(gotOrder) !== JSON.stringify(order)) expect.fail(`${raw} sort ${desc ? "-" : ""}: got ${JSON.stringify(gotOrder)}, want ${JSON.stringify(order)}`);
        }
        expect((await computeStats(lazyOf(df), v, filters)).rowCount).toBe(want.length);
      }),
      params(60),
    );
  }, TIMEOUT);
});
