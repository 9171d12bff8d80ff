/**
 * The SQL parser Polars itself uses: nodejs-polars 0.26 embeds polars-sql 0.55 on
 * `sqlparser` 0.62 (GenericDialect), and `@guanmingchiu/sqlparser-ts` 0.62 is that same Rust
 * parser compiled to WebAssembly. So the tree we check is the tree Polars would build: there is
 * no second grammar whose disagreements a query could slip through.
 *
 * Queries are checked on their canonical text (the parser's own rendering of its tree: no
 * comments, one statement per tree, normalised spacing), and Polars only ever sees canonical text
 * we produced from a checked tree.
 */
import { format, GenericDialect, init, parse, Parser } from "@guanmingchiu/sqlparser-ts";
import { badRequest } from "../errors.ts";

await init();

/** The longest query text accepted (characters). */
export const MAX_QUERY_CHARS = 50_000;

/** A parsed statement as the parser's JSON (serde's externally tagged enums). */
export type AstNode = Record<string, unknown>;

export interface Parsed {
  /** The canonical text of the single statement. */
  canonical: string;
  /** The statement's tree, parsed from `canonical` (so its spans point into `canonical`). */
  statement: AstNode;
}

/** Line and column (1-based, in characters) of a parser message, when it names one. */
function position(message: string): { line: number; column: number } | undefined {
  const m = /at Line: (\d+), Column: (\d+)/.exec(message);
  return m ? { line: Number(m[1]), column: Number(m[2]) } : undefined;
}

/** Where the text ends, as the parser counts (lines, and characters within a line). */
function endOf(text: string): { line: number; column: number } {
  const lines = text.split("\n");
  return { line: lines.length, column: [...(lines[lines.length - 1] ?? "")].length + 1 };
}

/** The parser's message in our words: "Syntax error at line 1, column 8: expected …, found …". */
function syntaxError(err: unknown, query: string): Error {
  const raw = err instanceof Error ? err.message : String(err);
  const atEnd = /found: EOF\s*$/.test(raw);
  const text = raw
    .replace(/^sql parser error:\s*/i, "")
    .replace(/\s*at Line: \d+, Column: \d+\s*$/, "")
    .replace(/found: EOF$/, "found the end of the query")
    .replace(/, found: /, ", found ")
    .trim();
  const pos = position(raw) ?? (atEnd ? endOf(query.trimEnd()) : undefined);
  const where = pos ? ` at line ${pos.line}, column ${pos.column}` : "";
  const detail = /recursion limit/i.test(text)
    ? "The query is nested too deeply to be checked; simplify it."
    : `Syntax error${where}: ${text.replace(/^Expected: /, "expected ").slice(0, 300)}.`;
  return badRequest(detail, pos ? { parameter: "query", position: pos } : { parameter: "query" });
}

function parseAll(text: string): AstNode[] {
  try {
    return parse(text, "generic") as AstNode[];
  } catch (err) {
    throw syntaxError(err, text);
  }
}

/**
 * Parses one statement and returns its canonical text and tree. 400 for an empty or oversized
 * query, a syntax error (with its line and column), or more than one statement.
 */
export function parseStatement(query: string): Parsed {
  if (query.trim() === "") throw badRequest("query is empty: send one SELECT or WITH statement.", { parameter: "query" });
  if (query.length > MAX_QUERY_CHARS) throw badRequest(`query is longer than ${MAX_QUERY_CHARS} characters.`, { parameter: "query" });
  const statements = parseAll(query);
  if (statements.length !== 1) {
    throw badRequest(`Send exactly one statement; this query has ${statements.length}.`, { parameter: "query" });
  }
  const canonical = canonicalText(query);
  const again = parseAll(canonical);
  // The rendering must be a fixed point of the parser, or the text Polars parses could differ
  // from the tree we checked.
  if (again.length !== 1 || canonicalText(canonical) !== canonical) {
    throw badRequest("This query could not be checked (its canonical form is not stable); rewrite it more plainly.", { parameter: "query" });
  }
  return { canonical, statement: again[0] as AstNode };
}

/** Polars parses with these options (polars-sql 0.55 `SQLContext::execute`). */
const polarsParser = new Parser(new GenericDialect()).withOptions({ trailingCommas: true });

const withoutSpans = (key: string, value: unknown) => (key === "span" ? undefined : value);

/**
 * Whether Polars' parser settings read `text` as the same tree as ours: the final text must not
 * mean something else to Polars (its `trailing_commas` option is the one difference).
 */
export function sameTreeForPolars(text: string, statement: AstNode): boolean {
  let theirs: unknown[];
  try {
    theirs = polarsParser.parse(text) as unknown[];
  } catch {
    return false;
  }
  return theirs.length === 1 && JSON.stringify(theirs[0], withoutSpans) === JSON.stringify(statement, withoutSpans);
}

/** The parser's rendering of the text's statements. */
export function canonicalText(text: string): string {
  try {
    return format(text, "generic");
  } catch (err) {
    throw syntaxError(err, text);
  }
}
