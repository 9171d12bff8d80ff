/**
 * Writes the hostile-input suite (issue 5) into a folder: zip bombs, far-away cells, forged
 * Parquet metadata, huge lines, random bytes under every extension… Each file comes with the
 * outcome the service documents for it. Nothing here is committed: test/hostile.test.ts calls
 * `makeHostile` into a temp dir, and `node scripts/make-hostile.ts <dir>` writes them by hand.
 *
 * Files are streamed to disk, so generating ~300 MB of them keeps this process's memory flat.
 */
import { once } from "node:events";
import { createWriteStream, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createDeflateRaw, crc32 } from "node:zlib";
import { encodeStruct, struct, T, type TStruct } from "../src/ingest/thrift.ts";

export interface HostileCase {
  /** Upload file name (its extension matters). */
  name: string;
  /** Path of the generated file. */
  path: string;
  what: string;
  /** The documented answer: status and problem code (201 for files the service must read). */
  expect: { status: number; code?: string };
}

const MiB = 1024 * 1024;

/** Deterministic bytes (xorshift32), so a failure reproduces. */
function randomBytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Writes `count` copies of `chunk` (plus optional head/tail) without holding them in memory. */
async function writeRepeated(file: string, head: string | Buffer, chunk: Buffer, count: number, tail: string | Buffer = ""): Promise<void> {
  const out = createWriteStream(file);
  out.write(head);
  for (let i = 0; i < count; i++) {
    if (!out.write(chunk)) await once(out, "drain");
  }
  out.end(tail);
  await once(out, "finish");
}

// --- zip / OOXML ---

interface ZipPart {
  name: string;
  /** Deflated bytes. */
  data: Buffer;
  crc: number;
  size: number;
  /** What the directory claims (default: the truth). */
  declaredSize?: number;
}

async function deflatePart(name: string, head: string, repeat: { chunk: Buffer; count: number } | null, tail: string): Promise<ZipPart> {
  const deflate = createDeflateRaw({ level: 9 });
  const chunks: Buffer[] = [];
  deflate.on("data", (c: Buffer) => chunks.push(c));
  const done = once(deflate, "end");
  let crc = 0;
  let size = 0;
  const feed = async (b: Buffer) => {
    crc = crc32(b, crc);
    size += b.length;
    if (!deflate.write(b)) await once(deflate, "drain");
  };
  await feed(Buffer.from(head));
  if (repeat) for (let i = 0; i < repeat.count; i++) await feed(repeat.chunk);
  await feed(Buffer.from(tail));
  deflate.end();
  await done;
  return { name, data: Buffer.concat(chunks), crc, size };
}

function zipFile(parts: ZipPart[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const p of parts) {
    const name = Buffer.from(p.name);
    const declared = p.declaredSize ?? p.size;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(p.crc >>> 0, 14);
    local.writeUInt32LE(p.data.length, 18);
    local.writeUInt32LE(declared, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(p.crc >>> 0, 16);
    central.writeUInt32LE(p.data.length, 20);
    central.writeUInt32LE(declared, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, p.data);
    centrals.push(central, name);
    offset += 30 + name.length + p.data.length;
  }
  const dir = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(parts.length, 8);
  eocd.writeUInt16LE(parts.length, 10);
  eocd.writeUInt32LE(dir.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, eocd]);
}

const NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL = "http://schemas.openxmlformats.org/package/2006/relationships";
const DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/** A one-sheet workbook whose sheet XML is `sheetHead` + repeat + `sheetTail`. */
async function workbook(sheetHead: string, repeat: { chunk: Buffer; count: number } | null, sheetTail: string, lieAboutSheetSize = false): Promise<Buffer> {
  const text = (name: string, body: string) => deflatePart(name, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n${body}`, null, "");
  const parts = [
    await text("[Content_Types].xml", `<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`),
    await text("_rels/.rels", `<Relationships xmlns="${REL}"><Relationship Id="rId1" Type="${DOC}/officeDocument" Target="xl/workbook.xml"/></Relationships>`),
    await text("xl/workbook.xml", `<workbook xmlns="${NS}" xmlns:r="${DOC}"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>`),
    await text("xl/_rels/workbook.xml.rels", `<Relationships xmlns="${REL}"><Relationship Id="rId1" Type="${DOC}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>`),
    await deflatePart("xl/worksheets/sheet1.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="${NS}">${sheetHead}`, repeat, `${sheetTail}</worksheet>`),
  ];
  if (lieAboutSheetSize) parts[4]!.declaredSize = 2048;
  return zipFile(parts);
}

function inlineCell(ref: string, value: string | number): string {
  return typeof value === "number" ? `<c r="${ref}"><v>${value}</v></c>` : `<c r="${ref}" t="inlineStr"><is><t>${value}</t></is></c>`;
}

// --- Parquet (one required INT32 column, one row group, one PLAIN data page, uncompressed) ---

interface ParquetForgery {
  /** FileMetaData.num_rows. */
  numRows?: bigint;
  /** PageHeader.uncompressed_page_size. */
  pageUncompressed?: number;
  /** ColumnMetaData.total_uncompressed_size. */
  chunkUncompressed?: bigint;
}

function parquetFile(values: number[], forge: ParquetForgery = {}): Buffer {
  const data = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => data.writeInt32LE(v, i * 4));
  const pageHeader = encodeStruct(
    struct(
      [1, T.I32, 0],
      [2, T.I32, forge.pageUncompressed ?? data.length],
      [3, T.I32, data.length],
      [5, T.STRUCT, struct([1, T.I32, values.length], [2, T.I32, 0], [3, T.I32, 3], [4, T.I32, 3])],
    ),
  );
  const chunkBytes = BigInt(pageHeader.length + data.length);
  const rows = BigInt(values.length);
  const columnMeta: TStruct = struct(
    [1, T.I32, 1],
    [2, T.LIST, { kind: "list", elem: T.I32, items: [0] }],
    [3, T.LIST, { kind: "list", elem: T.BINARY, items: [Buffer.from("x")] }],
    [4, T.I32, 0],
    [5, T.I64, rows],
    [6, T.I64, forge.chunkUncompressed ?? chunkBytes],
    [7, T.I64, chunkBytes],
    [9, T.I64, 4n],
  );
  const footer = encodeStruct(
    struct(
      [1, T.I32, 1],
      [2, T.LIST, { kind: "list", elem: T.STRUCT, items: [struct([4, T.BINARY, Buffer.from("schema")], [5, T.I32, 1]), struct([1, T.I32, 1], [3, T.I32, 0], [4, T.BINARY, Buffer.from("x")])] }],
      [3, T.I64, forge.numRows ?? rows],
      [4, T.LIST, { kind: "list", elem: T.STRUCT, items: [struct([1, T.LIST, { kind: "list", elem: T.STRUCT, items: [struct([2, T.I64, 4n], [3, T.STRUCT, columnMeta])] }], [2, T.I64, chunkBytes], [3, T.I64, rows])] }],
    ),
  );
  const len = Buffer.alloc(4);
  len.writeUInt32LE(footer.length);
  return Buffer.concat([Buffer.from("PAR1"), pageHeader, data, footer, len, Buffer.from("PAR1")]);
}

const OLE2 = Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);

/**
 * Writes every hostile file into `dir` and returns the cases. `maxUploadBytes` sizes the
 * oversize upload (1 MiB over it); the big text files are 50 MiB, so give the server a larger
 * limit than that.
 */
export async function makeHostile(dir: string, options: { maxUploadBytes: number }): Promise<HostileCase[]> {
  mkdirSync(dir, { recursive: true });
  const cases: HostileCase[] = [];
  const add = (name: string, what: string, expect: HostileCase["expect"]) => {
    const c = { name, path: path.join(dir, name), what, expect };
    cases.push(c);
    return c.path;
  };
  const put = (name: string, what: string, expect: HostileCase["expect"], content: Buffer | string) => writeFileSync(add(name, what, expect), content);

  // Excel
  const spaces = Buffer.alloc(MiB, 0x20);
  writeFileSync(
    add("zip-bomb.xlsx", "zip bomb: 1 sheet inflating to 200 MiB of XML, declared honestly", { status: 413, code: "FILE_TOO_LARGE" }),
    await workbook(`<sheetData><row r="1">${inlineCell("A1", "a")}</row>`, { chunk: spaces, count: 200 }, "</sheetData>"),
  );
  writeFileSync(
    add("zip-bomb-lying.xlsx", "zip bomb whose directory declares 2 KiB for a 200 MiB sheet", { status: 413, code: "FILE_TOO_LARGE" }),
    await workbook(`<sheetData><row r="1">${inlineCell("A1", "a")}</row>`, { chunk: spaces, count: 200 }, "</sheetData>", true),
  );
  writeFileSync(
    add("far-cell.xlsx", "far-away cell: A1 and XFD1048576 (16,384 columns)", { status: 413, code: "FILE_TOO_LARGE" }),
    await workbook(`<dimension ref="A1:XFD1048576"/><sheetData><row r="1">${inlineCell("A1", "a")}</row><row r="1048576">${inlineCell("XFD1048576", 1)}</row>`, null, "</sheetData>"),
  );
  writeFileSync(
    add("far-cell-tall.xlsx", "far-away cell within the column limit: A1 and Z1048576 (27M-cell range)", { status: 413, code: "FILE_TOO_LARGE" }),
    await workbook(`<sheetData><row r="1">${inlineCell("A1", "a")}</row><row r="1048576">${inlineCell("Z1048576", 1)}</row>`, null, "</sheetData>"),
  );
  writeFileSync(
    add("huge-dimension.xlsx", "declared dimension A1:XFD1048576 over 2 real rows: read from the real cells", { status: 201 }),
    await workbook(`<dimension ref="A1:XFD1048576"/><sheetData><row r="1">${inlineCell("A1", "id")}${inlineCell("B1", "name")}</row><row r="2">${inlineCell("A2", 1)}${inlineCell("B2", "x")}</row>`, null, "</sheetData>"),
  );
  put("ole2-garbage.xls", "OLE2 magic followed by 1 MiB of random bytes", { status: 422, code: "UNPARSEABLE_FILE" }, Buffer.concat([OLE2, randomBytes(MiB, 7)]));

  // CSV
  const header = Array.from({ length: 100_000 }, (_, i) => `c${i}`).join(",");
  put("columns-100k.csv", "100,000 columns (0.9 MB)", { status: 413, code: "FILE_TOO_LARGE" }, `${header}\n${"1,".repeat(99_999)}1\n`);
  await writeRepeated(add("line-50mb.csv", "one 50 MiB line without delimiters", { status: 413, code: "FILE_TOO_LARGE" }), "", Buffer.alloc(MiB, 0x61), 50);
  await writeRepeated(add("record-50mb.csv", "a 50 MiB data record under a normal header", { status: 413, code: "FILE_TOO_LARGE" }), "a,b\n1,", Buffer.alloc(MiB, 0x62), 50, "\n2,c\n");
  await writeRepeated(add("commas-50mb.csv", "50 MiB of commas only", { status: 413, code: "FILE_TOO_LARGE" }), "", Buffer.alloc(MiB, 0x2c), 50);
  await writeRepeated(add("open-quote.csv", "a quote opened on line 2 and never closed (20 MiB)", { status: 422, code: "UNPARSEABLE_FILE" }), 'a,b\n1,"', Buffer.alloc(MiB, 0x78), 20);

  // Passes every cheap check, then needs more than a 512 MB parser: the sandbox must contain it.
  await writeRepeated(add("rows-60mb.csv", "60 MiB of short rows (15M rows): more than a 512 MB parser holds", { status: 422, code: "PARSE_LIMIT" }), "a,b\n", Buffer.from("1,2\n".repeat(MiB / 4)), 60);

  // Parquet
  const values = [1, 2, 3];
  put("honest.parquet", "control: the generator's honest Parquet file", { status: 201 }, parquetFile(values));
  put("forged-page-size.parquet", "page header claims 2 GiB uncompressed in a 40-byte chunk", { status: 422, code: "UNPARSEABLE_FILE" }, parquetFile(values, { pageUncompressed: 2 ** 31 - 1 }));
  put("forged-sizes.parquet", "page and column chunk both claim 2 GiB uncompressed", { status: 413, code: "FILE_TOO_LARGE" }, parquetFile(values, { pageUncompressed: 2 ** 31 - 1, chunkUncompressed: 2n ** 31n - 1n }));
  put("forged-rows-2e40.parquet", "footer claims 2^40 rows", { status: 413, code: "FILE_TOO_LARGE" }, parquetFile(values, { numRows: 2n ** 40n }));
  put("forged-rows-mismatch.parquet", "footer claims 1,000 rows, its row group holds 3", { status: 422, code: "UNPARSEABLE_FILE" }, parquetFile(values, { numRows: 1000n }));
  const body = randomBytes(MiB, 11);
  put("parquet-garbage.parquet", "PAR1 … random bytes … PAR1", { status: 422, code: "UNPARSEABLE_FILE" }, Buffer.concat([Buffer.from("PAR1"), body, Buffer.from([0x10, 0, 0, 0]), Buffer.from("PAR1")]));

  // Random bytes under every extension
  for (const [i, ext] of ["csv", "tsv", "xlsx", "xlsm", "xls", "parquet"].entries()) {
    put(`random.${ext}`, `1 MiB of random bytes named .${ext}`, { status: 415, code: "UNSUPPORTED_FORMAT" }, randomBytes(MiB, 100 + i));
  }

  // Oversize upload
  await writeRepeated(add("oversize.csv", `CSV 1 MiB over MAX_UPLOAD_BYTES (${options.maxUploadBytes} bytes)`, { status: 413, code: "FILE_TOO_LARGE" }), "a,b\n", Buffer.from("1,2\n".repeat(MiB / 4)), Math.ceil(options.maxUploadBytes / MiB) + 1);
  return cases;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2];
  if (!dir) {
    console.error("usage: node scripts/make-hostile.ts <output-dir> [maxUploadBytes]");
    process.exit(2);
  }
  const cases = await makeHostile(dir, { maxUploadBytes: Number(process.argv[3] ?? 80 * MiB) });
  for (const c of cases) console.log(`${c.name}\t${c.expect.status} ${c.expect.code ?? ""}\t${c.what}`);
}
