import { afterAll, describe, expect, it } from "vitest";
import { frameJsonRows } from "../src/frame/safe.ts";
import { inspectUpload, parseUpload } from "../src/ingest/index.ts";
import { columnsOf, LIMITS, opts, tempDir } from "./ingest-helpers.ts";

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe("no silent changes at the edges of inference", () => {
  it("keeps a decimal column with 2^53 + 1 as String rather than rounding it", async () => {
    const file = tmp.write("edge.csv", "f,g\n1.5,1.5\n9007199254740993,9007199254740992\n2.25,2.25\n");
    const { frame } = await parseUpload(file, opts(), LIMITS);
    expect(columnsOf(frame)).toEqual([{ name: "f", dtype: "String" }, { name: "g", dtype: "Float64" }]);
    expect(JSON.parse(frameJsonRows(frame)).map((r: any) => r.f)).toEqual(["1.5", "9007199254740993", "2.25"]);
    const report: any = await inspectUpload(file, opts(), LIMITS);
    expect(report.columns[0]).toMatchObject({ name: "f", dtype: "String", counterexamples: ["9007199254740993"] });
  });

  it("lists leading-zero codes as the counterexamples that kept a column from Int64", async () => {
    const file = tmp.write("codes.csv", "code\n1\n2\n00123\n");
    const report: any = await inspectUpload(file, opts(), LIMITS);
    expect(report.columns[0]).toMatchObject({ name: "code", dtype: "String", counterexamples: ["00123"] });
  });

  it("renames headers Polars would read as patterns (`*`, `^…$`) and reports it", async () => {
    const file = tmp.write("names.csv", "a,*,^x$\n1,2,3\n");
    const { frame, source } = await parseUpload(file, opts(), LIMITS);
    expect(columnsOf(frame).map((c) => c.name)).toEqual(["a", "column_2", "column_3"]);
    expect(source.renamedColumns).toEqual([{ from: "*", to: "column_2" }, { from: "^x$", to: "column_3" }]);
    expect(JSON.parse(frameJsonRows(frame))).toEqual([{ a: 1, column_2: 2, column_3: 3 }]);
  });
});
