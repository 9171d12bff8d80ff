/**
 * The spool: the one folder where the service writes files it streams out (downloads, exports).
 * It belongs to the service, so nothing else cleans it and nothing of ours lands in os.tmpdir():
 *
 * - files are `spool-<pid>-<uuid>.<ext>` (and `….part` siblings while being written), so
 *   servers sharing the folder never remove each other's files; start-up removes the files of
 *   processes that are gone, and of an earlier process that had our pid (containers reuse pids);
 * - a size budget (SPOOL_BUDGET_BYTES, default half the folder's free space at start-up): `take`
 *   refuses with 507 STORAGE_FULL (Retry-After) when the files held plus those being written
 *   already fill it; a disk that fills while a file is written fails the writer with ENOSPC,
 *   which the problem middleware answers 507 as well;
 * - a file is released (removed, its bytes given back) when the response that streams it ends,
 *   whatever happened (`releaseOnClose`).
 *
 * Sizes are estimates until a file is written: `settle()` then counts its real size. One export
 * can therefore pass the budget by its own overshoot; the next `take` is refused until room is
 * back.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, rmSync, statfsSync } from "node:fs";
import { rm, rmdir, stat } from "node:fs/promises";
import path from "node:path";
import { storageFull } from "./errors.ts";
import { processAlive } from "./http/upload.ts";

export interface SpoolFile {
  /** Where to write the file (the writer may use `${path}.part` for a temporary sibling). */
  readonly path: string;
  /** After writing: counts the file's real size against the budget; returns it. */
  settle(): Promise<number>;
  /** Removes the file (and its `.part`) and gives its bytes back. Safe to call more than once. */
  release(): Promise<void>;
}

export interface Spool {
  readonly dir: string;
  readonly budgetBytes: number;
  /** Bytes held or reserved right now. */
  usedBytes(): number;
  /** Files held right now. */
  fileCount(): number;
  /** A fresh file path with `expectBytes` reserved; 507 STORAGE_FULL when there is no room. */
  take(ext: string, expectBytes: number): SpoolFile;
  /** Removes every file this process still holds, and the folder when it is then empty (shutdown). */
  close(): Promise<void>;
}

const OURS = /^spool-(\d+)-/;

function freeBytes(dir: string): number {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return Number.MAX_SAFE_INTEGER;
  }
}

/** Removes spool files of processes that are gone, and of an earlier process with our pid. */
function cleanLeftovers(dir: string): void {
  for (const name of readdirSync(dir)) {
    const pid = Number(OURS.exec(name)?.[1] ?? NaN);
    if (Number.isNaN(pid)) continue;
    if (pid === process.pid || !processAlive(pid)) rmSync(path.join(dir, name), { force: true, recursive: true });
  }
}

export function createSpool(options: { dir: string; budgetBytes: number }): Spool {
  const dir = options.dir;
  mkdirSync(dir, { recursive: true });
  cleanLeftovers(dir);
  const budgetBytes = options.budgetBytes > 0 ? options.budgetBytes : Math.max(64 * 1024 * 1024, Math.floor(freeBytes(dir) / 2));
  const held = new Map<string, number>();
  let used = 0;

  const full = (detail: string) => {
    const err = storageFull(detail);
    err.headers["Retry-After"] = "30";
    return err;
  };

  return {
    dir,
    budgetBytes,
    usedBytes: () => used,
    fileCount: () => held.size,

    take(ext, expectBytes) {
      const safeExt = /^[a-z0-9]{1,12}$/.test(ext) ? ext : "bin";
      if (used >= budgetBytes) {
        throw full(`The download spool is full (${used} of ${budgetBytes} bytes, SPOOL_BUDGET_BYTES, held by downloads in progress); retry when they finish.`);
      }
      // No refusal on the estimate against free disk space: estimates of compressed formats are
      // poor, and a disk that really fills makes the writer fail with ENOSPC, which is a 507 too.
      const expected = Math.max(0, Math.ceil(expectBytes));
      const file = path.join(dir, `spool-${process.pid}-${randomUUID()}.${safeExt}`);
      // The folder is made again if it went away while we run (a tmp cleaner, an operator, another
      // service sharing the default UPLOAD_DIR): otherwise every export would fail from then on.
      mkdirSync(dir, { recursive: true });
      // reserve what the estimate says, within what the budget has left
      const reserved = Math.min(expected, budgetBytes - used);
      held.set(file, reserved);
      used += reserved;
      const account = (bytes: number) => {
        const before = held.get(file);
        if (before === undefined) return;
        used += bytes - before;
        held.set(file, bytes);
      };
      return {
        path: file,
        async settle() {
          const { size } = await stat(file);
          account(size);
          return size;
        },
        async release() {
          const bytes = held.get(file);
          if (bytes === undefined) return;
          held.delete(file);
          used -= bytes;
          await Promise.all([rm(file, { force: true, recursive: true }), rm(`${file}.part`, { force: true })]);
        },
      };
    },

    async close() {
      const files = [...held.keys()];
      held.clear();
      used = 0;
      await Promise.all(files.flatMap((f) => [rm(f, { force: true, recursive: true }), rm(`${f}.part`, { force: true })]));
      // leave no empty folder behind (another server may still be using it: then it is not empty)
      await rmdir(dir).catch(() => undefined);
    },
  };
}

/** Releases `file` when the response is over (sent, failed or abandoned by the client). */
export function releaseOnClose(res: { once(event: "close", fn: () => void): unknown }, file: SpoolFile): void {
  res.once("close", () => void file.release());
}
