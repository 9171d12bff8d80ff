/**
 * Rendered rows, kept for the next page. A version's rows (in frame order, or in the row order of
 * a filter/sort query) are rendered to JSON once, as pages ask for them, and a later page is cut
 * out of what is already rendered: byte ranges copied into one Buffer, no Polars call.
 *
 * Why rows and not pages: clients page at any offset (`offset=R`), so the same page is rarely
 * asked for twice, but its rows are (scrolling back, overlapping windows, many readers of the
 * same version). A page renders only the rows no earlier page rendered (one run, from its first
 * to its last missing row), so a page never costs more to render than without the cache.
 *
 * Numbered versions are immutable, so a rendered row stays right for as long as its version
 * exists; `forgetRows` drops a version's rows when it is deleted (page.ts `forgetVersion`), and
 * everything is bounded by a byte budget (PAGE_CACHE_BYTES; 0 turns the cache off): runs are
 * evicted least recently used first, and a sequence's index goes with its last run.
 *
 * A run holds each row's JSON text followed by a comma (`{…},{…},`) and the end offset of each
 * row, so consecutive rows of a run are one contiguous copy, and a page is `[` + copies + `]`
 * (the last comma becomes the bracket).
 */

/** Rows rendered together: rows `start … start + ends.length - 1` of a sequence. */
export interface RenderedRun {
  /** Each row's JSON text followed by `,`. */
  readonly bytes: Buffer;
  /** `ends[i]`: end offset (after the comma) of row `start + i`. */
  readonly ends: Uint32Array;
}

interface Run extends RenderedRun {
  readonly id: number;
  readonly start: number;
  readonly sequence: Sequence;
  readonly size: number;
}

/** The rendered rows of one sequence (version × order × projection × shape). */
interface Sequence {
  readonly key: string;
  readonly owner: string;
  /** Per row: the id of the run that holds it, 0 when none does. */
  readonly runOf: Int32Array;
  readonly runs: Map<number, Run>;
}

let budgetBytes = 64 * 1024 * 1024;
let heldBytes = 0;
let nextRun = 1;
let hits = 0;
let renderedRows = 0;
const sequences = new Map<string, Sequence>();
/** Every run, least recently used first. */
const lru = new Map<number, Run>();

/** Sets the byte budget (PAGE_CACHE_BYTES); evicts down to it. 0 disables the cache. */
export function setRowCacheBudget(bytes: number): void {
  budgetBytes = Math.max(0, bytes);
  evict();
}

/**
 * Whether rows of a sequence of `length` rows are kept: its index takes 4 bytes a row, which may
 * use at most a quarter of the budget (64 MiB: sequences up to 4M rows; longer ones are rendered
 * page by page as without the cache).
 */
export function rowCacheFits(length: number): boolean {
  return budgetBytes > 0 && length * 4 <= budgetBytes / 4;
}

function dropRun(run: Run): void {
  lru.delete(run.id);
  heldBytes -= run.size;
  const seq = run.sequence;
  seq.runs.delete(run.id);
  const end = run.start + run.ends.length;
  for (let r = run.start; r < end; r++) if (seq.runOf[r] === run.id) seq.runOf[r] = 0;
  if (seq.runs.size === 0) dropSequence(seq);
}

function dropSequence(seq: Sequence): void {
  for (const run of seq.runs.values()) {
    lru.delete(run.id);
    heldBytes -= run.size;
  }
  seq.runs.clear();
  if (sequences.get(seq.key) === seq) {
    sequences.delete(seq.key);
    heldBytes -= seq.runOf.byteLength;
  }
}

function evict(): void {
  while (heldBytes > budgetBytes) {
    const oldest = lru.values().next().value;
    if (oldest) dropRun(oldest);
    else {
      // only empty indexes left (cannot happen: a sequence goes with its last run)
      for (const seq of [...sequences.values()]) dropSequence(seq);
      break;
    }
  }
}

/**
 * Rows `[from, to)` of the sequence `key` (of `length` rows, owned by version `owner`) as a JSON
 * array. `render(start, end)` renders rows `[start, end)` of the sequence; it is called at most
 * once, for the span from the first to the last row not yet rendered.
 */
export function cachedRows(key: string, owner: string, length: number, from: number, to: number, render: (start: number, end: number) => RenderedRun): Buffer {
  if (to <= from) return Buffer.from("[]");
  let seq = sequences.get(key);
  if (!seq) {
    seq = { key, owner, runOf: new Int32Array(length), runs: new Map() };
    sequences.set(key, seq);
    heldBytes += seq.runOf.byteLength;
  }
  let first = -1;
  let last = -1;
  for (let r = from; r < to; r++) {
    if (seq.runOf[r] !== 0) continue;
    if (first < 0) first = r;
    last = r;
  }
  let fresh: Run | undefined;
  if (first >= 0) {
    const rendered = render(first, last + 1);
    renderedRows += last + 1 - first;
    // its own memory: a small Buffer is a slice of Node's shared 8 KiB pool (and a writer's output
    // may be a slice of a larger one), which keeping it would pin unaccounted
    const bytes = Buffer.allocUnsafeSlow(rendered.bytes.length);
    rendered.bytes.copy(bytes);
    fresh = { bytes, ends: rendered.ends, id: nextRun++, start: first, sequence: seq, size: bytes.length + rendered.ends.byteLength + 96 };
    seq.runs.set(fresh.id, fresh);
    lru.set(fresh.id, fresh);
    heldBytes += fresh.size;
    seq.runOf.fill(fresh.id, first, last + 1);
  } else hits++;
  const out = assemble(seq, from, to);
  // evicted only after the page is cut (the runs it reads stay until then)
  evict();
  return out;
}

function assemble(seq: Sequence, from: number, to: number): Buffer {
  const copies: Buffer[] = [];
  let total = 1;
  let r = from;
  while (r < to) {
    const run = seq.runs.get(seq.runOf[r] as number) as Run;
    // mark as recently used
    lru.delete(run.id);
    lru.set(run.id, run);
    let e = r + 1;
    while (e < to && seq.runOf[e] === run.id) e++;
    const begin = r === run.start ? 0 : (run.ends[r - run.start - 1] as number);
    const copy = run.bytes.subarray(begin, run.ends[e - 1 - run.start] as number);
    copies.push(copy);
    total += copy.length;
    r = e;
  }
  const out = Buffer.allocUnsafe(total);
  out[0] = 0x5b; // [
  let at = 1;
  for (const c of copies) at += c.copy(out, at);
  out[total - 1] = 0x5d; // ] in place of the last row's comma
  return out;
}

/** Drops the rows of every sequence whose owner starts with `prefix` (a deleted version's). */
export function forgetRows(prefix: string): void {
  for (const seq of [...sequences.values()]) if (seq.owner.startsWith(prefix)) dropSequence(seq);
}

/** Empties the cache (memory pressure, tests). */
export function clearRowCache(): void {
  for (const seq of [...sequences.values()]) dropSequence(seq);
}

/** Figures for the tests and the bench. */
export function rowCacheStats(): { bytes: number; budgetBytes: number; sequences: number; runs: number; hits: number; renderedRows: number } {
  return { bytes: heldBytes, budgetBytes, sequences: sequences.size, runs: lru.size, hits, renderedRows };
}

/**
 * A run from the JSON writer's array of row objects (`[{"k":…},{"k":…}]`), when no column is
 * nested (List/Struct): then a row starts exactly where `},{"k":` is (with `k` the first key, as
 * the writer printed it). Inside a string, `{` is never followed by a raw `"`, except where that
 * quote closes the string, and a closing quote is followed by `,` or `}`, never by `k":`. Nested
 * values can hold `},{"k":` themselves: their runs come from `runFromLines`.
 */
export function runFromFlatJson(json: Buffer, shape?: (row: string) => string): RenderedRun {
  if (json.length <= 2) return { bytes: Buffer.alloc(0), ends: new Uint32Array(0) };
  // the first key: from `[{"` to the first unescaped quote
  let q = 3;
  while (json[q] !== 0x22) q += json[q] === 0x5c ? 2 : 1;
  const boundary = Buffer.concat([Buffer.from('},{"'), json.subarray(3, q), Buffer.from('":')]);
  // `r1,r2,…,rn,`: drop the `[`, the `]` becomes the last row's comma
  const bytes = json.subarray(1);
  bytes[bytes.length - 1] = 0x2c;
  const ends: number[] = [];
  for (let i = bytes.indexOf(boundary); i !== -1; i = bytes.indexOf(boundary, i + 2)) ends.push(i + 2);
  ends.push(bytes.length);
  if (!shape) return { bytes, ends: Uint32Array.from(ends) };
  const rows: string[] = [];
  let from = 0;
  for (const end of ends) {
    rows.push(`${shape(bytes.toString("utf8", from, end - 1))},`);
    from = end;
  }
  return runOfRows(rows);
}

/** A run from each row's text followed by its comma. */
function runOfRows(rows: string[]): RenderedRun {
  const ends = new Uint32Array(rows.length);
  let at = 0;
  rows.forEach((row, i) => {
    at += Buffer.byteLength(row);
    ends[i] = at;
  });
  return { bytes: Buffer.from(rows.join("")), ends };
}

/**
 * A run from JSON-lines text (one row per line, as Polars' writer prints with `format: "lines"`;
 * a newline inside a value is always escaped, so every `\n` ends a row), each row mapped by
 * `shape` when given (objects → arrays).
 */
export function runFromLines(lines: Buffer, shape?: (row: string) => string): RenderedRun {
  if (!shape) {
    // in place: every newline becomes the row's comma
    const ends: number[] = [];
    for (let i = lines.indexOf(0x0a); i !== -1; i = lines.indexOf(0x0a, i + 1)) {
      lines[i] = 0x2c;
      ends.push(i + 1);
    }
    return { bytes: lines, ends: Uint32Array.from(ends) };
  }
  const text = lines.toString("utf8");
  const rows: string[] = [];
  for (let from = 0, nl = text.indexOf("\n"); nl !== -1; from = nl + 1, nl = text.indexOf("\n", from)) rows.push(`${shape(text.slice(from, nl))},`);
  return runOfRows(rows);
}
