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
  sheets?: { name: string; rows: number; columns: number }[];
  encoding?: string;
  delimiter?: string;
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
};
