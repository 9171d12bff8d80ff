/**
 * The exact content of every file in fixtures/ (made by scripts/make-fixtures.ts), as the API
 * serialises it: Int64 beyond ±2^53 as strings, Date as "YYYY-MM-DD", Datetime without zone as
 * "YYYY-MM-DDTHH:MM:SS" plus ".ffffff" only when the fraction is non-zero (frame/json.ts rules).
 * Fixtures that must be refused are in REFUSED with their status and code.
 */

export interface ExpectedColumn {
  name: string;
  dtype: string;
}

export interface ExpectedTable {
  format: "csv" | "tsv" | "xlsx" | "xlsm" | "xls" | "parquet";
  columns: ExpectedColumn[];
  rows: unknown[][];
  /** Excel: the sheet read by default and every sheet's used range (header row included). */
  sheet?: string;
  sheets?: { name: string; rows: number; columns: number; hidden?: boolean }[];
  encoding?: string;
  delimiter?: string;
  /** Form fields to upload it with (default: none). */
  options?: Record<string, string>;
  /** Texts each of which some note on the version must contain. */
  notes?: string[];
}

const cols = (spec: string): ExpectedColumn[] =>
  spec.split(",").map((s) => {
    const [name, dtype] = s.split(":") as [string, string];
    return { name, dtype };
  });

export const EXPECTED: Record<string, ExpectedTable> = {
  "plain.csv": {
    format: "csv",
    encoding: "utf-8",
    delimiter: ",",
    columns: cols("id:Int64,name:String,score:Float64,active:Boolean"),
    rows: [
      [1, "Alice", 9.5, true],
      [2, "Bob", 7.25, false],
      [3, "Carol", null, true],
    ],
  },
  "plain.tsv": {
    format: "tsv",
    encoding: "utf-8",
    delimiter: "\t",
    columns: cols("city:String,country:String,population:Int64"),
    rows: [
      ["Paris", "France", 2102650],
      ["Berlin", "Germany", 3645000],
    ],
  },
  "quoted.csv": {
    format: "csv",
    encoding: "utf-8",
    delimiter: ",",
    columns: cols("id:Int64,text:String,note:String"),
    rows: [
      [1, "Hello, world", "line one\nline two"],
      [2, 'She said "hi"', "café"],
      [3, "e\u0301 combining", "😀 emoji 👩‍👩‍👧"],
    ],
  },
  "codes.csv": {
    format: "csv",
    encoding: "utf-8",
    delimiter: ",",
    columns: cols("code:String,zip:String,small:Int64,big:Int64,huge:String"),
    rows: [
      ["001", "01234", 0, "9007199254740993", "99999999999999999999"],
      ["002", "10001", 42, "-9223372036854775808", "12345678901234567890123"],
      ["010", "00501", -7, "9223372036854775807", "1"],
    ],
  },
  "bom-utf8.csv": {
    format: "csv",
    encoding: "utf-8",
    delimiter: ",",
    columns: cols("id:Int64,name:String"),
    rows: [
      [1, "Zoë"],
      [2, "Łukasz"],
    ],
  },
  "crlf.csv": {
    format: "csv",
    encoding: "utf-8",
    delimiter: ",",
    columns: cols("id:Int64,text:String"),
    rows: [
      [1, "multi\r\nline"],
      [2, "plain"],
    ],
  },
  "cr-only.csv": {
    format: "csv",
    encoding: "utf-8",
    delimiter: ",",
    columns: cols("a:Int64,b:String"),
    rows: [
      [1, "x"],
      [2, "y"],
    ],
  },
  "latin1.csv": {
    format: "csv",
    encoding: "windows-1252",
    delimiter: ",",
    columns: cols("name:String,city:String"),
    rows: [
      ["José", "Málaga"],
      ["René", "Zürich"],
    ],
  },
  "utf16le.csv": {
    format: "csv",
    encoding: "utf-16le",
    delimiter: ",",
    columns: cols("id:Int64,word:String"),
    rows: [
      [1, "naïve"],
      [2, "€uro"],
    ],
  },
  "semicolon.csv": {
    format: "csv",
    encoding: "utf-8",
    delimiter: ";",
    columns: cols("product:String,price:Float64,stock:Int64"),
    rows: [
      ["widget", 1.5, 12],
      ["gadget", 20, 0],
    ],
  },
  "two-sheets.xlsx": {
    format: "xlsx",
    sheet: "Sales",
    sheets: [
      { name: "Sales", rows: 3, columns: 4 },
      { name: "Log", rows: 3, columns: 2 },
    ],
    columns: cols("date:Date,item:String,qty:Int64,price:Float64"),
    rows: [
      ["2024-01-02", "apple", 3, 0.5],
      ["2024-01-03", "pear", 10, 1.25],
    ],
  },
  "legacy.xls": {
    format: "xls",
    sheet: "Data",
    sheets: [{ name: "Data", rows: 3, columns: 3 }],
    columns: cols("name:String,value:Float64,ok:Boolean"),
    rows: [
      ["a", 1, true],
      ["b", 2.5, false],
    ],
  },
  "macro.xlsm": {
    format: "xlsm",
    sheet: "Sheet1",
    sheets: [{ name: "Sheet1", rows: 3, columns: 2 }],
    columns: cols("k:String,v:Int64"),
    rows: [
      ["x", 1],
      ["y", 2],
    ],
  },
  "empty-first-sheet.xlsx": {
    format: "xlsx",
    sheet: "Data",
    sheets: [
      { name: "Empty", rows: 0, columns: 0 },
      { name: "Data", rows: 3, columns: 4 },
    ],
    columns: cols("id:Int64,column_2:String,id_2:Int64,mixed:String"),
    rows: [
      [1, "x", 10, "5"],
      [2, "y", 20, "five"],
    ],
  },
  "year-headers.csv": {
    format: "csv",
    delimiter: ",",
    columns: cols("country:String,2019:Float64,2020:Float64,2021:Float64"),
    rows: [
      ["France", 1.5, 2.5, 3.5],
      ["Japan", 0.5, null, 1.25],
    ],
  },
  "title-rows.csv": {
    format: "csv",
    options: { headerRow: "3", nullValues: "N/A" },
    columns: cols("region:String,units:Int64,price:Float64"),
    rows: [
      ["north", 3, null],
      ["south", 4, 2.5],
    ],
    notes: ["The first 2 lines were left out (skipRows/headerRow); the header was read from line 3.", 'Column "price": 1 value listed in nullValues was read as null.'],
  },
  "comments.csv": {
    format: "csv",
    options: { commentPrefix: "#" },
    columns: cols("id:Int64,name:String"),
    rows: [
      [1, "a"],
      [2, "b"],
    ],
    notes: ['2 comment lines (starting with "#") were left out.'],
  },
  "decimal-comma.csv": {
    format: "csv",
    delimiter: ";",
    options: { decimalComma: "true" },
    columns: cols("name:String,price:Float64,qty:Int64"),
    rows: [
      ["widget", 1.5, 2],
      ["gadget", -0.25, 3],
    ],
    notes: ['Numbers with a decimal comma (decimalComma=true) were read in column(s) "price".'],
  },
  "lenient-quotes.csv": {
    format: "csv",
    delimiter: ";",
    options: { quoting: "lenient" },
    columns: cols("id:Int64,name:String,town:String"),
    rows: [
      [1, 'SHABANI "API" SRL', "ANCONA"],
      [2, "F.LLI ROSSI & C.", "CANICATTI'"],
      [3, "5'11\"", "ROMA"],
    ],
    notes: ["2 fields hold quote characters outside quoting; quoting=lenient read them as ordinary characters.", "1 quoted field has text after the closing quote; quoting=lenient kept it as part of the field"],
  },
  "float-precision.csv": {
    format: "csv",
    columns: cols("exact:Float64,rounded:String,full:Float64"),
    rows: [
      [0.1, "0.1234567890123456789", 0.1],
      [0.30000000000000004, "2.5", 0.1],
    ],
    notes: ['Column "rounded" was kept as String: 1 number would not survive as Float64'],
  },
  "temporal-text.csv": {
    format: "csv",
    columns: cols("dt:Datetime(ns),t:Time,d:Duration(ns),f:Float64"),
    rows: [
      ["1704164645123456789", "45296123456789", "1500000000", "NaN"],
      ["9223372036854775807", "0", "-1", "-inf"],
    ],
  },
  "excel-values.xlsx": {
    format: "xlsx",
    sheet: "Data",
    sheets: [{ name: "Data", rows: 4, columns: 8 }],
    columns: cols("mixed:String,share:Float64,zip:String,big:Float64,flag:Boolean,empty:String,n:Int64,err:Int64"),
    rows: [
      ["4006381333931", 0.25, "00501", 12345678901234567000, true, "", 1, null],
      ["0.30000000000000004", 0.5, "02134", 1, false, "x", null, 2],
      ["N/A", 1, "10001", 2, true, "", 3, 3],
    ],
    notes: [
      'Column "mixed" mixes numbers, dates, text or booleans; it was read as String with each value\'s own text',
      'Column "big": 1 whole number at or beyond ±2^53 is stored by Excel as a double',
      'Column "n": 1 empty-string cell read as null.',
      "1 error cell (such as #DIV/0! or #N/A) was read as null (H2).",
    ],
  },
  "excel-times.xlsx": {
    format: "xlsx",
    sheet: "Times",
    sheets: [{ name: "Times", rows: 4, columns: 5 }],
    columns: cols("clock:Time,ampm:Time,elapsed:Duration(ms),when:Datetime(us),day:Date"),
    rows: [
      ["43200000000000", "21600000000000", "129600000", "2024-01-02T12:00:00", "1900-02-28"],
      ["64800000000000", "70200000000000", "5400000", "2024-01-03T18:00:00", null],
      ["1000000000", "0", "8640000000", "2024-01-04T00:00:00", "1900-03-01"],
    ],
    notes: ["1 cell holds serial 60, Excel's fictitious date 1900-02-29 (a leap day 1900 did not have), read as null (E3)."],
  },
  "excel-formulas.xlsx": {
    format: "xlsx",
    sheet: "Calc",
    sheets: [{ name: "Calc", rows: 4, columns: 3 }],
    columns: cols("a:Int64,double:String,kept:Int64"),
    rows: [
      [1, null, 2],
      [2, null, 4],
      [3, null, 6],
    ],
    notes: ["3 formula cells have no stored result and were read as null (B2, B3, B4)"],
  },
  "excel-hidden.xlsx": {
    format: "xlsx",
    sheet: "Visible",
    sheets: [
      { name: "Secret", rows: 2, columns: 1, hidden: true },
      { name: "Visible", rows: 2, columns: 1 },
    ],
    columns: cols("k:String"),
    rows: [["shown"]],
  },
  "excel-layout.xlsx": {
    format: "xlsx",
    sheet: "Report",
    options: { headerRow: "3", nullValues: "N/A" },
    columns: cols("region:String,units:Int64,price:Float64"),
    rows: [
      ["north", 3, null],
      ["south", 4, 2.5],
      ["east", 5, 1.25],
    ],
    notes: ["Rows 1–2 of the sheet were left out (skipRows/headerRow); the header was read from row 3.", "1 empty row inside the sheet's range was skipped."],
  },
  "excel-1904.xlsx": {
    format: "xlsx",
    sheet: "Dates",
    columns: cols("d:Date"),
    rows: [["1904-01-01"], ["1905-01-01"]],
  },
  "parquet-nested.parquet": {
    format: "parquet",
    columns: cols("id:Int32,list:List(Int32)").concat([
      { name: "struct", dtype: 'Struct({"x": Int32, "y": String})' },
      { name: "map", dtype: 'List(Struct({"key": String, "value": Int32}))' },
    ]),
    rows: [
      [1, [1, null, 3], { x: 1, y: "a" }, [{ key: "k1", value: 10 }, { key: "k2", value: 20 }]],
      [2, [], null, []],
    ],
  },
  "parquet-text-types.parquet": {
    format: "parquet",
    columns: cols("u:String,j:String,bytes:String,text:String"),
    rows: [
      ["550e8400-e29b-41d4-a716-446655440000", '{"a": [1, 2]}', "AP9hYg==", "café"],
      [null, null, null, null],
    ],
    notes: ['UUID column(s) "u" were read as String in canonical form', 'JSON column(s) "j" were read as String', 'Binary column(s) "bytes" were read as String holding each value\'s bytes in base64', 'Binary column(s) without a text annotation "text" hold UTF-8 text'],
  },
  "types.parquet": {
    format: "parquet",
    columns: cols("i:Int64,f:Float64,s:String,b:Boolean,d:Date,dt:Datetime(us)"),
    rows: [
      [1, 1.5, "a", true, "2024-01-02", "2024-01-02T03:04:05.123456"],
      [null, 2.5, null, false, null, null],
      [3, null, "c", null, "2024-03-04", "2024-12-31T23:59:59"],
    ],
  },
};

/** The second sheet of two-sheets.xlsx (upload with sheet=Log or sheet=1). */
export const TWO_SHEETS_LOG: ExpectedTable = {
  format: "xlsx",
  sheet: "Log",
  columns: cols("ts:Datetime(us),event:String"),
  rows: [
    ["2024-01-02T12:00:00", "start"],
    ["2024-01-03T06:00:00", "stop"],
  ],
};

/** Fixtures that must be refused, with the problem's status and code. */
export const REFUSED: Record<string, { status: number; code: string; detailIncludes: string }> = {
  "empty.csv": { status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "empty" },
  "ragged.csv": { status: 422, code: "UNPARSEABLE_FILE", detailIncludes: "Line 3 has 2 fields but 3" },
  "parquet-interval.parquet": { status: 422, code: "UNPARSEABLE_FILE", detailIncludes: '"wait" (INTERVAL)' },
  // Without quoting=lenient (see EXPECTED for the read with it).
  "lenient-quotes.csv": { status: 422, code: "UNPARSEABLE_FILE", detailIncludes: 'Line 2, column "name": a quote (") inside an unquoted field' },
};
