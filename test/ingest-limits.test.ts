/**
 * Building blocks of the cheap pre-parse checks: the Thrift compact codec that reads Parquet
 * footers, and how a parser child's death is explained to the client.
 */
import { describe, expect, it } from "vitest";
import { decodeStruct, encodeStruct, intOf, listOf, stringOf, struct, T, ThriftError, ThriftTruncated, type TStruct } from "../src/ingest/thrift.ts";
import { crashError } from "../src/sandbox/limits.ts";

describe("Thrift compact codec", () => {
  it("round-trips structs with every wire type, including ids that need the long field header", () => {
    const original = struct(
      [1, T.I32, -7],
      [2, T.I64, 2n ** 40n],
      [3, T.BINARY, Buffer.from("héllo")],
      [4, T.TRUE, true],
      [5, T.FALSE, false],
      [6, T.DOUBLE, 1.5],
      [7, T.LIST, { kind: "list", elem: T.I32, items: Array.from({ length: 20 }, (_, i) => i - 10) }],
      [40, T.STRUCT, struct([1, T.BINARY, Buffer.from("inner")])],
      [41, T.MAP, { kind: "map", key: T.BINARY, value: T.I16, entries: [[Buffer.from("k"), 3]] }],
    );
    const bytes = encodeStruct(original);
    const { value, end } = decodeStruct(bytes);
    expect(end).toBe(bytes.length);
    expect(intOf(value, 1)).toBe(-7);
    expect(value.get(2)?.value).toBe(2n ** 40n);
    expect(stringOf(value, 3)).toBe("héllo");
    expect(value.get(4)?.value).toBe(true);
    expect(value.get(5)?.value).toBe(false);
    expect(value.get(6)?.value).toBe(1.5);
    expect(listOf(value, 7)).toEqual(Array.from({ length: 20 }, (_, i) => i - 10));
    expect(stringOf(value.get(40)?.value as TStruct, 1)).toBe("inner");
    expect(encodeStruct(value)).toEqual(bytes);
  });

  it("refuses truncated data and counts that run past the end, without allocating them", () => {
    const bytes = encodeStruct(struct([1, T.BINARY, Buffer.alloc(100)]));
    expect(() => decodeStruct(bytes.subarray(0, 50))).toThrow(ThriftTruncated);
    // A list header claiming 2^31 elements in a 10-byte buffer.
    const forged = Buffer.from([0x19, 0xf5, 0xff, 0xff, 0xff, 0xff, 0x07, 0, 0, 0]);
    expect(() => decodeStruct(forged)).toThrow(ThriftError);
  });
});

describe("a parser child that dies", () => {
  it("is a 422 UNPARSEABLE_FILE quoting a Rust panic, without paths", () => {
    const err = crashError("thread '<unnamed>' (1) panicked at /home/runner/.cargo/registry/src/polars-core/src/field.rs:196:81:\ncalled `Result::unwrap()` on an `Err` value: unable to parse time zone: '-02:15'\nstack backtrace:\n");
    expect(err.status).toBe(422);
    expect(err.code).toBe("UNPARSEABLE_FILE");
    expect(err.message).toContain("unable to parse time zone");
    expect(err.message).not.toContain("/home/");
  });

  it("is a 422 PARSE_LIMIT when it ran out of memory or was killed", () => {
    expect(crashError("memory allocation of 4294967296 bytes failed\n").code).toBe("PARSE_LIMIT");
    expect(crashError("FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory").code).toBe("PARSE_LIMIT");
    expect(crashError("").code).toBe("PARSE_LIMIT");
  });
});
