/** Table cells shared by every table of rows (a version's data, SQL results, compared rows). */
import { h } from "./dom.ts";
import { isNumeric } from "./format.ts";

/** One cell: nulls stand out as a pill, empty strings say so, long text is cut with a tooltip. */
export function cell(value: unknown, dtype: string, extraClass = ""): HTMLTableCellElement {
  const numeric = isNumeric(dtype);
  const cls = (base: string) => `${base} ${extraClass}`.trim();
  if (value === null || value === undefined) return h("td", { class: cls(numeric ? "num null-cell" : "null-cell") }, h("span", { class: "null-pill" }, "null"));
  const text = typeof value === "object" ? JSON.stringify(value) : String(value);
  if (numeric) return h("td", { class: cls("num") }, text);
  if (typeof value === "boolean") return h("td", { class: cls("bool") }, text);
  return h("td", { class: cls("text"), title: text.length > 40 ? text : null }, text === "" ? h("span", { class: "empty-pill" }, "(empty)") : text);
}

/** Rows of a page as table rows, numbered from `offset + 1`. */
export function rowElements(columns: readonly { name: string; dtype: string }[], rows: readonly unknown[], offset: number): HTMLTableRowElement[] {
  return rows.map((row, i) => {
    const get = Array.isArray(row) ? (j: number) => row[j] : (j: number) => (row as Record<string, unknown>)[columns[j]!.name];
    return h("tr", null, h("td", { class: "rownum" }, (offset + i + 1).toLocaleString("en-US")), columns.map((c, j) => cell(get(j), c.dtype)));
  });
}
