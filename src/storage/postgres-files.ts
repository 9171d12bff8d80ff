/**
 * Local files for the postgres backend's objects, which Polars scans (and query workers read).
 * A `file://` store's object is read in place. An `s3://` object is downloaded once into a cache
 * folder on this machine (streamed, hashed while it arrives, checked against the registry's size
 * and SHA-256, then renamed into place) and kept there, least recently used first out, under a
 * byte budget; a file a request is reading is never removed.
 */
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream, promises as fs } from "node:fs";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { isProcessAlive } from "./local-fs.ts";
import type { ObjectStore } from "./object-store.ts";
import type { ObjectRef } from "./postgres-registry.ts";

export class DamagedObjectError extends Error {}

export interface ObjectFilesOptions {
  store: ObjectStore;
  /** Folder for downloaded objects; this process uses `<dir>/<pid>` and clears dead processes' folders. */
  dir: string;
  budgetBytes: number;
  /** True while a reader holds the file (by the version key it was fetched for). */
  isPinned: (versionKey: string) => boolean;
  warn: (message: string) => void;
}

interface Cached {
  file: string;
  bytes: number;
}

export class ObjectFiles {
  readonly #o: ObjectFilesOptions;
  readonly #own: string;
  // Insertion order = least recently used first.
  readonly #files = new Map<string, Cached>();
  readonly #inflight = new Map<string, Promise<string>>();
  /** Objects read in place whose full SHA-256 has been checked (or is being checked). */
  readonly #verified = new Map<string, Promise<void>>();
  readonly #damaged = new Set<string>();
  #bytes = 0;
  downloads = 0;

  constructor(options: ObjectFilesOptions) {
    this.#o = options;
    this.#own = path.join(options.dir, String(process.pid));
  }

  /** Clears this machine's leftovers of dead processes. */
  async open(): Promise<void> {
    await fs.mkdir(this.#o.dir, { recursive: true });
    for (const name of await fs.readdir(this.#o.dir)) {
      const pid = Number(name);
      if (pid === process.pid || !Number.isSafeInteger(pid) || pid <= 0 || !isProcessAlive(pid)) await fs.rm(path.join(this.#o.dir, name), { recursive: true, force: true });
    }
    await fs.mkdir(this.#own, { recursive: true });
  }

  get bytes(): number {
    return this.#bytes;
  }

  get damaged(): number {
    return this.#damaged.size;
  }

  /** A local file with the object's bytes, for the version `versionKey`. */
  async fileFor(versionKey: string, object: ObjectRef): Promise<string> {
    if (this.#damaged.has(object.key)) throw new DamagedObjectError(`the data of version ${versionKey} is damaged (object ${object.key}); it is not served`);
    const inPlace = this.#o.store.localPath(object.key);
    if (inPlace !== null) return this.#inPlace(versionKey, inPlace, object);
    const hit = this.#files.get(versionKey);
    if (hit) {
      this.#files.delete(versionKey);
      this.#files.set(versionKey, hit);
      return hit.file;
    }
    let pending = this.#inflight.get(versionKey);
    if (!pending) {
      pending = this.#download(versionKey, object).finally(() => this.#inflight.delete(versionKey));
      this.#inflight.set(versionKey, pending);
    }
    return pending;
  }

  /** Drops the local copy of a deleted version once no reader holds it. */
  async forget(versionKey: string): Promise<void> {
    const hit = this.#files.get(versionKey);
    if (!hit) return;
    this.#files.delete(versionKey);
    this.#bytes -= hit.bytes;
    await fs.rm(hit.file, { force: true });
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#inflight.values(), ...this.#verified.values()]);
    await fs.rm(this.#own, { recursive: true, force: true });
    this.#files.clear();
    this.#bytes = 0;
  }

  /**
   * In place: the size is checked on every cold read (cheap, catches truncation); the SHA-256 once
   * per process, in the background, so a first page does not wait for the whole file to be read.
   * A mismatch marks the object damaged: it is refused from then on and counted in health.
   */
  async #inPlace(versionKey: string, file: string, object: ObjectRef): Promise<string> {
    let size: number;
    try {
      size = (await fs.stat(file)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") throw this.#markDamaged(versionKey, object, "is missing");
      throw error;
    }
    if (size !== object.bytes) throw this.#markDamaged(versionKey, object, `has ${size} bytes, expected ${object.bytes}`);
    if (!this.#verified.has(object.key)) {
      this.#verified.set(
        object.key,
        sha256Of(file).then(
          (digest) => {
            if (digest !== object.sha256) this.#markDamaged(versionKey, object, "does not match its SHA-256");
          },
          (error: Error) => {
            this.#verified.delete(object.key); // try again on a later read
            this.#o.warn(`storage: could not check object ${object.key}: ${error.message}`);
          },
        ),
      );
    }
    return file;
  }

  #markDamaged(versionKey: string, object: ObjectRef, what: string): DamagedObjectError {
    this.#damaged.add(object.key);
    const message = `storage: the data object of version ${versionKey} (${object.key}) ${what}; the version is not served`;
    this.#o.warn(message);
    return new DamagedObjectError(message);
  }

  async #download(versionKey: string, object: ObjectRef): Promise<string> {
    const final = path.join(this.#own, `${versionKey.replace("/", "-v")}.parquet`);
    const tmp = path.join(this.#own, `tmp-${randomUUID()}`);
    const hash = createHash("sha256");
    let bytes = 0;
    try {
      const body = await this.#o.store.get(object.key);
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          bytes += chunk.length;
          done(null, chunk);
        },
      });
      await pipeline(body, counter, createWriteStream(tmp));
      const digest = hash.digest("hex");
      if (bytes !== object.bytes || digest !== object.sha256) {
        throw this.#markDamaged(versionKey, object, bytes !== object.bytes ? `has ${bytes} bytes, expected ${object.bytes}` : "does not match its SHA-256");
      }
      await fs.rename(tmp, final);
    } catch (error) {
      await fs.rm(tmp, { force: true });
      throw error;
    }
    this.downloads++;
    this.#files.set(versionKey, { file: final, bytes });
    this.#bytes += bytes;
    await this.#evict(versionKey);
    return final;
  }

  async #evict(keep: string): Promise<void> {
    for (const [key, cached] of this.#files) {
      if (this.#bytes <= this.#o.budgetBytes) break;
      if (key === keep || this.#o.isPinned(key)) continue;
      this.#files.delete(key);
      this.#bytes -= cached.bytes;
      await fs.rm(cached.file, { force: true });
    }
  }
}

/** SHA-256 of a file, streamed. */
export async function sha256Of(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}
