/**
 * Cheap checks of a Parquet file before polars reads it, from the footer and the page headers
 * (read with our own Thrift decoder, never allocating more than the bytes it reads):
 * - encryption (footer or columns) → 422: there are no keys to read it with;
 * - declared rows over MAX_ROWS (a forged 2^40 included) → 413; row groups that do not add up to
 *   the declared rows, or columns holding fewer values than their row group has rows → 422;
 * - leaf columns over MAX_COLUMNS → 413;
 * - declared uncompressed sizes: the whole file over the parse memory limit → 413; a page larger
 *   than its column chunk, or than a quarter of the memory limit (a forged page size makes the
 *   reader allocate it up front) → 422 / 413; negative sizes or counts → 422;
 * - column types the service cannot serve: logical types polars cannot even describe (VARIANT,
 *   GEOMETRY, GEOGRAPHY, BSON, INTERVAL — which makes polars abort the process — unknown ones),
 *   decimals wider than 38 digits, and nested columns (LIST, MAP, struct) holding bytes, UUIDs,
 *   JSON, Float16 or INT96 → 422 naming the column and the type. Other nested columns are read.
 * It also tells the reader which flat columns need more than polars does (`special`): unannotated
 * binary, UUID and JSON (which nodejs-polars cannot hand to JavaScript), Float16, INT96.
 *
 * Page headers are walked for at most PAGE_BUDGET pages in all (files with more are still capped
 * by the parser sandbox's memory limit); the footer itself may be at most FOOTER_CAP bytes.
 */
import { open, type FileHandle } from "node:fs/promises";
import { tooLarge, unparseable } from "../errors.ts";
import { bigintOf, decodeStruct, intOf, listOf, stringOf, structOf, ThriftError, ThriftTruncated, type TStruct, type TValue } from "./thrift.ts";

export interface FooterLimits {
  maxRows: number;
  maxColumns: number;
  /** Memory one parse may use (PARSE_MEMORY_MB in bytes). */
  memoryBytes: number;
}

/** What a flat top-level column needs beyond polars' own reading. */
export type SpecialKind = "binary" | "uuid" | "json" | "float16" | "int96";

export interface FooterFacts {
  numRows: number;
  leafColumns: number;
  /** Top-level columns stored as bytes without a text annotation (polars: Binary). */
  binaryColumns: string[];
  /** Top-level columns of the FLOAT16 logical type. */
  float16Columns: string[];
  /** Flat top-level columns by name that need more than polars' reading, in file order. */
  special: { name: string; kind: SpecialKind }[];
  /** Top-level columns that are nested (lists, structs, maps, repeated fields). */
  nestedColumns: string[];
  /** Top-level columns that are or hold a MAP (Polars reads a map as List(Struct({key, value}))). */
  mapColumns: string[];
  /** Declared uncompressed bytes of the nested columns' chunks. */
  nestedBytes: number;
  /**
   * Nulls the writer counted in each flat top-level column (the chunks' `statistics.null_count`,
   * summed), by name; absent when a chunk does not say. More nulls after reading means the reader
   * turned stored values into nulls (a TIME of 24:00:00, say).
   */
  storedNulls: Map<string, number>;
}

const FOOTER_CAP = 64 * 1024 * 1024;
const PAGE_BUDGET = 20_000;
const MiB = 1024 * 1024;

const PHYSICAL = ["BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"];
const BYTE_ARRAY = 6;
const FLBA = 7;
/** LogicalType union members (parquet.thrift). */
const LOGICAL: Record<number, string> = {
  1: "STRING", 2: "MAP", 3: "LIST", 4: "ENUM", 5: "DECIMAL", 6: "DATE", 7: "TIME", 8: "TIMESTAMP", 10: "INTEGER",
  11: "NULL", 12: "JSON", 13: "BSON", 14: "UUID", 15: "FLOAT16", 16: "VARIANT", 17: "GEOMETRY", 18: "GEOGRAPHY",
};
const UNSUPPORTED_LOGICAL = new Set(["BSON", "VARIANT", "GEOMETRY", "GEOGRAPHY"]);
/** Converted (legacy) types that make a byte array text or a number. */
const TEXT_CONVERTED = new Set([0 /* UTF8 */, 4 /* ENUM */, 5 /* DECIMAL */, 19 /* JSON */]);
const TEXT_LOGICAL = new Set(["STRING", "ENUM", "DECIMAL", "JSON"]);
const CONVERTED_INTERVAL = 21;
const CONVERTED_BSON = 20;
const CONVERTED_JSON = 19;
const INT96 = 3;

interface SchemaNode {
  name: string;
  element: TStruct;
  children: SchemaNode[];
  repeated: boolean;
}

function mib(bytes: number): string {
  return `${Math.max(1, Math.round(bytes / MiB))} MiB`;
}

function bad(detail: string): never {
  throw unparseable(`The Parquet file is damaged or forged: ${detail}`);
}

async function readAt(fh: FileHandle, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.alloc(length);
  const { bytesRead } = await fh.read(buf, 0, length, position);
  return buf.subarray(0, bytesRead);
}

/** Rebuilds the schema tree from its depth-first list; null-safe against lying child counts. */
function buildSchema(elements: TStruct[]): SchemaNode {
  let i = 0;
  const node = (depth: number): SchemaNode => {
    // a valid file can be this deep (DuckDB writes 32 nested lists as 64 levels): say the limit, not "damaged"
    if (depth > 64) throw unparseable("The Parquet file's schema is nested more than 64 levels deep (about 31 nested lists), more than this service reads. Flatten the deepest column(s), or store them as JSON text.");
    const element = elements[i++];
    if (!element) bad("its schema lists fewer elements than its groups declare.");
    const declared = intOf(element, 5);
    const children: SchemaNode[] = [];
    if (declared !== undefined) {
      if (declared < 0 || declared > elements.length - i) bad("its schema declares more child columns than it lists.");
      for (let c = 0; c < declared; c++) children.push(node(depth + 1));
    }
    return { name: stringOf(element, 4) ?? "", element, children, repeated: intOf(element, 3) === 2 };
  };
  const root = node(0);
  if (i !== elements.length) bad("its schema lists elements outside the column tree.");
  return root;
}

/** The logical type's name, "UNKNOWN(n)" for a member this service does not know, or null. */
function logicalName(element: TStruct): string | null {
  const lt = structOf(element, 10);
  if (!lt) return null;
  const ids = [...lt.keys()];
  if (ids.length === 0) return "UNKNOWN";
  const id = ids[0]!;
  return LOGICAL[id] ?? `UNKNOWN(${id})`;
}

/** The special kind of a leaf (bytes, UUID, JSON, Float16, INT96), or null. */
function specialKind(n: SchemaNode): SpecialKind | null {
  if (n.children.length > 0) return null;
  const physical = intOf(n.element, 1);
  const logical = logicalName(n.element);
  const converted = intOf(n.element, 6);
  if (physical === INT96) return "int96";
  if (logical === "UUID") return "uuid";
  if (logical === "FLOAT16") return "float16";
  if (logical === "JSON" || converted === CONVERTED_JSON) return "json";
  return isBinary(n) ? "binary" : null;
}

/** Converted (legacy) types of a map group: MAP, MAP_KEY_VALUE. */
const CONVERTED_MAP = new Set([1, 2]);

/** Whether a (sub)column is, or holds, a MAP (logical type or legacy annotation). */
function holdsMap(n: SchemaNode): boolean {
  if (logicalName(n.element) === "MAP" || CONVERTED_MAP.has(intOf(n.element, 6) ?? -1)) return true;
  return n.children.some(holdsMap);
}

/** Decimal precision of a leaf (logical type or legacy field), or null. */
function decimalPrecision(n: SchemaNode): number | null {
  const lt = structOf(n.element, 10);
  const decimal = lt ? structOf(lt, 5) : undefined;
  const precision = decimal ? intOf(decimal, 2) : intOf(n.element, 6) === 5 ? intOf(n.element, 8) : undefined;
  return precision ?? null;
}

/** Why a (sub)column cannot be served, or null. */
function unsupportedType(n: SchemaNode, nested = false): string | null {
  const logical = logicalName(n.element);
  if (logical && (UNSUPPORTED_LOGICAL.has(logical) || logical.startsWith("UNKNOWN"))) return logical === "UNKNOWN" ? "an unknown logical type" : logical;
  const converted = intOf(n.element, 6);
  if (converted === CONVERTED_INTERVAL) return "INTERVAL";
  if (converted === CONVERTED_BSON) return "BSON";
  const precision = decimalPrecision(n);
  if (precision !== null && precision > 38) return `DECIMAL(${precision}, ${intOf(n.element, 7) ?? 0}), wider than the 38 digits this service keeps exactly`;
  if (nested) {
    const special = specialKind(n);
    if (special) return `${special === "binary" ? "bytes" : special === "int96" ? "INT96 timestamps" : special === "float16" ? "FLOAT16" : special.toUpperCase()} inside nested values`;
  }
  for (const c of n.children) {
    const inner = unsupportedType(c, true);
    if (inner) return inner;
  }
  return null;
}

function leafCount(n: SchemaNode): number {
  return n.children.length === 0 ? 1 : n.children.reduce((s, c) => s + leafCount(c), 0);
}

function isBinary(n: SchemaNode): boolean {
  if (n.children.length > 0 || n.repeated) return false;
  const physical = intOf(n.element, 1);
  if (physical !== BYTE_ARRAY && physical !== FLBA) return false;
  const logical = logicalName(n.element);
  if (logical && (TEXT_LOGICAL.has(logical) || logical === "FLOAT16")) return false;
  const converted = intOf(n.element, 6);
  return converted === undefined || !TEXT_CONVERTED.has(converted);
}

/** Walks the page headers of one column chunk, checking declared sizes and counts. */
async function checkPages(fh: FileHandle, size: number, column: string, meta: TStruct, limits: FooterLimits, budget: { pages: number }): Promise<void> {
  const dataOffset = intOf(meta, 9) ?? -1;
  const dictOffset = intOf(meta, 11);
  const start = dictOffset !== undefined && dictOffset > 0 && dictOffset < dataOffset ? dictOffset : dataOffset;
  const compressed = intOf(meta, 7) ?? -1;
  const chunkUncompressed = intOf(meta, 6) ?? -1;
  // An empty chunk (0 values) may point anywhere, even at offset 0.
  if (compressed === 0 || (intOf(meta, 5) ?? 0) === 0) return;
  if (start < 4 || compressed < 0 || start + compressed > size) bad(`column ${JSON.stringify(column)} points outside the file.`);
  const end = start + compressed;
  let pos = start;
  let window: Buffer = Buffer.alloc(0);
  let windowStart = 0;
  while (pos < end && budget.pages > 0) {
    budget.pages--;
    let header: TStruct = new Map();
    let headerEnd = 0;
    let want = 16 * 1024;
    for (;;) {
      if (pos < windowStart || pos >= windowStart + window.length) {
        window = await readAt(fh, pos, Math.min(want, end - pos));
        windowStart = pos;
      }
      try {
        const decoded = decodeStruct(window, pos - windowStart);
        header = decoded.value;
        headerEnd = windowStart + decoded.end;
        break;
      } catch (err) {
        const available = windowStart + window.length - pos;
        if (!(err instanceof ThriftTruncated) || available >= end - pos || want >= 16 * MiB) bad(`a page header of column ${JSON.stringify(column)} cannot be read.`);
        want = Math.min(16 * MiB, Math.max(want, available) * 16);
        window = await readAt(fh, pos, Math.min(want, end - pos));
        windowStart = pos;
      }
    }
    const uncompressedPage = intOf(header, 2) ?? -1;
    const compressedPage = intOf(header, 3) ?? -1;
    if (uncompressedPage < 0 || compressedPage < 0) bad(`a page of column ${JSON.stringify(column)} declares a negative size.`);
    if (headerEnd + compressedPage > end) bad(`a page of column ${JSON.stringify(column)} runs past its column chunk.`);
    if (chunkUncompressed >= 0 && uncompressedPage > chunkUncompressed) {
      bad(`a page of column ${JSON.stringify(column)} declares ${uncompressedPage} bytes uncompressed, more than its whole column chunk (${chunkUncompressed} bytes).`);
    }
    if (uncompressedPage > limits.memoryBytes / 4) {
      throw tooLarge(`A page of column ${JSON.stringify(column)} decompresses to ${mib(uncompressedPage)}, more than this service's parser can hold (PARSE_MEMORY_MB).`);
    }
    for (const id of [5, 7, 8]) {
      const sub = structOf(header, id);
      const values = sub ? intOf(sub, 1) : undefined;
      if (values !== undefined && values < 0) bad(`a page of column ${JSON.stringify(column)} declares a negative number of values.`);
    }
    pos = headerEnd + compressedPage;
  }
}

/**
 * Reads and checks the footer of the Parquet file at `filePath` (`size` bytes).
 * @throws ApiError 413 (rows, columns or sizes over the limits), 422 (encrypted, damaged or
 * forged metadata, unsupported logical types).
 */
export async function checkParquetFooter(filePath: string, size: number, limits: FooterLimits): Promise<FooterFacts> {
  const fh = await open(filePath, "r");
  try {
    if (size < 12) bad("it is too short to hold a footer.");
    const tail = await readAt(fh, size - 8, 8);
    const magic = tail.toString("latin1", 4, 8);
    if (magic === "PARE") throw unparseable("The Parquet file is encrypted (encrypted footer); this service cannot read encrypted Parquet files. Upload it decrypted.");
    if (magic !== "PAR1") bad("its footer is missing.");
    const footerLength = tail.readUInt32LE(0);
    if (footerLength > size - 12) bad(`its footer claims ${footerLength} bytes, more than the file holds.`);
    if (footerLength > FOOTER_CAP) throw tooLarge(`The Parquet file's metadata is ${mib(footerLength)}, more than this service reads.`);
    const footerBytes = await readAt(fh, size - 8 - footerLength, footerLength);

    let meta: TStruct;
    try {
      meta = decodeStruct(footerBytes).value;
    } catch (err) {
      if (err instanceof ThriftError) bad(`its metadata cannot be decoded (${err.message}).`);
      throw err;
    }
    if (meta.has(8)) throw unparseable("The Parquet file is encrypted (plaintext footer, encrypted columns); this service cannot read encrypted Parquet files. Upload it decrypted.");

    const numRows = bigintOf(meta, 3);
    if (numRows === undefined || numRows < 0n) bad("it does not declare a valid row count.");
    if (numRows > BigInt(limits.maxRows)) throw tooLarge(`The Parquet file declares ${numRows} rows; the limit of this service is ${limits.maxRows}.`);

    const elements = listOf(meta, 2).filter((e): e is TStruct => e instanceof Map);
    if (elements.length < 2) bad("its schema has no columns.");
    const root = buildSchema(elements);
    const leaves = leafCount(root);
    if (leaves > limits.maxColumns) throw tooLarge(`The file has ${leaves} columns; the limit of this service is ${limits.maxColumns}.`);
    // Before row counts: types polars cannot read (INTERVAL aborts the whole process) never reach it.
    const unsupported = root.children.map((c) => [c.name, unsupportedType(c, c.repeated)] as const).filter((p): p is readonly [string, string] => p[1] !== null);
    if (unsupported.length > 0) {
      const list = unsupported.slice(0, 5).map(([n, t]) => `${JSON.stringify(n)} (${t})`).join(", ");
      throw unparseable(`The Parquet file has column(s) of a type this service does not support: ${list}${unsupported.length > 5 ? ", …" : ""}.`, { columns: unsupported.map(([n]) => n) });
    }
    // Leaf paths in schema order, each with whether it is a flat (one value per row) column.
    const leafInfo: { path: string; flat: boolean }[] = [];
    const walk = (n: SchemaNode, prefix: string[], nested: boolean) => {
      if (n.children.length === 0) leafInfo.push({ path: [...prefix, n.name].join("."), flat: !nested && !n.repeated });
      else n.children.forEach((c) => walk(c, [...prefix, n.name], true));
    };
    root.children.forEach((c) => (c.children.length === 0 ? walk(c, [], false) : walk(c, [], true)));

    // null counts of flat top-level columns (leaf path = column name); null once a chunk has none
    const nullSums = new Map<string, bigint | null>();
    let rowSum = 0n;
    let uncompressedTotal = 0;
    let nestedBytes = 0;
    const budget = { pages: PAGE_BUDGET };
    for (const rgValue of listOf(meta, 4)) {
      if (!(rgValue instanceof Map)) bad("a row group cannot be decoded.");
      const rg = rgValue;
      const rgRows = bigintOf(rg, 3);
      if (rgRows === undefined || rgRows < 0n) bad("a row group declares no valid row count.");
      rowSum += rgRows;
      const chunks = listOf(rg, 1);
      if (chunks.length !== leaves) bad(`a row group has ${chunks.length} column chunks for ${leaves} columns.`);
      for (const [i, chunkValue] of chunks.entries()) {
        const chunk = chunkValue as TValue;
        if (!(chunk instanceof Map)) bad("a column chunk cannot be decoded.");
        const leaf = leafInfo[i]!;
        if (chunk.has(8) || chunk.has(9)) throw unparseable("The Parquet file has encrypted columns; this service cannot read encrypted Parquet files. Upload it decrypted.");
        if ((stringOf(chunk, 1) ?? "") !== "") throw unparseable(`Column ${JSON.stringify(leaf.path)} is stored in another file; upload a self-contained Parquet file.`);
        const cm = structOf(chunk, 3);
        if (!cm) bad(`column ${JSON.stringify(leaf.path)} has no metadata.`);
        const values = bigintOf(cm, 5) ?? -1n;
        if (values < 0n) bad(`column ${JSON.stringify(leaf.path)} declares a negative number of values.`);
        if (leaf.flat ? values !== rgRows : values < rgRows) {
          bad(`column ${JSON.stringify(leaf.path)} holds ${values} values in a row group of ${rgRows} rows.`);
        }
        const uncompressed = intOf(cm, 6) ?? -1;
        if (uncompressed < 0) bad(`column ${JSON.stringify(leaf.path)} declares a negative size.`);
        uncompressedTotal += uncompressed;
        if (!leaf.flat) nestedBytes += uncompressed;
        if (uncompressedTotal > limits.memoryBytes) {
          throw tooLarge(`The Parquet file decompresses to more than ${mib(limits.memoryBytes)}, the memory limit of one parse (PARSE_MEMORY_MB).`);
        }
        if (leaf.flat) {
          const stored = bigintOf(structOf(cm, 12) ?? new Map(), 3);
          const sum = nullSums.has(leaf.path) ? nullSums.get(leaf.path)! : 0n;
          nullSums.set(leaf.path, sum === null || stored === undefined || stored < 0n ? null : sum + stored);
        }
        await checkPages(fh, size, leaf.path, cm, limits, budget);
      }
    }
    if (rowSum !== numRows) bad(`it declares ${numRows} rows but its row groups hold ${rowSum}.`);

    const physicalOf = (n: SchemaNode) => PHYSICAL[intOf(n.element, 1) ?? -1];
    const flatTop = root.children.filter((c) => c.children.length === 0 && !c.repeated && physicalOf(c) !== undefined);
    const special = flatTop.flatMap((c) => {
      const kind = specialKind(c);
      return kind ? [{ name: c.name, kind }] : [];
    });
    return {
      numRows: Number(numRows),
      leafColumns: leaves,
      binaryColumns: special.filter((c) => c.kind === "binary").map((c) => c.name),
      float16Columns: special.filter((c) => c.kind === "float16").map((c) => c.name),
      special,
      nestedColumns: root.children.filter((c) => c.children.length > 0 || c.repeated).map((c) => c.name),
      mapColumns: root.children.filter(holdsMap).map((c) => c.name),
      nestedBytes,
      storedNulls: new Map([...nullSums].flatMap(([name, n]) => (n === null ? [] : [[name, Number(n)] as const]))),
    };
  } finally {
    await fh.close();
  }
}
