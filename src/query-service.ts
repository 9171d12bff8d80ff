/**
 * Where each read of a version's rows runs (docs/design.md, "Processes"):
 * - pages without filter/sort: in the API process, an eager slice of the in-memory frame, or a
 *   bounded lazy slice of the data file for a cold version (whose bytes storage verified first);
 *   except for wide versions (over WIDE_COLUMNS columns), whose every page is made in a worker:
 *   describing and converting thousands of columns costs milliseconds per column in nodejs-polars'
 *   JS wrappers, which would hold the event loop for seconds;
 * - filtered/sorted pages of an in-memory version: the row order comes from a query worker (and
 *   is cached by frame/page.ts), the page is a gather in the API process (up to ORDER_ROWS_LIMIT
 *   rows; beyond, the whole page is made in a worker);
 * - filtered/sorted pages of a cold version: the whole page is computed and rendered in a worker;
 * - downloads: written by a worker into a spool file (src/spool.ts), streamed, then released; an
 *   unfiltered Parquet download streams the stored data file itself (same bytes, verified block
 *   by block as they are sent).
 */
import { webcrypto } from "node:crypto";
import { open } from "node:fs/promises";
import type { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type pl from "nodejs-polars";
import { versionDamaged } from "./errors.ts";
import type { DownloadQuery } from "./frame/download.ts";
import { readPage, type Page, type PageQuery, type RowShape } from "./frame/page.ts";
import { estimatedBytes } from "./frame/safe.ts";
import type { QueryWorkers } from "./sandbox/queries.ts";
import type { Spool, SpoolFile } from "./spool.ts";
import type { DataFileRef, ReadOptions, VersionData } from "./storage/types.ts";

/** What a download streams. `send` writes the body; `cleanup` runs whatever happened. */
export interface DownloadBody {
  contentType: string;
  extension: string;
  bytes: number;
  send(dest: Writable): Promise<void>;
  cleanup(): Promise<void>;
}

export interface QueryService {
  /** The read options of a page request: an unfiltered page reads its rows in-process, others none. */
  pageReadOptions(query: { offset: number; limit: number; filtered: boolean }): ReadOptions;
  page(data: VersionData, query: PageQuery, shape: RowShape, client?: string): Promise<Page>;
  download(data: VersionData, query: DownloadQuery, client?: string): Promise<DownloadBody>;
}

/** Versions with more columns than this have their pages made in a query worker. */
export const WIDE_COLUMNS = 256;
/**
 * Past this many rows a row order (4 bytes a row) would not fit frame/page.ts's order cache
 * (32 MiB), so it would cross the process boundary for every page: such pages are made in a worker.
 */
export const ORDER_ROWS_LIMIT = 8_000_000;

/**
 * Pages whose rows would take more than this in memory (the frame's size per row × the rows asked
 * for) are made in a query worker: rendering tens of megabytes of JSON in the API process held its
 * event loop for seconds (QA finding Q32). Only the finished text crosses, which still costs the
 * event loop ~7 ms per MB, so smaller pages are cheaper here: measured with the page cache
 * (test/page-big.test.ts's shapes, load ~15), 12 MB pages held /api/health 89 ms in-process and
 * 386 ms through a worker, 64 MB pages 929 ms in-process and 471 ms through a worker.
 */
export const WORKER_PAGE_BYTES = 32 * 1024 * 1024;

/** Frames are immutable: their size is asked of Polars once, not on every page (~7 µs a call). */
const frameSizes = new WeakMap<pl.DataFrame, number>();

/** The in-memory bytes of the rows a page asks for, estimated from the frame's size per row (0 without a frame). */
export function pageBytesEstimate(frame: pl.DataFrame | undefined, rowCount: number, query: PageQuery): number {
  if (!frame || rowCount === 0) return 0;
  let size = frameSizes.get(frame);
  if (size === undefined) frameSizes.set(frame, (size = estimatedBytes(frame)));
  const rows = Math.min(query.limit, Math.max(0, rowCount - query.offset));
  return (size / rowCount) * rows;
}

const CONTENT_TYPES: Record<string, string> = {
  parquet: "application/vnd.apache.parquet",
};

/** What an export is expected to take in the spool before it is written (its budget check). */
function expectedBytes(data: VersionData): number {
  const frame = data.frame();
  return frame ? estimatedBytes(frame) : data.version.rowCount * Math.max(1, data.version.columns.length) * 8;
}

export function createQueryService(queries: QueryWorkers, options: { spool: Spool }): QueryService {
  return {
    pageReadOptions({ offset, limit, filtered }) {
      return filtered ? { rows: { offset: 0, limit: 0 } } : { rows: { offset, limit } };
    },

    async page(data, query, shape, client) {
      const filteredOrSorted = (query.filters?.length ?? 0) > 0 || (query.sort?.length ?? 0) > 0;
      const frame = data.frame();
      const inWorker =
        data.version.columnCount > WIDE_COLUMNS ||
        (filteredOrSorted && (!frame || data.version.rowCount > ORDER_ROWS_LIMIT)) ||
        pageBytesEstimate(frame, data.version.rowCount, query) > WORKER_PAGE_BYTES;
      if (inWorker) return queries.runOnVersion(data, "page", (file) => ({ file, version: data.version, query, shape }), { client });
      // data.lazy is passed uncalled: a page of the in-memory frame rarely needs the lazy frame
      if (!filteredOrSorted) return readPage(data.lazy, data.version, query, shape, frame);
      const orders = (filters: PageQuery["filters"], sort: PageQuery["sort"]) =>
        queries.runOnVersion(data, "rowOrder", (file) => ({ file, version: data.version, filters: filters ?? [], sort: sort ?? [] }), { client });
      return readPage(data.lazy, data.version, query, shape, frame, orders);
    },

    async download(data, query, client) {
      const whole = query.format === "parquet" && query.columns === undefined && (query.sort?.length ?? 0) === 0 && (query.filters?.length ?? 0) === 0;
      if (whole) {
        const ref = await data.dataFile();
        const reader = await StoredFileReader.open(ref, data);
        return { contentType: CONTENT_TYPES.parquet as string, extension: "parquet", bytes: ref.checksum.bytes, send: (dest) => reader.send(dest), cleanup: () => reader.close() };
      }
      // taken once the parameters are checked (507 when the spool is full); released by cleanup
      const spooled = options.spool.take(query.format, expectedBytes(data));
      return spooledDownload(spooled, () => queries.runOnVersion(data, "export", (file) => ({ file, version: data.version, query: { ...query, into: spooled.path } }), { client }));
    },
  };
}

/**
 * Runs a job that writes an export into `spooled` and answers the body that streams it; the spool
 * file is released by `cleanup`, or at once when the job fails.
 */
export async function spooledDownload(spooled: SpoolFile, run: () => Promise<{ contentType: string; extension: string }>): Promise<DownloadBody> {
  try {
    const out = await run();
    const bytes = await spooled.settle();
    const handle = await open(spooled.path, "r");
    return {
      contentType: out.contentType,
      extension: out.extension,
      bytes,
      send: (dest) => pipeline(handle.createReadStream(), dest),
      async cleanup() {
        await handle.close().catch(() => undefined);
        await spooled.release();
      },
    };
  } catch (error) {
    await spooled.release();
    throw error;
  }
}

/**
 * Streams a stored data file, verifying each block against the checksum before its bytes leave
 * the process. The first block is verified before anything is sent (a damaged file is then a
 * clean 410); a later damaged block ends the response early (the client sees a short body, never
 * wrong bytes) and the version is reported damaged.
 */
export class StoredFileReader {
  readonly #ref: DataFileRef;
  readonly #data: VersionData;
  readonly #handle: Awaited<ReturnType<typeof open>>;
  #first: Buffer;

  private constructor(ref: DataFileRef, data: VersionData, handle: Awaited<ReturnType<typeof open>>, first: Buffer) {
    this.#ref = ref;
    this.#data = data;
    this.#handle = handle;
    this.#first = first;
  }

  static async open(ref: DataFileRef, data: VersionData): Promise<StoredFileReader> {
    const fail = async (reason: string): Promise<never> => {
      await data.reportDamaged(reason);
      const v = data.version;
      throw versionDamaged(`Version ${v.version} of dataset "${v.datasetId}" cannot be served: ${reason}. It is kept for inspection; restore its data file from a backup or delete the version.`);
    };
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(ref.path, "r");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return fail("its data file is missing");
      throw error;
    }
    try {
      const { size } = await handle.stat();
      if (size !== ref.checksum.bytes) return await fail(`its data file has ${size} bytes, ${ref.checksum.bytes} expected`);
      const first = await readBlock(handle, ref, 0);
      if (first === null) return await fail("block 0 of its data file does not match its checksum");
      return new StoredFileReader(ref, data, handle, first);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  async send(dest: Writable): Promise<void> {
    const write = (chunk: Buffer) => new Promise<void>((resolve, reject) => dest.write(chunk, (err) => (err ? reject(err) : resolve())));
    await write(this.#first);
    this.#first = Buffer.alloc(0);
    for (let b = 1; b < this.#ref.checksum.blocks.length; b++) {
      const block = await readBlock(this.#handle, this.#ref, b);
      if (block === null) {
        const reason = `block ${b} of its data file does not match its checksum`;
        await this.#data.reportDamaged(reason);
        dest.destroy(new Error(reason));
        return;
      }
      await write(block);
    }
    dest.end();
  }

  async close(): Promise<void> {
    await this.#handle.close().catch(() => undefined);
  }
}

/** Block `b` of the file if it matches its checksum, else null. */
async function readBlock(handle: Awaited<ReturnType<typeof open>>, ref: DataFileRef, b: number): Promise<Buffer | null> {
  const { blockBytes, bytes, blocks } = ref.checksum;
  const length = Math.min(blockBytes, bytes - b * blockBytes);
  const buf = Buffer.alloc(Math.max(0, length));
  let n = 0;
  while (n < length) {
    const { bytesRead } = await handle.read(buf, n, length - n, b * blockBytes + n);
    if (bytesRead === 0) return null;
    n += bytesRead;
  }
  const digest = Buffer.from(await webcrypto.subtle.digest("SHA-256", buf)).toString("hex");
  return digest === blocks[b] ? buf : null;
}
