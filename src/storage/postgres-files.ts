/**
 * Local files for the postgres backend's objects, which Polars scans and query workers read.
 * A `file://` store's object is read in place and verified block by block against the registry's
 * checksum before a read trusts those blocks (verify-read.ts). An `s3://` object is downloaded
 * once into a cache folder on this machine (streamed, hashed while it arrives, checked against the
 * checksum's size and SHA-256, then renamed into place) and kept there, least recently used first
 * out, under a byte budget; a file a request is reading is never removed. The instance that
 * uploaded a version keeps the staged file as its copy, so it never downloads its own uploads.
 */
import { createHash, randomUUID } from "node:crypto";
import { createWriteStream, promises as fs } from "node:fs";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { isProcessAlive } from "./local-fs.ts";
import type { ObjectStore } from "./object-store.ts";
import type { ObjectRef } from "./postgres-registry.ts";
import type { Checksum } from "./checksum.ts";
import type { ReadOptions } from "./types.ts";
import { ReadVerifier } from "./verify-read.ts";

/** The object in the store does not match its checksum (or is missing). */
export class DamagedObjectError extends Error {}

export interface ObjectFilesOptions {
  store: ObjectStore;
  /** Folder for downloaded objects; this process uses `<dir>/<pid>` and clears dead processes' folders. */
  dir: string;
  budgetBytes: number;
  /** True while a reader holds the file (by the version key it was fetched for). */
  isPinned: (versionKey: string) => boolean;
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
  /** Objects read in place: what has been verified of each. */
  readonly #verifiers = new Map<string, ReadVerifier>();
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

  /** A local file with the object's bytes, for the version `versionKey` (downloaded if need be). */
  async fileFor(versionKey: string, object: ObjectRef): Promise<string> {
    const inPlace = this.#o.store.localPath(object.key);
    if (inPlace !== null) return inPlace;
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

  /**
   * Checks what a read announced (see ReadOptions) against the checksum; returns what is wrong, or
   * null. A downloaded copy was checked whole when it arrived.
   */
  async verify(object: ObjectRef & { checksum: Checksum }, file: string, rows: ReadOptions["rows"]): Promise<string | null> {
    if (!this.#o.store.inPlace) return null;
    let verifier = this.#verifiers.get(object.key);
    if (!verifier) {
      verifier = new ReadVerifier(file, object.checksum);
      this.#verifiers.set(object.key, verifier);
    }
    return verifier.verify(rows);
  }

  /** After a commit: keeps the uploaded (staged) file as this instance's copy of an s3 object. */
  async adopt(versionKey: string, object: ObjectRef, staged: string): Promise<void> {
    if (this.#o.store.inPlace) {
      await fs.rm(staged, { force: true });
      return;
    }
    const final = this.#finalPath(versionKey);
    try {
      await fs.rename(staged, final);
    } catch {
      await fs.rm(staged, { force: true }); // another file system: it will be downloaded when read
      return;
    }
    this.#add(versionKey, final, object.bytes);
    await this.#evict(versionKey);
  }

  /**
   * A reader found the local file damaged: fetch (or check) it afresh. Returns what is still
   * wrong, or null when the file is intact now.
   */
  async repair(versionKey: string, object: ObjectRef & { checksum: Checksum }): Promise<string | null> {
    const inPlace = this.#o.store.localPath(object.key);
    if (inPlace !== null) {
      const fresh = new ReadVerifier(inPlace, object.checksum);
      const problem = await fresh.verify(undefined);
      this.#verifiers.set(object.key, fresh);
      return problem;
    }
    await this.forget(versionKey);
    try {
      await this.fileFor(versionKey, object);
      return null;
    } catch (error) {
      if (error instanceof DamagedObjectError) return error.message;
      throw error;
    }
  }

  /** Drops the local copy of a deleted version. */
  async forget(versionKey: string): Promise<void> {
    const hit = this.#files.get(versionKey);
    if (!hit) return;
    this.#files.delete(versionKey);
    this.#bytes -= hit.bytes;
    await fs.rm(hit.file, { force: true });
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#inflight.values()]);
    await fs.rm(this.#own, { recursive: true, force: true });
    this.#files.clear();
    this.#verifiers.clear();
    this.#bytes = 0;
  }

  #finalPath(versionKey: string): string {
    return path.join(this.#own, `${versionKey.replace("/", "-v")}.parquet`);
  }

  #add(versionKey: string, file: string, bytes: number): void {
    this.#files.set(versionKey, { file, bytes });
    this.#bytes += bytes;
  }

  async #download(versionKey: string, object: ObjectRef): Promise<string> {
    const final = this.#finalPath(versionKey);
    const tmp = path.join(this.#own, `tmp-${randomUUID()}`);
    const hash = createHash("sha256");
    let bytes = 0;
    try {
      const body = await this.#o.store.get(object.key).catch((error: Error) => {
        throw error.name === "ObjectMissingError" ? new DamagedObjectError("its data object is missing from the store") : error;
      });
      const counter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          bytes += chunk.length;
          done(null, chunk);
        },
      });
      await pipeline(body, counter, createWriteStream(tmp));
      const digest = hash.digest("hex");
      if (bytes !== object.bytes) throw new DamagedObjectError(`its data object has ${bytes} bytes, ${object.bytes} expected`);
      if (digest !== object.sha256) throw new DamagedObjectError("its data object does not match its checksum");
      await fs.rename(tmp, final);
    } catch (error) {
      await fs.rm(tmp, { force: true });
      throw error;
    }
    this.downloads++;
    this.#add(versionKey, final, bytes);
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
