/**
 * The safety check of a parsed statement, before Polars sees it. Allow-lists at every layer
 * where a query could reach outside the datasets it names:
 * - statement: only a query (`SELECT`, `WITH … SELECT`, `VALUES`, set operations of those);
 *   `CREATE`, `INSERT`, `COPY`, `ATTACH`, `SET`, `EXPLAIN`, `SHOW`, `DROP`, … are refused;
 * - query bodies: `SELECT`, nested queries, `UNION`/`INTERSECT`/`EXCEPT`, `VALUES` only (a CTE
 *   body cannot be an `INSERT`/`UPDATE`/`DELETE`/`MERGE`, nor `TABLE x`); no `SELECT … INTO`,
 *   no `FOR UPDATE`, no recursive CTEs;
 * - FROM items: a table name (one identifier, no arguments, no modifiers), a subquery (not
 *   `LATERAL`), a parenthesised join, or `UNNEST` of literal arrays; never a table function
 *   (`read_csv(…)`, `read_parquet(…)`, …) or any other kind of FROM item;
 * - function calls: one-part names in `ALLOWED_FUNCTIONS` (functions.ts) only.
 * Everything else in the tree is walked generically, so a construct this file does not know
 * still has its subqueries, FROM items and function calls checked.
 *
 * Table names are resolved with CTE scoping: a name that a `WITH` in scope defines is that CTE
 * (a CTE sees the ones before it, not itself); any other is a dataset reference, returned with
 * its position in the canonical text for rewriting (rewrite.ts).
 */
import { badRequest } from "../errors.ts";
import { ALLOWED_FUNCTIONS, FILE_TABLE_FUNCTIONS } from "./functions.ts";
import type { AstNode } from "./parser.ts";

export interface Location {
  line: number;
  column: number;
}

export interface Span {
  start: Location;
  end: Location;
}

/** A table name in FROM that is not a CTE: a dataset (or dataset version) to resolve. */
export interface TableRef {
  /** The identifier's value (unquoted text, case as written). */
  name: string;
  /** Where the identifier (with its quotes) is in the canonical text. */
  span: Span;
  /** Whether the FROM item has its own alias (`FROM sales AS s`). */
  aliased: boolean;
}

type Scope = ReadonlySet<string>[];

function isObject(v: unknown): v is AstNode {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function refuse(detail: string, extra: Record<string, unknown> = {}): never {
  throw badRequest(detail, { parameter: "query", ...extra });
}

/** `CreateTable` → `CREATE TABLE`, for messages about statement kinds. */
function words(variant: string): string {
  return variant.replace(/([a-z])([A-Z])/g, "$1 $2").toUpperCase();
}

const NOT_A_QUERY_HINT = "only SELECT and WITH queries over datasets are allowed (read-only).";

/** A serde-tagged value: its one variant name and payload (`{"Query": {...}}` → ["Query", {...}]). */
function variantOf(node: unknown): [string, unknown] {
  if (typeof node === "string") return [node, undefined];
  if (!isObject(node)) return ["?", undefined];
  const keys = Object.keys(node);
  return keys.length === 1 ? [keys[0] as string, node[keys[0] as string]] : ["?", node];
}

/** A Query struct (the only shape with these three fields). */
function isQuery(node: AstNode): boolean {
  return "body" in node && "locks" in node && "pipe_operators" in node;
}

function present(v: unknown): boolean {
  if (v === undefined || v === null || v === false) return false;
  if (Array.isArray(v)) return v.length > 0;
  return true;
}

/** The one identifier of a one-part object name, or null (multi-part or not an identifier). */
function singleIdent(name: unknown): AstNode | null {
  if (!Array.isArray(name) || name.length !== 1) return null;
  const [kind, ident] = variantOf(name[0]);
  return kind === "Identifier" && isObject(ident) && typeof ident.value === "string" ? ident : null;
}

function nameText(name: unknown): string {
  if (!Array.isArray(name)) return "?";
  return name.map((part) => {
    const [, ident] = variantOf(part);
    return isObject(ident) && typeof ident.value === "string" ? ident.value : "?";
  }).join(".");
}

/** Join operators whose ON condition Polars evaluates as written (inner joins). */
const INNER_JOINS = new Set(["Join", "Inner", "CrossJoin"]);

/** Whether `expr` is equalities joined by AND (`a.id = b.id AND (a.k = b.k)`). */
function equalitiesOnly(expr: unknown): boolean {
  const [kind, value] = variantOf(expr);
  if (kind === "Nested") return equalitiesOnly(value);
  if (kind !== "BinaryOp" || !isObject(value)) return false;
  if (value.op === "And") return equalitiesOnly(value.left) && equalitiesOnly(value.right);
  return value.op === "Eq";
}

/** `LeftOuter` → `LEFT JOIN`, for messages. */
function joinWords(kind: string): string {
  return `${words(kind.replace(/Outer$/, ""))} JOIN`;
}

class Checker {
  readonly tables: TableRef[] = [];

  statement(stmt: AstNode): void {
    const [kind, body] = variantOf(stmt);
    if (kind !== "Query" || !isObject(body)) refuse(`${words(kind)} statements are not allowed: ${NOT_A_QUERY_HINT}`, { statement: kind });
    this.query(body, []);
  }

  query(q: AstNode, scope: Scope): void {
    if (present(q.locks)) refuse("FOR UPDATE/FOR SHARE is not allowed: queries are read-only.");
    for (const clause of ["for_clause", "settings", "format_clause", "pipe_operators"] as const) {
      if (present(q[clause])) refuse(`The ${clause.replace(/_clause$/, "").replace("_", " ").toUpperCase()} clause is not supported.`);
    }
    let inner = scope;
    const w = q.with;
    if (isObject(w)) {
      if (w.recursive === true) refuse("WITH RECURSIVE is not supported.");
      const defined = new Set<string>();
      for (const cte of Array.isArray(w.cte_tables) ? w.cte_tables : []) {
        if (!isObject(cte) || !isObject(cte.query)) refuse("A WITH clause could not be checked.");
        // a non-recursive CTE sees the CTEs before it, not itself
        this.query(cte.query, [...scope, new Set(defined)]);
        const alias = isObject(cte.alias) && isObject(cte.alias.name) ? cte.alias.name.value : undefined;
        if (typeof alias === "string") defined.add(alias);
      }
      inner = [...scope, defined];
    }
    this.setExpr(q.body, inner);
    for (const [key, value] of Object.entries(q)) {
      if (key !== "with" && key !== "body") this.visit(value, inner);
    }
  }

  setExpr(body: unknown, scope: Scope): void {
    const [kind, value] = variantOf(body);
    switch (kind) {
      case "Select":
        if (!isObject(value)) refuse("A SELECT could not be checked.");
        if (present(value.into)) refuse("SELECT … INTO is not allowed: queries are read-only.");
        this.visit(value, scope);
        return;
      case "Query":
        if (!isObject(value)) refuse("A nested query could not be checked.");
        this.query(value, scope);
        return;
      case "SetOperation":
        if (!isObject(value)) refuse("A set operation could not be checked.");
        this.setExpr(value.left, scope);
        this.setExpr(value.right, scope);
        return;
      case "Values":
        this.visit(value, scope);
        return;
      case "Table":
        return refuse("TABLE name is not supported: write SELECT * FROM name.");
      default:
        return refuse(`${words(kind)} is not allowed inside a query: ${NOT_A_QUERY_HINT}`);
    }
  }

  tableFactor(factor: unknown, scope: Scope): void {
    const [kind, value] = variantOf(factor);
    if (!isObject(value)) refuse(`${words(kind)} in FROM is not supported.`);
    switch (kind) {
      case "Table": {
        const ident = singleIdent(value.name);
        if (present(value.args)) {
          const fn = nameText(value.name);
          if (FILE_TABLE_FUNCTIONS.has(fn.toLowerCase())) {
            refuse(`${fn}(…) reads files and is not allowed: a query can only read datasets, named by name or "name@version".`, { function: fn });
          }
          refuse(`Table functions such as ${fn}(…) are not allowed: FROM takes dataset names ("name" or "name@version") and subqueries.`, { function: fn });
        }
        if (!ident) {
          refuse(`"${nameText(value.name)}" is not a dataset name: write one name, quoted when it has dots or other punctuation ("my.data", "sales@3").`);
        }
        // a string in FROM (DuckDB reads it as a file path) has no place in the text to rewrite
        if (ident.quote_style === "'") {
          refuse(`'${ident.value as string}' in FROM is a string, not a table name: write dataset names bare or in double quotes ("${(ident.value as string).replaceAll('"', '""')}").`);
        }
        const modifiers = ["with_hints", "version", "with_ordinality", "partitions", "json_path", "sample", "index_hints"].filter((k) => present(value[k]));
        if (modifiers.length > 0) refuse(`Table modifiers (${modifiers.join(", ")}) are not supported.`);
        // Polars drops the column list of an aliased table (`sales AS t(a, b)` keeps the old names); a subquery's list it applies
        if (isObject(value.alias) && present(value.alias.columns)) {
          const quoted = `"${nameText(value.name).replaceAll('"', '""')}"`;
          refuse(`Column names after a table's alias (FROM ${quoted} AS t(a, …)) are not supported: write FROM (SELECT * FROM ${quoted}) AS t(a, …), or rename columns in SELECT with AS.`);
        }
        const name = ident.value as string;
        if (scope.some((s) => s.has(name))) return;
        this.tables.push({ name, span: ident.span as Span, aliased: present(value.alias) });
        return;
      }
      case "Derived":
        if (value.lateral === true) refuse("LATERAL subqueries are not supported.");
        if (present(value.sample)) refuse("TABLESAMPLE is not supported.");
        if (!isObject(value.subquery)) refuse("A subquery in FROM could not be checked.");
        this.query(value.subquery, scope);
        return;
      case "NestedJoin":
        this.visit(value.table_with_joins, scope);
        return;
      case "UNNEST":
        this.visit(value.array_exprs, scope);
        return;
      default:
        refuse(`${words(kind)} in FROM is not supported: FROM takes dataset names ("name" or "name@version"), subqueries and joins.`);
    }
  }

  /**
   * Outer, semi and anti joins: Polars joins on the equalities of ON and applies any other
   * condition as a filter after the join, which drops the rows such a join must keep (or keeps
   * duplicates a semi join must not): only equalities joined by AND are accepted there.
   */
  joinOperator(op: unknown): void {
    const [kind, constraint] = variantOf(op);
    if (INNER_JOINS.has(kind)) return;
    const [how, on] = variantOf(constraint);
    if (how === "On" && !equalitiesOnly(on)) {
      refuse(
        `${joinWords(kind)} … ON takes only equalities joined by AND (ON a.id = b.id AND a.k = b.k): other conditions would be applied after the join and change its answer. Filter a table in a subquery first (… ${joinWords(kind)} (SELECT * FROM b WHERE y > 3) AS b ON a.id = b.id), or use JOIN with WHERE.`,
        { join: kind },
      );
    }
  }

  /** Polars orders nulls first inside OVER (…) whatever the query says: NULLS LAST there would be ignored. */
  windowSpec(spec: AstNode): void {
    const keys = Array.isArray(spec.order_by) ? spec.order_by : [];
    if (keys.some((k) => isObject(k) && isObject(k.options) && k.options.nulls_first === false)) {
      refuse("NULLS LAST inside OVER (…) is not supported: window functions order nulls first. Leave the nulls out (WHERE x IS NOT NULL) or order by coalesce(x, …).");
    }
  }

  func(fn: AstNode, scope: Scope): void {
    const ident = singleIdent(fn.name);
    const text = nameText(fn.name);
    if (!ident) refuse(`Function "${text}" is not available: call functions by their plain name.`, { function: text });
    const lower = (ident.value as string).toLowerCase();
    if (FILE_TABLE_FUNCTIONS.has(lower)) refuse(`${text}() reads files and is not allowed.`, { function: text });
    if (!ALLOWED_FUNCTIONS.has(lower)) refuse(`Function "${text}" is not available (see the README for the functions SQL queries may use).`, { function: text });
    if (fn.parameters !== undefined && fn.parameters !== "None") refuse(`Parametric function calls (${text}(…)(…)) are not supported.`, { function: text });
    for (const [key, value] of Object.entries(fn)) if (key !== "name") this.visit(value, scope);
  }

  visit(node: unknown, scope: Scope): void {
    if (Array.isArray(node)) {
      for (const item of node) this.visit(item, scope);
      return;
    }
    if (!isObject(node)) return;
    if (isQuery(node)) {
      this.query(node, scope);
      return;
    }
    for (const [key, value] of Object.entries(node)) {
      if (key === "relation") this.tableFactor(value, scope);
      else if (key === "WindowSpec" && isObject(value)) {
        this.windowSpec(value);
        this.visit(value, scope);
      } else if (key === "join_operator") {
        this.joinOperator(value);
        this.visit(value, scope);
      }
      else if (key === "Function" && isObject(value) && "name" in value) this.func(value, scope);
      else this.visit(value, scope);
    }
  }
}

/** Checks one statement; returns the dataset references it makes, in text order. 400 when refused. */
export function checkStatement(statement: AstNode): TableRef[] {
  const checker = new Checker();
  checker.statement(statement);
  return checker.tables;
}
