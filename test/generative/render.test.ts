/**
 * Generative: every type DuckDB writes to Parquet, read by Polars, rendered as pages by both
 * render paths (Polars' JSON writer fast path and the per-cell fragments), eagerly from the frame
 * and lazily from the file, as objects and as arrays. The same value must render the same text
 * whatever else is on the page, and that text must be the value computed here in plain JS.
 */
import fc from "fast-check";
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exactRowsJson, readPage } from "../../src/frame/page.ts";
import { lazyOf } from "../../src/frame/safe.ts";
import { versionOf } from "../frame-helpers.ts";
import { openDuck, type Duck } from "./duck.ts";
import { cellTexts, params, TIMEOUT, PARQUET_TYPES, sameCell, tableOf } from "./tables.ts";

let duck: Duck;
beforeAll(async () => {
  duck = await openDuck();
});
afterAll(() => duck.close());

describe("generated Parquet tables render exactly on every path", () => {
  it("pages: writer = fragments = eager = lazy, objects and arrays, each value as computed in JS", async () => {
    await fc.assert(
      fc.asyncProperty(tableOf(PARQUET_TYPES, { maxColumns: 6, maxRows: 12 }), fc.nat(5), fc.integer({ min: 1, max: 12 }), async (t, offset, limit) => {
        const file = await duck.write(t, "parquet", "render");
        const lf = pl.scanParquet(file, { glob: false, hivePartitioning: false });
        const df = await lf.collect();
        const v = versionOf(df, "gen-render");
        expect(v.columns.map((c) => [c.name, c.dtype])).toEqual(t.columns.map((c) => [c.name, c.type.dtype]));
        const q = { offset, limit };
        const arrays = await readPage(lazyOf(df), v, q, "arrays", df);
        const objects = await readPage(lazyOf(df), v, q, "objects", df);
        // the lazy path (cold versions), and the reference per-cell path
        expect((await readPage(lf, v, q, "arrays")).rowsJson).toBe(arrays.rowsJson);
        expect((await readPage(lf, v, q, "objects")).rowsJson).toBe(objects.rowsJson);
        expect(await exactRowsJson(lf, v, q, "arrays")).toBe(arrays.rowsJson);
        expect(await exactRowsJson(lf, v, q, "objects")).toBe(objects.rowsJson);

        // values as computed in JS
        const rows = JSON.parse(arrays.rowsJson) as unknown[][];
        const want = t.columns.length === 0 ? 0 : Math.max(0, Math.min(limit, t.rows - offset));
        expect(rows).toHaveLength(want);
        rows.forEach((row, r) =>
          t.columns.forEach((c, k) => {
            const value = c.values[offset + r] ?? null;
            if (!sameCell(c.type, row[k], value)) expect.fail(`${c.type.dtype} ${JSON.stringify(c.name)} row ${offset + r}: got ${JSON.stringify(row[k])}, want ${JSON.stringify(value === null ? null : c.type.expected(value), (_, x: unknown) => (typeof x === "bigint" ? `${x}n` : x))}`);
          }),
        );
        // the same value renders the same text whatever else is on the page: each column alone
        const full = cellTexts(arrays.rowsJson);
        for (const [k, c] of t.columns.entries()) {
          const alone = cellTexts((await readPage(lazyOf(df), v, { ...q, columns: [c.name] }, "arrays", df)).rowsJson);
          expect(alone.map((r) => r[0])).toEqual(full.map((r) => r[k]));
        }
        // object keys keep the column order (integer-like names are not moved first)
        const keys = [...objects.rowsJson.matchAll(/^\[\{((?:"(?:[^"\\]|\\.)*")):/g)].map((m) => JSON.parse(m[1] as string) as string);
        if (rows.length > 0) expect(keys[0]).toBe(t.columns[0]?.name);
      }),
      params(60),
    );
  }, TIMEOUT);
});
