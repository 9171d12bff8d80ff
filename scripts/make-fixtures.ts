/**
 * Writes the small files in fixtures/ (run from the repo root: `node scripts/make-fixtures.ts`).
 * Their exact content is listed in fixtures/README.md and exported for tests by
 * test/fixtures-expected.ts. Excel dates are written as serial numbers with a date format (what
 * Excel itself stores), so the files do not depend on the time zone of the machine writing them.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import pl from "nodejs-polars";
import XLSX from "xlsx";

const dir = path.resolve(import.meta.dirname, "..", "fixtures");
mkdirSync(dir, { recursive: true });
const out = (name: string) => path.join(dir, name);
const text = (name: string, content: string | Buffer) => writeFileSync(out(name), content);

text("plain.csv", "id,name,score,active\n1,Alice,9.5,true\n2,Bob,7.25,false\n3,Carol,,true\n");
text("plain.tsv", "city\tcountry\tpopulation\nParis\tFrance\t2102650\nBerlin\tGermany\t3645000\n");
text(
  "quoted.csv",
  'id,text,note\n1,"Hello, world","line one\nline two"\n2,"She said ""hi""",café\n3,"e\u0301 combining",😀 emoji 👩‍👩‍👧\n',
);
text(
  "codes.csv",
  "code,zip,small,big,huge\n001,01234,0,9007199254740993,99999999999999999999\n002,10001,42,-9223372036854775808,12345678901234567890123\n010,00501,-7,9223372036854775807,1\n",
);
text("empty.csv", "");
text("ragged.csv", "a,b,c\n1,2,3\n4,5\n6,7,8\n");
text("bom-utf8.csv", "\uFEFFid,name\n1,Zoë\n2,Łukasz\n");
text("crlf.csv", 'id,text\r\n1,"multi\r\nline"\r\n2,plain\r\n');
// Detection cases (issue 5).
text("latin1.csv", Buffer.from("name,city\nJosé,Málaga\nRené,Zürich\n", "latin1"));
text("utf16le.csv", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from("id,word\n1,naïve\n2,€uro\n", "utf16le")]));
text("semicolon.csv", "product;price;stock\nwidget;1.50;12\ngadget;20;0\n");
text("cr-only.csv", "a,b\r1,x\r2,y\r");

/** An Excel serial date cell (1900 date system) with a date format. */
const dateCell = (serial: number, z: string): XLSX.CellObject => ({ t: "n", v: serial, z });

function sheet(rows: (string | number | boolean | XLSX.CellObject | null)[][]): XLSX.WorkSheet {
  const ws: XLSX.WorkSheet = {};
  rows.forEach((row, r) =>
    row.forEach((v, c) => {
      if (v === null) return;
      const addr = XLSX.utils.encode_cell({ r, c });
      ws[addr] = typeof v === "object" ? v : typeof v === "number" ? { t: "n", v } : typeof v === "boolean" ? { t: "b", v } : { t: "s", v };
    }),
  );
  ws["!ref"] = XLSX.utils.encode_range({ s: { r: 0, c: 0 }, e: { r: rows.length - 1, c: Math.max(...rows.map((r) => r.length)) - 1 } });
  return ws;
}

function workbook(sheets: [string, XLSX.WorkSheet][]): XLSX.WorkBook {
  const wb = XLSX.utils.book_new();
  for (const [name, ws] of sheets) XLSX.utils.book_append_sheet(wb, ws, name);
  wb.Props = { CreatedDate: new Date(Date.UTC(2024, 0, 1)) };
  return wb;
}

// 45293 = 2024-01-02 in Excel's 1900 date system.
XLSX.writeFile(
  workbook([
    ["Sales", sheet([["date", "item", "qty", "price"], [dateCell(45293, "yyyy-mm-dd"), "apple", 3, 0.5], [dateCell(45294, "yyyy-mm-dd"), "pear", 10, 1.25]])],
    ["Log", sheet([["ts", "event"], [dateCell(45293.5, "yyyy-mm-dd hh:mm:ss"), "start"], [dateCell(45294.25, "yyyy-mm-dd hh:mm:ss"), "stop"]])],
  ]),
  out("two-sheets.xlsx"),
  { bookType: "xlsx" },
);
XLSX.writeFile(workbook([["Data", sheet([["name", "value", "ok"], ["a", 1, true], ["b", 2.5, false]])]]), out("legacy.xls"), { bookType: "biff8" });
XLSX.writeFile(workbook([["Sheet1", sheet([["k", "v"], ["x", 1], ["y", 2]])]]), out("macro.xlsm"), { bookType: "xlsm" });
// Empty first sheet, data on the second; a header with an empty and a repeated name.
XLSX.writeFile(
  workbook([
    ["Empty", {}],
    ["Data", sheet([["id", "", "id", "mixed"], [1, "x", 10, 5], [2, "y", 20, "five"]])],
  ]),
  out("empty-first-sheet.xlsx"),
  { bookType: "xlsx" },
);

const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`) / 86_400_000;
// Microseconds since the epoch stay below 2^53 for these dates, so plain numbers are exact.
const micros = (iso: string) => Date.parse(iso) * 1000;
const parquet = pl.DataFrame([
  pl.Series("i", [1, null, 3], pl.Int64),
  pl.Series("f", [1.5, 2.5, null], pl.Float64),
  pl.Series("s", ["a", null, "c"], pl.String),
  pl.Series("b", [true, false, null], pl.Bool),
  pl.Series("d", [day("2024-01-02"), null, day("2024-03-04")], pl.Int32).cast(pl.Date),
  pl.Series("dt", [micros("2024-01-02T03:04:05Z") + 123456, null, micros("2024-12-31T23:59:59Z")], pl.Int64).cast(pl.Datetime("us")),
]);
parquet.writeParquet(out("types.parquet"));
console.log(`fixtures written to ${dir}`);
