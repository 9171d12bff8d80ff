/**
 * Runs a prepared query (prepare.ts) in Polars: a fresh `SQLContext` holding only the query's
 * versions, each under its internal name, then one more check on the plan Polars built: every
 * scan in it must be one of those versions' data files. Meant for a query worker (it computes
 * on user data); nothing here touches the registry.
 */
import pl from "nodejs-polars";
import { ApiError, badRequest, queryLimit } from "../errors.ts";
import type { ColumnInfo } from "../types.ts";

/** One registered table: its internal name, the data it reads, and what to tell users about it. */
export interface SqlSource {
  internal: string;
  /** The name the user wrote (`sales`, `sales@3`), for messages. */
  label: string;
  columns: ColumnInfo[];
  /** The version's rows (a scan of its data file, or an in-memory frame). */
  frame: pl.LazyDataFrame;
}

/** Opens a version's data file for a query (no globbing, no hive partitions: the path is literal). */
export function scanDataFile(path: string): pl.LazyDataFrame {
  return pl.scanParquet(path, { glob: false, hivePartitioning: false } as Parameters<typeof pl.scanParquet>[1]);
}

const LISTED_COLUMNS = 50;

function columnList(sources: SqlSource[]): string {
  return sources
    .map((s) => {
      const names = s.columns.slice(0, LISTED_COLUMNS).map((c) => JSON.stringify(c.name));
      const more = s.columns.length > LISTED_COLUMNS ? `, … (${s.columns.length} in all)` : "";
      return `${JSON.stringify(s.label)}: ${names.join(", ")}${more}`;
    })
    .join("; ");
}

/** Polars' message with our internal table names put back as the user wrote them. */
function userWords(message: string, sources: SqlSource[]): string {
  let text = message;
  for (const s of [...sources].sort((a, b) => b.internal.length - a.internal.length)) text = text.split(s.internal).join(s.label);
  // the plan Polars appends names internal frames and files: the message ends before it
  const [lead = ""] = text.replace(/\r/g, "").split(/\s*Resolved plan until failure:/);
  const first = lead.split("\n").filter((l) => l.trim() !== "").slice(0, 2).join(" ");
  // paths (never words joined by slashes, such as LIMIT/FETCH or date/datetime/time)
  return first.replace(/(?<!\w)(?:\/[\w.@+-]+){2,}/g, "<file>").slice(0, 400);
}

/**
 * Polars' error as a 400 in our words: an unknown column lists the columns of the query's
 * tables; anything else quotes Polars' message (without internal names or paths).
 */
export function sqlError(err: unknown, sources: SqlSource[]): ApiError {
  if (err instanceof ApiError) return err;
  const raw = err instanceof Error ? err.message : String(err);
  const column = /unable to find column "([^"]*)"/.exec(raw) ?? /no column named '([^']*)' found/.exec(raw);
  if (column || /ColumnNotFound/.test(raw)) {
    const name = column?.[1];
    const what = name === undefined ? "The query names an unknown column" : `Unknown column "${userWords(name, sources)}"`;
    return badRequest(`${what}. Columns: ${columnList(sources)}.`, { parameter: "query", ...(name === undefined ? {} : { column: name }) });
  }
  // Polars' row index is 32-bit in this build: a result (or an intermediate, e.g. a cross join) past
  // 2^32 rows cannot be held, which is a limit of the service, not a mistake in the query (QA Q21)
  if (/maximum length reached|bigidx/i.test(raw)) {
    return queryLimit("The query makes more than 4,294,967,295 rows (in its result or on the way, e.g. a cross join), more than this service can hold. Narrow it: join on keys, filter first, or aggregate before joining.");
  }
  if (/unsupported SQL join constraint/.test(raw)) {
    return badRequest("This join condition is not supported: compare the two tables' columns (ON a.id = b.id, ON a.x < b.y), without parentheses around the whole condition; for every pair of rows use CROSS JOIN.", { parameter: "query" });
  }
  return badRequest(`The query could not be run: ${userWords(raw.replace(/^[A-Za-z]+Error:\s*/, ""), sources)}`, { parameter: "query" });
}

/** The scan lines of a plan (`Parquet SCAN [/path]`, `Csv SCAN [...]`, …), trimmed. */
function scanLines(plan: string): string[] {
  return plan.split("\n").map((l) => l.trim()).filter((l) => /\bSCAN\b/.test(l));
}

/**
 * Every scan in the query's plan is a scan of one of its registered tables (in-memory frames
 * scan nothing); anything else means a file the query named itself, and the query is refused.
 */
export function assertScansAllowed(plan: string, sources: SqlSource[]): void {
  const allowed = new Set(sources.flatMap((s) => scanLines(s.frame.describePlan())));
  for (const line of scanLines(plan)) {
    if (!allowed.has(line)) throw badRequest("This query would read something other than the datasets it names, and was refused.", { parameter: "query" });
  }
}

/** The query's result as a lazy frame (nothing computed yet). 400 in our words when Polars refuses it. */
export function sqlFrame(sql: string, sources: SqlSource[]): pl.LazyDataFrame {
  const ctx = pl.SQLContext();
  for (const s of sources) ctx.register(s.internal, s.frame);
  let lf: pl.LazyDataFrame;
  try {
    lf = ctx.execute(sql);
    // nodejs-polars 0.26 returns a failed plan as a frame wrapping the Error instead of throwing
    const native = (lf as unknown as { _ldf?: unknown })._ldf;
    if (native instanceof Error) throw native;
  } catch (err) {
    throw sqlError(err, sources);
  }
  let plan: string;
  try {
    plan = lf.describePlan();
  } catch (err) {
    throw sqlError(err, sources);
  }
  assertScansAllowed(plan, sources);
  return lf;
}
