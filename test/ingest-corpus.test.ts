/**
 * Smoke walk over csv-spectrum in the shared third-party corpus (skipped when ../shared/corpus is
 * absent): every file, read with all columns forced to String, gives exactly the expected JSON.
 * Unquoted empty fields are null by our rule; csv-spectrum writes them as "", so null compares as "".
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { inspectUpload, parseUpload } from "../src/ingest/index.ts";
import { columnsOf, LIMITS, opts, rowsOf } from "./ingest-helpers.ts";

const SPECTRUM = path.resolve(import.meta.dirname, "..", "..", "shared", "corpus", "csv-spectrum");
const present = existsSync(SPECTRUM);

describe.skipIf(!present)("csv-spectrum (shared corpus)", () => {
  const files = present ? readdirSync(path.join(SPECTRUM, "csvs")).filter((f) => f.endsWith(".csv")) : [];
  for (const file of files) {
    it(`reads ${file} exactly as its expected JSON`, async () => {
      const p = path.join(SPECTRUM, "csvs", file);
      const upload = { path: p, originalName: file, sizeBytes: statSync(p).size };
      const expected = JSON.parse(readFileSync(path.join(SPECTRUM, "json", file.replace(/\.csv$/, ".json")), "utf8")) as Record<string, string>[];
      const names = (await inspectUpload(upload, opts(), LIMITS)).columns.map((c) => c.name);
      const { frame } = await parseUpload(upload, opts({ schema: Object.fromEntries(names.map((n) => [n, "String" as const])) }), LIMITS);
      const cols = columnsOf(frame).map((c) => c.name);
      const rows = (await rowsOf(frame)).map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i] ?? ""])));
      expect(rows).toEqual(expected);
    });
  }
});
