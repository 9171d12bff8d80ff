/**
 * Row filters as the API takes them (`column:op:value`, repeatable) and as the table's header
 * boxes show them: one choice per column of every operator the API has for the column's type,
 * plus "between", which is two API filters (`gte` and `lte`) on one column.
 */
import type { ColumnInfo } from "./api.ts";
import { isBoolean, isNumeric, isString, isTemporal } from "./format.ts";

/** One `filter=` of the API. */
export interface Filter {
  column: string;
  op: string;
  value: string;
}

type Kind = "string" | "number" | "temporal" | "boolean" | "other";
type Arity = "none" | "one" | "list" | "range";

export interface UiOp {
  /** The API op, or "between" (gte + lte). */
  op: string;
  label: string;
  arity: Arity;
  kinds: Kind[];
  placeholder?: string;
}

const ALL: Kind[] = ["string", "number", "temporal", "boolean", "other"];
const ORDERED: Kind[] = ["string", "number", "temporal"];

// Text matches ignore case by default (Unicode-aware on the server); "match case" variants follow.
const OPS: UiOp[] = [
  { op: "icontains", label: "contains", arity: "one", kinds: ["string"], placeholder: "contains" },
  { op: "ieq", label: "equals", arity: "one", kinds: ["string"], placeholder: "equals (any case)" },
  { op: "eq", label: "=", arity: "one", kinds: ALL, placeholder: "equals" },
  { op: "ne", label: "≠", arity: "one", kinds: ALL, placeholder: "not equal to" },
  { op: "istartswith", label: "starts with", arity: "one", kinds: ["string"], placeholder: "starts with" },
  { op: "iendswith", label: "ends with", arity: "one", kinds: ["string"], placeholder: "ends with" },
  { op: "contains", label: "contains (match case)", arity: "one", kinds: ["string"], placeholder: "contains, same case" },
  { op: "startswith", label: "starts with (match case)", arity: "one", kinds: ["string"], placeholder: "starts with, same case" },
  { op: "endswith", label: "ends with (match case)", arity: "one", kinds: ["string"], placeholder: "ends with, same case" },
  { op: "gt", label: ">", arity: "one", kinds: ORDERED, placeholder: "greater than" },
  { op: "gte", label: "≥", arity: "one", kinds: ORDERED, placeholder: "at least" },
  { op: "lt", label: "<", arity: "one", kinds: ORDERED, placeholder: "less than" },
  { op: "lte", label: "≤", arity: "one", kinds: ORDERED, placeholder: "at most" },
  { op: "between", label: "between", arity: "range", kinds: ["number", "temporal"], placeholder: "from..to" },
  { op: "in", label: "is one of", arity: "list", kinds: ["string", "number", "temporal", "other"], placeholder: "a|b|c" },
  { op: "isnull", label: "is null", arity: "none", kinds: ALL },
  { op: "notnull", label: "is not null", arity: "none", kinds: ALL },
];

/** Every op the API knows, for reading filters back from a URL. */
const API_OPS = new Set(OPS.filter((o) => o.op !== "between").map((o) => o.op));

export function kindOf(dtype: string): Kind {
  if (isString(dtype)) return "string";
  if (isNumeric(dtype)) return "number";
  if (isTemporal(dtype)) return "temporal";
  if (isBoolean(dtype)) return "boolean";
  return "other";
}

/** The ops offered for a column of `dtype`, the default first. */
export function opsFor(dtype: string): UiOp[] {
  const kind = kindOf(dtype);
  return OPS.filter((o) => o.kinds.includes(kind));
}

export function uiOp(op: string): UiOp | undefined {
  return OPS.find((o) => o.op === op);
}

/** `column:op:value` as the API takes it. */
export function formatFilter(f: Filter): string {
  return uiOp(f.op)?.arity === "none" ? `${f.column}:${f.op}` : `${f.column}:${f.op}:${f.value}`;
}

/**
 * Reads `column:op:value` back. Column names may hold colons, so the op is the first `:op` (followed
 * by `:` or the end) whose left side is a column of this version.
 */
export function parseFilter(text: string, columns: readonly ColumnInfo[]): Filter | null {
  const names = new Set(columns.map((c) => c.name));
  for (let i = text.indexOf(":"); i > 0; i = text.indexOf(":", i + 1)) {
    const column = text.slice(0, i);
    if (!names.has(column)) continue;
    const rest = text.slice(i + 1);
    const j = rest.indexOf(":");
    const op = j < 0 ? rest : rest.slice(0, j);
    if (API_OPS.has(op)) return { column, op, value: j < 0 ? "" : rest.slice(j + 1) };
  }
  return null;
}

/** What one column's header box shows: an op of `opsFor` and its text. */
export interface ColumnFilter {
  op: string;
  value: string;
}

/** The header boxes' view of the API filters: a `gte` and an `lte` on one column become "between a..b". */
export function toColumnFilters(filters: readonly Filter[]): Map<string, ColumnFilter> {
  const out = new Map<string, ColumnFilter>();
  for (const f of filters) {
    const prev = out.get(f.column);
    if (prev && ((prev.op === "gte" && f.op === "lte") || (prev.op === "lte" && f.op === "gte"))) {
      const [lo, hi] = prev.op === "gte" ? [prev.value, f.value] : [f.value, prev.value];
      out.set(f.column, { op: "between", value: `${lo}..${hi}` });
    } else {
      out.set(f.column, { op: f.op, value: f.value });
    }
  }
  return out;
}

/** The API filters of one header box; an empty value means no filter (except for the null ops). */
export function fromColumnFilter(column: string, cf: ColumnFilter): Filter[] {
  const op = uiOp(cf.op);
  if (!op) return [];
  if (op.arity === "none") return [{ column, op: cf.op, value: "" }];
  const value = cf.value.trim();
  if (!value) return [];
  if (op.arity === "range") {
    // "10..20", "10.." (at least), "..20" (at most).
    const at = value.indexOf("..");
    if (at < 0) return [{ column, op: "eq", value }];
    const lo = value.slice(0, at).trim();
    const hi = value.slice(at + 2).trim();
    return [...(lo ? [{ column, op: "gte", value: lo }] : []), ...(hi ? [{ column, op: "lte", value: hi }] : [])];
  }
  if (op.arity === "list") return [{ column, op: cf.op, value: value.split(/\s*\|\s*/).join("|") }];
  return [{ column, op: cf.op, value }];
}

/** "city contains lis" for a chip. */
export function describeFilter(cf: ColumnFilter, column: string): string {
  const op = uiOp(cf.op);
  if (!op) return `${column} ${cf.op} ${cf.value}`;
  if (op.arity === "none") return `${column} ${op.label}`;
  if (op.arity === "range") return `${column} between ${cf.value.replace("..", " and ")}`;
  return `${column} ${op.label.replace(/ \(.*\)$/, "")} ${op.arity === "list" ? cf.value.split("|").join(", ") : cf.value}`;
}
