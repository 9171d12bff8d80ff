import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, describe, expect, it } from "vitest";
import { ApiError } from "../src/errors.ts";
import { inspectUpload, parseUpload } from "../src/ingest/index.ts";
import { parseOptionsFrom } from "../src/ingest/options.ts";
import { EXPECTED, REFUSED, TWO_SHEETS_LOG } from "./fixtures-expected.ts";
import { columnsOf, fixture, LIMITS, opts, rowsOf, tempDir } from "./ingest-helpers.ts";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** The ApiError a promise rejects with. */
async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error("expected the promise to reject");
}

describe("fixtures parse to their documented content", () => {
  for (const [name, expected] of Object.entries(EXPECTED)) {
    it(`reads ${name} with the expected types, values and source`, async () => {
      const { frame, source } = await parseUpload(fixture(name), parseOptionsFrom(expected.options ?? {}), LIMITS);
      expect(columnsOf(frame)).toEqual(expected.columns);
      expect(await rowsOf(frame)).toEqual(expected.rows);
      expect(source.filename).toBe(name);
      expect(source.format).toBe(expected.format);
      expect(source.sizeBytes).toBe(readFileSync(fixture(name).path).length);
      expect(source.sha256).toBe(createHash("sha256").update(readFileSync(fixture(name).path)).digest("hex"));
      expect(source.sheet).toBe(expected.sheet ?? null);
      if (expected.sheets) expect(source.sheets).toEqual(expected.sheets);
      if (expected.encoding) expect(source.encoding).toBe(expected.encoding);
      if (expected.delimiter) expect(source.delimiter).toBe(expected.delimiter);
      for (const note of expected.notes ?? []) expect(source.notes?.some((n) => n.includes(note)), `a note containing ${JSON.stringify(note)} in ${JSON.stringify(source.notes)}`).toBe(true);
    });
  }
  for (const [name, refusal] of Object.entries(REFUSED)) {
    it(`refuses ${name} with ${refusal.status} ${refusal.code}`, async () => {
      const err = await failure(parseUpload(fixture(name), opts(), LIMITS));
      expect(err.status).toBe(refusal.status);
      expect(err.code).toBe(refusal.code);
      expect(err.message).toContain(refusal.detailIncludes);
    });
  }
});

describe("format detection", () => {
  it.each([
    ["text named .parquet", "data.parquet", "a,b\n1,2\n"],
    ["binary named .csv", "data.csv", Buffer.from([0x00, 0x01, 0x02, 0xff, 0x00, 0x10, 0x80])],
    ["an xlsx workbook named .csv", "data.csv", readFileSync(fixture("two-sheets.xlsx").path)],
    ["a parquet file named .xlsx", "data.xlsx", readFileSync(fixture("types.parquet").path)],
    ["an .ods file", "sheet.ods", readFileSync(fixture("two-sheets.xlsx").path)],
    ["random bytes named .xls", "old.xls", Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256))],
    ["a zip that is not a workbook", "book.xlsx", Buffer.from("504b0506000000000000000000000000000000000000", "hex")],
  ])("answers 415 for %s", async (_what, name, content) => {
    const err = await failure(parseUpload(tmp.write(name, content), opts(), LIMITS));
    expect(err.status).toBe(415);
    expect(err.code).toBe("UNSUPPORTED_FORMAT");
    expect(err.message).not.toContain(tmp.dir);
  });

  it("reads a CSV without an extension by its content", async () => {
    const { frame, source } = await parseUpload(tmp.write("upload-no-ext", "x,y\n1,2\n"), opts(), LIMITS);
    expect(source.format).toBe("csv");
    expect(await rowsOf(frame)).toEqual([[1, 2]]);
  });
});

describe("CSV reading", () => {
  it("names the line and the field counts of a ragged row, counting quoted newlines as lines", async () => {
    const err = await failure(parseUpload(tmp.write("r.csv", 'a,b\n1,"two\nlines"\n3,4,5\n'), opts(), LIMITS));
    expect(err.status).toBe(422);
    expect(err.message).toContain("Line 4 has 3 fields but 2");
    expect(err.extra).toMatchObject({ line: 4, expectedFields: 2, foundFields: 3 });
  });

  it("leaves ragged rows out with onBadRows=skip and records their lines", async () => {
    const { frame, source } = await parseUpload(fixture("ragged.csv"), opts({ onBadRows: "skip" }), LIMITS);
    expect(await rowsOf(frame)).toEqual([
      [1, 2, 3],
      [6, 7, 8],
    ]);
    expect(source.skippedRows).toBe(1);
    expect(source.skippedLines).toEqual([3]);
  });

  it("skips blank lines and says so", async () => {
    const { frame, source } = await parseUpload(tmp.write("blank.csv", "a,b\n1,2\n\n3,4\n\n"), opts(), LIMITS);
    expect(await rowsOf(frame)).toEqual([
      [1, 2],
      [3, 4],
    ]);
    expect(source.notes?.join(" ")).toContain("2 blank lines were skipped");
  });

  it("keeps an unquoted empty field as null and a quoted empty field as an empty string", async () => {
    const { frame } = await parseUpload(tmp.write("e.csv", 'k,s\n1,\n2,""\n3,x\n'), opts(), LIMITS);
    expect(await rowsOf(frame)).toEqual([
      [1, null],
      [2, ""],
      [3, "x"],
    ]);
  });

  it("infers over the whole file, not a sample", async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => String(i));
    lines.push("N/A");
    const { frame } = await parseUpload(tmp.write("late.csv", `n\n${lines.join("\n")}\n`), opts(), LIMITS);
    expect(columnsOf(frame)).toEqual([{ name: "n", dtype: "String" }]);
  });

  it("types numbers, booleans, dates and datetimes by their whole column", async () => {
    const csv = [
      "zero,half,flag,day,naive,utc,mixedtz,lead",
      "0,0.5,TRUE,2024-02-29,2024-01-02 03:04:05,2024-01-02T03:04:05Z,2024-01-02T03:04:05Z,0",
      "-3,1e3,false,2024-12-31,2024-01-02T03:04:05.250,2024-01-02T05:04:05+02:00,2024-01-02T03:04:05,007",
    ].join("\n");
    const { frame } = await parseUpload(tmp.write("types.csv", csv), opts(), LIMITS);
    expect(columnsOf(frame).map((c) => c.dtype)).toEqual(["Int64", "Float64", "Boolean", "Date", "Datetime(us)", "Datetime(us, UTC)", "String", "String"]);
    expect(await rowsOf(frame)).toEqual([
      [0, 0.5, true, "2024-02-29", "2024-01-02T03:04:05", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z", "0"],
      [-3, 1000, false, "2024-12-31", "2024-01-02T03:04:05.250", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05", "007"],
    ]);
  });

  it("reads header=false as column_1… and honours an explicit delimiter", async () => {
    const { frame, source } = await parseUpload(tmp.write("nh.txt", "1|a\n2|b\n"), opts({ header: false, delimiter: "|" }), LIMITS);
    expect(columnsOf(frame)).toEqual([
      { name: "column_1", dtype: "Int64" },
      { name: "column_2", dtype: "String" },
    ]);
    expect(source.header).toBe(false);
    expect(source.delimiter).toBe("|");
  });

  it("reports renamed header names", async () => {
    const { frame, source } = await parseUpload(tmp.write("dup.csv", "a,a,,b\n1,2,3,4\n"), opts(), LIMITS);
    expect(columnsOf(frame).map((c) => c.name)).toEqual(["a", "a_2", "column_3", "b"]);
    expect(source.renamedColumns).toEqual([
      { from: "a", to: "a_2" },
      { from: "", to: "column_3" },
    ]);
  });

  it("refuses a header wider than the column limit before parsing (413)", async () => {
    const header = Array.from({ length: 50 }, (_, i) => `c${i}`).join(",");
    const err = await failure(parseUpload(tmp.write("wide.csv", `${header}\n`), opts(), { ...LIMITS, maxColumns: 10 }));
    expect(err.status).toBe(413);
    expect(err.code).toBe("FILE_TOO_LARGE");
  });

  it("refuses more rows than the row limit (413)", async () => {
    const err = await failure(parseUpload(tmp.write("long.csv", "a\n1\n2\n3\n4\n"), opts(), { ...LIMITS, maxRows: 3 }));
    expect(err.status).toBe(413);
  });

  it("refuses an unterminated quote with the line it starts on", async () => {
    const err = await failure(parseUpload(tmp.write("q.csv", 'a,b\n1,2\n3,"open\n4,5\n'), opts(), LIMITS));
    expect(err.status).toBe(422);
    expect(err.message).toContain("line 3");
  });
});

describe("encodings", () => {
  it("names the byte offset of invalid UTF-8 in a file that is otherwise UTF-8", async () => {
    const content = Buffer.concat([Buffer.from("name\ncafé\n"), Buffer.from([0xc3, 0x28, 0x0a])]);
    const err = await failure(parseUpload(tmp.write("bad.csv", content), opts(), LIMITS));
    expect(err.status).toBe(422);
    expect(err.extra).toMatchObject({ byteOffset: 11 });
  });

  it("decodes with an explicit encoding", async () => {
    const content = Buffer.from("name\nMünchen\n", "latin1");
    const { frame, source } = await parseUpload(tmp.write("l.csv", content), opts({ encoding: "windows-1252" }), LIMITS);
    expect(await rowsOf(frame)).toEqual([["München"]]);
    expect(source.encoding).toBe("windows-1252");
  });

  it("decodes UTF-16 BE with a byte-order mark", async () => {
    const le = Buffer.from("a,b\n1,ü\n", "utf16le");
    const be = Buffer.alloc(le.length);
    for (let i = 0; i < le.length; i += 2) {
      be[i] = le[i + 1]!;
      be[i + 1] = le[i]!;
    }
    const { frame, source } = await parseUpload(tmp.write("be.csv", Buffer.concat([Buffer.from([0xfe, 0xff]), be])), opts(), LIMITS);
    expect(source.encoding).toBe("utf-16be");
    expect(await rowsOf(frame)).toEqual([[1, "ü"]]);
  });

  it("refuses UTF-32 (LE and BE byte-order marks) saying so, not as misread UTF-16 (QA Q28)", async () => {
    const text = [..."a,b\n1,2\n"];
    const le = Buffer.concat([Buffer.from([0xff, 0xfe, 0, 0]), ...text.map((ch) => Buffer.from([ch.charCodeAt(0), 0, 0, 0]))]);
    const be = Buffer.concat([Buffer.from([0, 0, 0xfe, 0xff]), ...text.map((ch) => Buffer.from([0, 0, 0, ch.charCodeAt(0)]))]);
    for (const [name, bytes] of [["le32.csv", le], ["be32.csv", be]] as const) {
      const err = await parseUpload(tmp.write(name, bytes), opts(), LIMITS).then(
        () => null,
        (e: unknown) => e as ApiError,
      );
      expect(err?.status, name).toBe(422);
      expect(err?.message, name).toContain("UTF-32");
    }
  });
});

describe("schema= forced types", () => {
  it("keeps a forced String column's text and converts forced numbers", async () => {
    const { frame } = await parseUpload(fixture("codes.csv"), opts({ schema: { small: "String", code: "Int64" } }), LIMITS);
    const cols = columnsOf(frame);
    expect(cols.find((c) => c.name === "small")?.dtype).toBe("String");
    expect(cols.find((c) => c.name === "code")?.dtype).toBe("Int64");
    expect((await rowsOf(frame)).map((r) => r[0])).toEqual([1, 2, 10]);
  });

  it("answers 400 for an unknown column and 422 naming a value that does not convert", async () => {
    expect((await failure(parseUpload(fixture("plain.csv"), opts({ schema: { nope: "String" } }), LIMITS))).status).toBe(400);
    const err = await failure(parseUpload(fixture("plain.csv"), opts({ schema: { name: "Int64" } }), LIMITS));
    expect(err.status).toBe(422);
    expect(err.message).toContain('"Alice"');
  });

  it("validates the form fields, naming the field", () => {
    expect(parseOptionsFrom({ sheet: "2", header: "false", delimiter: "tab", schema: '{"a":"Date"}', onBadRows: "skip", encoding: "latin1" })).toEqual({
      sheet: 2,
      header: false,
      delimiter: "\t",
      schema: { a: "Date" },
      onBadRows: "skip",
      encoding: "windows-1252",
    });
    for (const [field, value] of [
      ["schema", '{"a":"Integer"}'],
      ["schema", "[1]"],
      ["header", "maybe"],
      ["delimiter", "ab"],
      ["encoding", "klingon"],
      ["onBadRows", "ignore"],
    ] as const) {
      expect(() => parseOptionsFrom({ [field]: value })).toThrow(new RegExp(`"${field}"`));
    }
  });
});

describe("Excel reading", () => {
  it("reads the second sheet by name or by index, with datetime cells", async () => {
    for (const sheet of ["Log", 1]) {
      const { frame, source } = await parseUpload(fixture("two-sheets.xlsx"), opts({ sheet }), LIMITS);
      expect(columnsOf(frame)).toEqual(TWO_SHEETS_LOG.columns);
      expect(await rowsOf(frame)).toEqual(TWO_SHEETS_LOG.rows);
      expect(source.sheet).toBe("Log");
    }
  });

  it("answers 400 naming the available sheets for an unknown sheet", async () => {
    const err = await failure(parseUpload(fixture("two-sheets.xlsx"), opts({ sheet: "Nope" }), LIMITS));
    expect(err.status).toBe(400);
    expect(err.message).toContain('"Sales", "Log"');
  });

  it("skips an empty first sheet and notes which sheet it read", async () => {
    const { source } = await parseUpload(fixture("empty-first-sheet.xlsx"), opts(), LIMITS);
    expect(source.sheet).toBe("Data");
    expect(source.notes?.join(" ")).toContain('"Empty"');
    expect(source.renamedColumns).toEqual([
      { from: "", to: "column_2" },
      { from: "id", to: "id_2" },
    ]);
  });

  it("refuses a sheet wider than the column limit (413)", async () => {
    const err = await failure(parseUpload(fixture("two-sheets.xlsx"), opts(), { ...LIMITS, maxColumns: 3 }));
    expect(err.status).toBe(413);
  });
});

describe("inspectUpload", () => {
  it("reports types, null counts, counterexamples and a preview", async () => {
    const rows = Array.from({ length: 30 }, (_, i) => (i === 5 ? "N/A" : i === 7 ? "" : String(i)));
    const report = await inspectUpload(tmp.write("inspect.csv", `n,label\n${rows.map((r) => `${r},x`).join("\n")}\n`), opts(), LIMITS);
    expect(report.format).toBe("csv");
    expect(report.encoding).toBe("utf-8");
    expect(report.delimiter).toBe(",");
    expect(report.rowCount).toBe(30);
    expect(report.columns[0]).toEqual({ name: "n", dtype: "String", nullCount: 1, counterexamples: ["N/A"] });
    expect(JSON.parse(report.previewJson)).toHaveLength(20);
    expect(JSON.parse(report.previewJson)[0]).toEqual({ n: "0", label: "x" });
  });

  it("lists the sheets of a workbook", async () => {
    const report = await inspectUpload(fixture("two-sheets.xlsx"), opts(), LIMITS);
    expect(report.sheets).toEqual(EXPECTED["two-sheets.xlsx"]!.sheets);
    expect(report.sheet).toBe("Sales");
    expect(JSON.parse(report.previewJson)[0]).toEqual({ date: "2024-01-02", item: "apple", qty: 3, price: 0.5 });
  });
});
