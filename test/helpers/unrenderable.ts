/**
 * Files whose values Polars' temporal formatter cannot render (it panics in a function that
 * cannot unwind, aborting the process): the crash cases of issue 11. Written without formatting
 * anything, so writing them is safe. `node test/helpers/unrenderable.ts <dir>` writes them all.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import pl from "nodejs-polars";
import XLSX from "xlsx";

export interface UnrenderableFile {
  name: string;
  path: string;
  /** The column the service must name in its 422. */
  column: string;
  /** 1-based data row holding the value. */
  row: number;
  what: string;
}

/** A Parquet file with one bad column next to good ones (second row holds the bad value). */
function parquetWith(file: string, bad: pl.Series): void {
  const df = pl.DataFrame([pl.Series("id", [1, 2], pl.Int64), pl.Series("label", ["ok", "bad"], pl.String), bad]);
  df.writeParquet(file, { compression: "zstd" });
}

export function writeUnrenderable(dir: string): UnrenderableFile[] {
  mkdirSync(dir, { recursive: true });
  const out: UnrenderableFile[] = [];
  const add = (name: string, column: string, row: number, what: string, write: (file: string) => void) => {
    const file = path.join(dir, name);
    write(file);
    out.push({ name, path: file, column, row, what });
  };
  add("far-date.parquet", "d", 2, "a Date of 100,000,000 days", (f) => parquetWith(f, pl.Series("d", [1, 100_000_000], pl.Int32).cast(pl.Date)));
  add("far-datetime.parquet", "t", 2, "a Datetime(us) of 9e18 µs", (f) => parquetWith(f, pl.Series("t", ["0", "9000000000000000000"], pl.Utf8).cast(pl.Int64).cast(pl.Datetime("us"))));
  add("far-past-datetime-ms.parquet", "t", 2, "a Datetime(ms) of -9e15 ms", (f) => parquetWith(f, pl.Series("t", ["0", "-9000000000000000"], pl.Utf8).cast(pl.Int64).cast(pl.Datetime("ms"))));
  add("far-date.xlsx", "when", 2, "an Excel cell 100000000 formatted as a date", (f) => {
    const sheet = XLSX.utils.aoa_to_sheet([["id", "when"], [1, { t: "n", v: 45000, z: "yyyy-mm-dd" }], [2, { t: "n", v: 100_000_000, z: "yyyy-mm-dd" }]]);
    const book = XLSX.utils.book_new();
    XLSX.utils.book_append_sheet(book, sheet, "data");
    XLSX.writeFile(book, f);
  });
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const f of writeUnrenderable(process.argv[2] ?? ".")) console.log(`${f.path}\t${f.what}`);
}
