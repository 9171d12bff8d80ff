/**
 * A small, defensive Thrift compact-protocol codec: enough to read a Parquet footer and page
 * headers before any parser sees the file (and, for the hostile-input generator, to write them).
 *
 * Values are kept generic (a struct is a map from field id to typed value), so unknown fields and
 * union members survive a decode/encode round trip. Every length and count is checked against the
 * bytes that remain, and nesting is capped, so a hostile footer costs at most its own size.
 */

/** Compact-protocol wire types. */
export const T = {
  STOP: 0,
  TRUE: 1,
  FALSE: 2,
  BYTE: 3,
  I16: 4,
  I32: 5,
  I64: 6,
  DOUBLE: 7,
  BINARY: 8,
  LIST: 9,
  SET: 10,
  MAP: 11,
  STRUCT: 12,
} as const;

export type TValue = boolean | number | bigint | Buffer | TList | TMap | TStruct;

export interface TList {
  kind: "list";
  /** Wire type of the elements. */
  elem: number;
  items: TValue[];
}

export interface TMap {
  kind: "map";
  key: number;
  value: number;
  entries: [TValue, TValue][];
}

export interface TField {
  type: number;
  value: TValue;
}

/** A decoded struct: field id → typed value. */
export type TStruct = Map<number, TField>;

/** Thrown for bytes that are not valid compact Thrift (truncated, absurd counts, too deep). */
export class ThriftError extends Error {}

/** Thrown when a struct runs past the end of the buffer: more bytes may make it decodable. */
export class ThriftTruncated extends ThriftError {}

const MAX_DEPTH = 64;

class Reader {
  pos = 0;
  readonly buf: Buffer;
  constructor(buf: Buffer, pos: number) {
    this.buf = buf;
    this.pos = pos;
  }

  byte(): number {
    if (this.pos >= this.buf.length) throw new ThriftTruncated("unexpected end of Thrift data");
    return this.buf[this.pos++]!;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
    throw new ThriftError("varint longer than 10 bytes");
  }

  zigzag(): bigint {
    const n = this.varint();
    return (n >> 1n) ^ -(n & 1n);
  }

  /** A zigzag integer that must fit a JS number (i16/i32). */
  smallInt(): number {
    return Number(this.zigzag());
  }

  size(): number {
    const n = this.varint();
    if (n > BigInt(this.buf.length - this.pos)) throw new ThriftTruncated("a length or count runs past the end of the Thrift data");
    return Number(n);
  }

  value(type: number, depth: number): TValue {
    switch (type) {
      case T.TRUE:
        return true;
      case T.FALSE:
        return false;
      case T.BYTE: {
        const b = this.byte();
        return b > 127 ? b - 256 : b;
      }
      case T.I16:
      case T.I32:
        return this.smallInt();
      case T.I64:
        return BigInt.asIntN(64, this.zigzag());
      case T.DOUBLE: {
        if (this.pos + 8 > this.buf.length) throw new ThriftTruncated("unexpected end of Thrift data");
        const v = this.buf.readDoubleLE(this.pos);
        this.pos += 8;
        return v;
      }
      case T.BINARY: {
        const n = this.size();
        const v = this.buf.subarray(this.pos, this.pos + n);
        this.pos += n;
        return v;
      }
      case T.LIST:
      case T.SET: {
        const header = this.byte();
        const elem = header & 0x0f;
        const count = header >> 4 === 15 ? this.size() : header >> 4;
        const items: TValue[] = [];
        for (let i = 0; i < count; i++) items.push(elem === T.TRUE || elem === T.FALSE ? this.byte() === 1 : this.value(elem, depth + 1));
        return { kind: "list", elem, items };
      }
      case T.MAP: {
        const count = this.size();
        if (count === 0) return { kind: "map", key: 0, value: 0, entries: [] };
        const kv = this.byte();
        const entries: [TValue, TValue][] = [];
        for (let i = 0; i < count; i++) entries.push([this.value(kv >> 4, depth + 1), this.value(kv & 0x0f, depth + 1)]);
        return { kind: "map", key: kv >> 4, value: kv & 0x0f, entries };
      }
      case T.STRUCT:
        return this.struct(depth + 1);
      default:
        throw new ThriftError(`unknown Thrift type ${type}`);
    }
  }

  struct(depth: number): TStruct {
    if (depth > MAX_DEPTH) throw new ThriftError("Thrift structures nested too deeply");
    const out: TStruct = new Map();
    let last = 0;
    for (;;) {
      const header = this.byte();
      const type = header & 0x0f;
      if (type === T.STOP) return out;
      const delta = header >> 4;
      const id = delta === 0 ? this.smallInt() : last + delta;
      last = id;
      out.set(id, { type, value: this.value(type, depth) });
    }
  }
}

/** Decodes one struct starting at `offset`; returns it and the offset just past it. */
export function decodeStruct(buf: Buffer, offset = 0): { value: TStruct; end: number } {
  const r = new Reader(buf, offset);
  const value = r.struct(0);
  return { value, end: r.pos };
}

// --- encoding (used to build test files) ---

function varint(n: bigint, out: number[]): void {
  let v = BigInt.asUintN(64, n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
}

function zigzag(n: bigint): bigint {
  return BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
}

function encodeValue(type: number, v: TValue, out: number[]): void {
  switch (type) {
    case T.TRUE:
    case T.FALSE:
      return;
    case T.BYTE:
      out.push((v as number) & 0xff);
      return;
    case T.I16:
    case T.I32:
      varint(zigzag(BigInt(v as number)), out);
      return;
    case T.I64:
      varint(zigzag(BigInt(v as bigint | number)), out);
      return;
    case T.DOUBLE: {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(v as number);
      out.push(...b);
      return;
    }
    case T.BINARY: {
      const b = Buffer.isBuffer(v) ? v : Buffer.from(String(v));
      varint(BigInt(b.length), out);
      for (const x of b) out.push(x);
      return;
    }
    case T.LIST:
    case T.SET: {
      const l = v as TList;
      if (l.items.length < 15) out.push((l.items.length << 4) | l.elem);
      else {
        out.push(0xf0 | l.elem);
        varint(BigInt(l.items.length), out);
      }
      for (const item of l.items) {
        if (l.elem === T.TRUE || l.elem === T.FALSE) out.push(item ? 1 : 2);
        else encodeValue(l.elem, item, out);
      }
      return;
    }
    case T.MAP: {
      const m = v as TMap;
      varint(BigInt(m.entries.length), out);
      if (m.entries.length === 0) return;
      out.push((m.key << 4) | m.value);
      for (const [k, x] of m.entries) {
        encodeValue(m.key, k, out);
        encodeValue(m.value, x, out);
      }
      return;
    }
    case T.STRUCT:
      encodeStructInto(v as TStruct, out);
      return;
    default:
      throw new ThriftError(`unknown Thrift type ${type}`);
  }
}

function encodeStructInto(s: TStruct, out: number[]): void {
  let last = 0;
  for (const id of [...s.keys()].sort((a, b) => a - b)) {
    const f = s.get(id)!;
    const type = f.type === T.TRUE || f.type === T.FALSE ? (f.value ? T.TRUE : T.FALSE) : f.type;
    const delta = id - last;
    if (delta > 0 && delta <= 15) out.push((delta << 4) | type);
    else {
      out.push(type);
      varint(zigzag(BigInt(id)), out);
    }
    last = id;
    encodeValue(type, f.value, out);
  }
  out.push(T.STOP);
}

/** Encodes a struct in the compact protocol. */
export function encodeStruct(s: TStruct): Buffer {
  const out: number[] = [];
  encodeStructInto(s, out);
  return Buffer.from(out);
}

// --- typed access to decoded structs ---

/** Builds a struct from `[id, type, value]` triples (test-file writer convenience). */
export function struct(...fields: [number, number, TValue][]): TStruct {
  return new Map(fields.map(([id, type, value]) => [id, { type, value }]));
}

export function fieldOf(s: TStruct, id: number): TValue | undefined {
  return s.get(id)?.value;
}

/** An integer field as a JS number (i64 beyond 2^53 stays approximate, which is fine for limits). */
export function intOf(s: TStruct, id: number): number | undefined {
  const v = fieldOf(s, id);
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  return undefined;
}

export function bigintOf(s: TStruct, id: number): bigint | undefined {
  const v = fieldOf(s, id);
  if (typeof v === "bigint") return v;
  if (typeof v === "number") return BigInt(v);
  return undefined;
}

export function stringOf(s: TStruct, id: number): string | undefined {
  const v = fieldOf(s, id);
  return Buffer.isBuffer(v) ? v.toString("utf8") : undefined;
}

export function structOf(s: TStruct, id: number): TStruct | undefined {
  const v = fieldOf(s, id);
  return v instanceof Map ? v : undefined;
}

export function listOf(s: TStruct, id: number): TValue[] {
  const v = fieldOf(s, id);
  return v && typeof v === "object" && !Buffer.isBuffer(v) && !(v instanceof Map) && v.kind === "list" ? v.items : [];
}
