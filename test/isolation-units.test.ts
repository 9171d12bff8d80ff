/**
 * The pieces isolation rests on, against independent oracles: the render proof's calendar maths
 * (JS Date), its range checks at the edges, column descriptions (frame/dtype.ts), checksums
 * (node:crypto over the whole file) and the footer-guided byte ranges of a cold slice (DuckDB's
 * parquet_metadata).
 */
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, open, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DuckDBInstance } from "@duckdb/node-api";
import pl from "nodejs-polars";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiError } from "../src/errors.ts";
import { describeColumns } from "../src/frame/dtype.ts";
import { checkValueRanges, daysFromCivil, MAX_DAYS, MIN_DAYS, proveRenderable, yearOfDays } from "../src/ingest/renderable.ts";
import { blocksCovering, checksumFile, checksumFileSync, VerifiedFile } from "../src/storage/checksum.ts";
import { columnsOf } from "../src/storage/data-file.ts";
import { footerRange, rangesForRows, readLayout, tailRange } from "../src/storage/parquet-ranges.ts";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "ds-isolation-units-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function refusal(fn: () => void): ApiError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error("expected a refusal");
}

const physical = (name: string, values: string[], dtype: pl.DataType) => pl.Series(name, values, pl.Utf8).cast(pl.Int64).cast(dtype);

describe("render proof: calendar", () => {
  it("converts between day numbers and years like JS Date across its whole range", () => {
    // generated days (a fixed-seed LCG) plus the edges: every one agrees with JS Date
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const days = [0, -1, 1, 59, 60, -719_468, MIN_DAYS, MAX_DAYS, 100_000_000, -100_000_000, ...Array.from({ length: 5000 }, () => Math.round((next() * 2 - 1) * 100_000_000))];
    for (const d of days) {
      const date = new Date(d * 86_400_000);
      expect([d, yearOfDays(d)]).toEqual([d, date.getUTCFullYear()]);
      expect(daysFromCivil(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate())).toBe(d);
    }
  });
});

describe("render proof: range checks", () => {
  it("accepts the first and last day of the handled range and refuses one day beyond, naming column and row", () => {
    checkValueRanges(pl.DataFrame([pl.Series("d", [MIN_DAYS, 0, MAX_DAYS], pl.Int32).cast(pl.Date)]));
    const late = refusal(() => checkValueRanges(pl.DataFrame([pl.Series("ok", [1, 2, 3]), pl.Series("d", [0, MAX_DAYS + 1, 5], pl.Int32).cast(pl.Date)])));
    expect(late).toMatchObject({ status: 422, code: "UNPARSEABLE_FILE", extra: { column: "d", row: 2 } });
    expect(late.message).toContain("year 100,000");
    const early = refusal(() => checkValueRanges(pl.DataFrame([pl.Series("d", [MIN_DAYS - 1], pl.Int32).cast(pl.Date)])));
    expect(early.extra).toEqual({ column: "d", row: 1 });
    expect(early.message).toContain("year -100,000");
  });

  it("checks datetimes in every unit and zone, and times of day", () => {
    const dayUs = 86_400_000_000n;
    const edge = (units: bigint) => [String(BigInt(MIN_DAYS) * units), String(BigInt(MAX_DAYS) * units + units - 1n)];
    checkValueRanges(pl.DataFrame([physical("us", edge(dayUs), pl.Datetime("us")), physical("ms", edge(86_400_000n), pl.Datetime("ms", "Asia/Tokyo")), physical("ns", ["-9223372036854775807", "9223372036854775807"], pl.Datetime("ns"))]));
    const far = pl.DataFrame([physical("t", ["0", "9000000000000000000"], pl.Datetime("us", "UTC"))]);
    expect(refusal(() => checkValueRanges(far))).toMatchObject({ extra: { column: "t", row: 2 } });
    const past = pl.DataFrame([physical("t", [String((BigInt(MAX_DAYS) + 1n) * 86_400_000n)], pl.Datetime("ms"))]);
    expect(refusal(() => checkValueRanges(past))).toMatchObject({ extra: { column: "t", row: 1 } });
    checkValueRanges(pl.DataFrame([physical("tod", ["0", "86399999999999"], pl.Time)]));
  });

  it("looks inside structs", () => {
    const st = pl.DataFrame([pl.Series("x", [1, 2]), pl.Series("d", [1, 100_000_000], pl.Int32).cast(pl.Date)]).toStruct("st").toFrame();
    expect(refusal(() => checkValueRanges(st)).extra).toEqual({ column: "st.d", row: 2 });
  });

  it("proves frames of every dtype ingest produces, in every format, without changing them", async () => {
    const frame = pl.DataFrame([
      pl.Series("i", ["1", "-9223372036854775808", "9223372036854775807"]).cast(pl.Int64),
      pl.Series("u", [1, 2, 3], pl.UInt8),
      pl.Series("f", [1.5, Number.NaN, Number.NEGATIVE_INFINITY]),
      pl.Series("s", ["a", null, "\"quoted\",\n"]),
      pl.Series("b", [true, null, false]),
      pl.Series("d", [MIN_DAYS, null, MAX_DAYS], pl.Int32).cast(pl.Date),
      physical("dt", ["0", "-62135596800000000", "253402300799999999"], pl.Datetime("us")),
      physical("dz", ["0", "1", "2"], pl.Datetime("ms", "Europe/Paris")),
      physical("tod", ["0", "1", "86399999999999"], pl.Time),
      physical("du", ["-9223372036854775807", "0", "9223372036854775807"], pl.Duration("us")),
      pl.Series("dec", ["1.25", null, "-3"]).cast(pl.Decimal(10, 2)),
      pl.Series("cat", ["x", "y", "x"]).cast(pl.Categorical),
    ]);
    const comparable = () => frame.drop("dec").toRecords();
    const before = comparable();
    await proveRenderable(frame);
    expect(comparable()).toEqual(before);
  });
});

describe("column descriptions from native series", () => {
  it("equal describeColumns for every dtype, nulls included", () => {
    const frame = pl.DataFrame([
      pl.Series("dec", ["1.5", "2", null]).cast(pl.Decimal(10, 2)),
      pl.Series("c", ["a", "b", "a"]).cast(pl.Categorical),
      pl.Series("dt", [new Date(0), null, new Date(1)], pl.Datetime("ms", "UTC")),
      pl.Series("dn", [new Date(0), null, new Date(1)], pl.Datetime("ns")),
      pl.Series("u", [1, 2, 3], pl.UInt8),
      pl.Series("f", [1, 2, 3], pl.Float32),
      pl.Series("b", [true, false, null]),
      pl.Series("du", [1, 2, 3], pl.Int64).cast(pl.Duration("ms")),
      pl.Series("l", [[1], [2], [3]]),
      pl.Series("d", [new Date(0), null, new Date(1)], pl.Date),
      pl.Series("s", ["a", null, "b"]),
      pl.Series("123", [1, 2, 3], pl.Int16),
    ]);
    expect(columnsOf(frame)).toEqual(describeColumns(frame));
  });
});

describe("checksums", () => {
  it("hash the whole file and each block like node:crypto, and verification finds any flipped byte", async () => {
    const file = path.join(dir, "blocks.bin");
    const bytes = Buffer.alloc(5 * 1000 + 123);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7919) % 251;
    writeFileSync(file, bytes);
    const sum = await checksumFile(file, 1000);
    expect(sum).toEqual(checksumFileSync(file, 1000));
    expect(sum.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(sum.blocks).toHaveLength(6);
    expect(sum.blocks[5]).toBe(createHash("sha256").update(bytes.subarray(5000)).digest("hex"));
    expect(await new VerifiedFile(file, sum).verify()).toBeNull();
    for (const at of [0, 999, 1000, 4321, bytes.length - 1]) {
      const damaged = Buffer.from(bytes);
      damaged[at] = (damaged[at] ?? 0) ^ 0x40;
      writeFileSync(file, damaged);
      const problem = await new VerifiedFile(file, sum).verify();
      expect(problem).toContain(`block ${Math.floor(at / 1000)} `);
      // a range away from the flip still verifies
      const other = at < 2500 ? [[3000, 4000]] : [[0, 1000]];
      expect(await new VerifiedFile(file, sum).verifyRanges(other as [number, number][])).toBeNull();
    }
    writeFileSync(file, bytes.subarray(0, 10));
    expect(await new VerifiedFile(file, sum).verify()).toMatch(/has 10 bytes/);
    await rm(file);
    expect(await new VerifiedFile(file, sum).verify()).toMatch(/missing/);
    expect(blocksCovering([[999, 1001], [4000, 4000], [5100, 6000]], sum)).toEqual([0, 1, 5]);
  });
});

describe("footer-guided ranges of a cold slice", () => {
  it("cover exactly the column chunks of the row groups holding the rows, as DuckDB's parquet_metadata reports them", async () => {
    const file = path.join(dir, "groups.parquet");
    const rows = 40_000;
    const frame = pl.DataFrame([pl.Series("id", Array.from({ length: rows }, (_, i) => i), pl.Int64), pl.Series("s", Array.from({ length: rows }, (_, i) => `v${(i * 2654435761) % 100003}`))]);
    await frame.lazy().sinkParquet(file, { compression: "zstd", rowGroupSize: 10_000 }).collect();
    const size = readFileSync(file).length;
    const handle = await open(file, "r");
    try {
      const footer = await footerRange(handle, size);
      if (typeof footer === "string") throw new Error(footer);
      expect(footer[1]).toBe(size);
      expect(tailRange(size)).toEqual([size - 8, size]);
      const layout = await readLayout(handle, footer);
      const duck = await (await DuckDBInstance.create(":memory:")).connect();
      const meta = (await duck.runAndReadAll(`SELECT row_group_id, row_group_num_rows, coalesce(dictionary_page_offset, data_page_offset) AS start, total_compressed_size FROM parquet_metadata('${file}') ORDER BY row_group_id, column_id`)).getRowObjects();
      expect(layout.rowGroups.map((g) => g.rows)).toEqual([10_000, 10_000, 10_000, 10_000]);
      for (const [k, group] of layout.rowGroups.entries()) {
        const expected = meta.filter((m) => Number(m.row_group_id) === k).map((m) => [Number(m.start), Number(m.start) + Number(m.total_compressed_size)]);
        // the column chunks, plus the page indexes Polars writes (inside the file, before the footer)
        for (const range of expected) expect(group.ranges).toContainEqual(range);
        for (const [start, end] of group.ranges) expect(start >= 4 && end <= footer[0]).toBe(true);
        expect(group.firstRow).toBe(k * 10_000);
      }
      // rows 9,990..10,009 span groups 0 and 1; the footer always comes along
      expect(rangesForRows(layout, 9_990, 20)).toEqual([footer, ...layout.rowGroups[0]!.ranges, ...layout.rowGroups[1]!.ranges]);
      expect(rangesForRows(layout, 35_000, 100)).toEqual([footer, ...layout.rowGroups[3]!.ranges]);
      expect(rangesForRows(layout, 0, 0)).toEqual([footer]);
    } finally {
      await handle.close();
    }
  });
});
