/**
 * Durable file primitives for the `local` backend: write-to-temp + fsync + rename + fsync(dir),
 * exclusive creation, temp names that say which process owns them, and a cheap Parquet check.
 * A rename is atomic on POSIX file systems, so a reader (or a restart after a crash) sees either
 * the old file or the new one, never a mix.
 */
import { randomUUID } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";

/** Flushes a file's or a folder's contents to the disk (fsync on a folder makes renames in it durable). */
export async function fsyncPath(target: string): Promise<void> {
  const handle = await fs.open(target, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * A name for a temporary file or folder in `tmpDir`. It starts with this process's id so that a
 * start-up can tell a leftover of a dead process from the in-flight work of a live one sharing
 * the same DATA_DIR.
 */
export function tempPath(tmpDir: string, suffix = ""): string {
  return path.join(tmpDir, `${process.pid}-${randomUUID()}${suffix}`);
}

/** True when the temp entry's owner is gone (or is us: a new process has no in-flight work yet). */
export function isAbandonedTemp(name: string): boolean {
  const pid = Number(/^(\d+)-/.exec(name)?.[1]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid) return true;
  return !isProcessAlive(pid);
}

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Replaces `target` with `contents` atomically and durably: temp file in `tmpDir` (same file
 * system), fsync, rename, fsync of the target's folder.
 */
export async function writeFileDurably(target: string, contents: string, tmpDir: string): Promise<void> {
  const tmp = tempPath(tmpDir, ".json");
  try {
    await writeAndSync(tmp, contents);
    await fs.rename(tmp, target);
  } catch (error) {
    await removeQuietly(tmp);
    throw error;
  }
  await fsyncPath(path.dirname(target));
}

/** Writes a new file and fsyncs it (no rename). */
export async function writeAndSync(target: string, contents: string, flag = "w"): Promise<void> {
  const handle = await fs.open(target, flag);
  try {
    await handle.writeFile(contents, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Creates `target` with `contents` only if nothing has that name yet, across processes: the
 * contents go to a temp file that is hard-linked to `target` (link fails with EEXIST and never
 * replaces), so the file is never seen empty. Returns false when the name is taken.
 */
export async function createExclusive(target: string, contents: string, tmpDir: string): Promise<boolean> {
  const tmp = tempPath(tmpDir, ".claim");
  await writeAndSync(tmp, contents, "wx");
  try {
    await fs.link(tmp, target);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    await removeQuietly(tmp);
  }
}

/**
 * Moves a file: a rename when source and target share a file system, else a copy (fsynced) and
 * removal of the source.
 */
export async function moveFile(source: string, target: string): Promise<void> {
  try {
    await fs.rename(source, target);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EXDEV") throw error;
    await fs.copyFile(source, target);
    await fsyncPath(target);
    await fs.rm(source, { force: true });
  }
}

/** Removes a file or folder tree; a missing one is fine. */
export async function removeQuietly(target: string): Promise<void> {
  await fs.rm(target, { recursive: true, force: true });
}

export async function readIfExists(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
}

const MAGIC = Buffer.from("PAR1");

/**
 * Cheap check that a Parquet file is whole: the expected size and the `PAR1` magic at both ends
 * (a file cut short loses its footer, which ends with the magic). Returns what is wrong, or null.
 */
export async function parquetProblem(file: string, expectedBytes: number): Promise<string | null> {
  let handle;
  try {
    handle = await fs.open(file, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "data file is missing";
    throw error;
  }
  try {
    const { size } = await handle.stat();
    if (size !== expectedBytes) return `data file has ${size} bytes, expected ${expectedBytes}`;
    if (size < 12) return "data file is too short to be Parquet";
    const head = Buffer.alloc(4);
    const tail = Buffer.alloc(4);
    await handle.read(head, 0, 4, 0);
    await handle.read(tail, 0, 4, size - 4);
    if (!head.equals(MAGIC) || !tail.equals(MAGIC)) return "data file lacks the Parquet magic bytes";
    return null;
  } finally {
    await handle.close();
  }
}
