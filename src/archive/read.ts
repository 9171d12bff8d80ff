/**
 * Reads and verifies a dataset archive (format.ts) before anything is stored. The manifest must
 * come first; every later entry must be a regular file the manifest names (names derive from
 * version numbers), of the declared size (checked from its header, before its bytes are read)
 * and with the declared SHA-256; nothing may be missing, repeated or extra. Anything else —
 * truncated, edited, foreign or hostile (path traversal, links, huge or duplicate entries) — is a
 * 422 `INVALID_ARCHIVE` naming the problem. Data files land in `dir` under names of our making.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { open } from "node:fs/promises";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import type { z } from "zod";
import { ApiError, invalidArchive } from "../errors.ts";
import {
  ARCHIVE_FORMAT,
  entryName,
  type FileRole,
  Manifest,
  MANIFEST_NAME,
  MAX_JSON_BYTES,
  MAX_MANIFEST_BYTES,
  StatsFile,
  VersionFile,
} from "./format.ts";

export interface VerifiedVersion {
  version: z.infer<typeof VersionFile>;
  stats: z.infer<typeof StatsFile>;
  /** The version's Parquet file, inside `dir`. Its bytes match the manifest; its contents are not yet read. */
  dataFile: string;
}

export interface VerifiedArchive {
  manifest: Manifest;
  versions: VerifiedVersion[];
}

interface Expected {
  version: number;
  role: FileRole;
  size: number;
  sha256: string;
}

const shown = (name: string) => JSON.stringify(name.length > 120 ? `${name.slice(0, 120)}…` : name);

function zodProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "it does not have the expected shape";
  const where = issue.path.length > 0 ? issue.path.join(".") : "the top level";
  return `${where}: ${issue.message}`;
}

async function readAll(entry: AsyncIterable<unknown>, limit: number, name: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of entry) {
    size += (chunk as Buffer).length;
    if (size > limit) throw invalidArchive(`Entry ${shown(name)} is larger than ${limit} bytes; this is not an archive made by this service.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function parseJson(buf: Buffer, name: string): unknown {
  try {
    return JSON.parse(buf.toString("utf8"));
  } catch {
    throw invalidArchive(`Entry ${shown(name)} is not valid JSON.`);
  }
}

function checkManifest(buf: Buffer): Manifest {
  const raw = parseJson(buf, MANIFEST_NAME);
  if (typeof raw !== "object" || raw === null || (raw as { format?: unknown }).format !== ARCHIVE_FORMAT) {
    throw invalidArchive(`This is not a dataset archive: its ${MANIFEST_NAME} does not say "format": "${ARCHIVE_FORMAT}". Import archives made by GET /api/datasets/{datasetId}/export.`);
  }
  const parsed = Manifest.safeParse(raw);
  if (!parsed.success) throw invalidArchive(`The archive's ${MANIFEST_NAME} is not valid (${zodProblem(parsed.error)}).`);
  const manifest = parsed.data;
  let previous = 0;
  for (const v of manifest.versions) {
    if (v.version <= previous) throw invalidArchive(`The archive's ${MANIFEST_NAME} lists version ${v.version} out of order or twice.`);
    previous = v.version;
    for (const role of ["version", "stats", "data"] as const) {
      if (v.files[role].name !== entryName(v.version, role)) {
        throw invalidArchive(`The archive's ${MANIFEST_NAME} names ${shown(v.files[role].name)} for version ${v.version}'s ${role} file; expected ${shown(entryName(v.version, role))}.`);
      }
      if (role !== "data" && v.files[role].size > MAX_JSON_BYTES) throw invalidArchive(`Version ${v.version}'s ${role} file is declared as ${v.files[role].size} bytes, more than the ${MAX_JSON_BYTES} allowed.`);
    }
  }
  if (manifest.dataset.highestIssued < previous) {
    throw invalidArchive(`The archive's ${MANIFEST_NAME} says the highest version number issued is ${manifest.dataset.highestIssued}, but it holds version ${previous}.`);
  }
  return manifest;
}

/** Why an entry name can never be one of ours, for a clearer message than "unexpected". */
function hostileName(name: string): string | null {
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) return "is an absolute path";
  if (name.split(/[\\/]/).includes("..")) return "climbs out of the archive (path traversal)";
  if (name.includes("\u0000")) return "contains a NUL byte";
  return null;
}

/** Rejections from tar-stream (bad headers, early end) in our words. */
function tarProblem(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (/unexpected end|premature|truncat/i.test(message)) return invalidArchive("The archive ends early: it is truncated. Export it again, or copy it whole.");
  return invalidArchive(`The file is not a readable tar archive (${message.slice(0, 200)}).`);
}

/** A tar archive starts with a 512-byte header carrying the "ustar" magic at offset 257. */
async function assertTar(file: string): Promise<void> {
  const handle = await open(file, "r");
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    if (bytesRead === 0) throw invalidArchive("The archive is empty.");
    if (bytesRead < 512 || head.toString("latin1", 257, 262) !== "ustar") {
      throw invalidArchive("The file is not a tar archive. Import archives made by GET /api/datasets/{datasetId}/export.");
    }
  } finally {
    await handle.close();
  }
}

/**
 * Reads the archive at `file`, writes its data files into `dir` (which must exist and be empty;
 * the caller removes it) and returns the verified contents, or throws 422.
 */
export async function readArchive(file: string, dir: string): Promise<VerifiedArchive> {
  await assertTar(file);
  const input = createReadStream(file);
  const extract = tar.extract();
  const feeding = pipeline(input, extract).catch((err: unknown) => {
    extract.destroy(err instanceof Error ? err : new Error(String(err)));
  });
  let manifest: Manifest | null = null;
  const expected = new Map<string, Expected>();
  const seen = new Set<string>();
  const json = new Map<string, unknown>();
  try {
    for await (const entry of extract) {
      const { name, type } = entry.header;
      const size = entry.header.size ?? 0;
      if (!manifest) {
        if (name !== MANIFEST_NAME) throw invalidArchive(`This is not a dataset archive: its first entry is ${shown(name)}, not ${MANIFEST_NAME}. Import archives made by GET /api/datasets/{datasetId}/export.`);
        if (type !== "file") throw invalidArchive(`The archive's ${MANIFEST_NAME} is a ${type ?? "special entry"}, not a regular file.`);
        if (size > MAX_MANIFEST_BYTES) throw invalidArchive(`The archive's ${MANIFEST_NAME} is ${size} bytes, more than the ${MAX_MANIFEST_BYTES} a manifest may have.`);
        manifest = checkManifest(await readAll(entry, MAX_MANIFEST_BYTES, name));
        for (const v of manifest.versions) {
          for (const role of ["version", "stats", "data"] as const) {
            const f = v.files[role];
            expected.set(f.name, { version: v.version, role, size: f.size, sha256: f.sha256 });
          }
        }
        seen.add(name);
        continue;
      }
      const hostile = hostileName(name);
      if (hostile) throw invalidArchive(`Entry ${shown(name)} ${hostile}; nothing was imported.`);
      if (type !== "file") throw invalidArchive(`Entry ${shown(name)} is a ${type ?? "special entry"}; archives hold only regular files (no links or folders).`);
      if (seen.has(name)) throw invalidArchive(`Entry ${shown(name)} appears twice in the archive.`);
      const want = expected.get(name);
      if (!want) throw invalidArchive(`Entry ${shown(name)} is not listed in the archive's ${MANIFEST_NAME}.`);
      if (size !== want.size) throw invalidArchive(`Entry ${shown(name)} is ${size} bytes, but the manifest says ${want.size}: the archive was changed or damaged.`);
      seen.add(name);
      const hash = createHash("sha256");
      if (want.role === "data") {
        const file = path.join(dir, `v${want.version}.parquet`);
        const hashing = new Transform({
          transform(chunk: Buffer, _encoding, done) {
            hash.update(chunk);
            done(null, chunk);
          },
        });
        await pipeline(entry as unknown as Readable, hashing, createWriteStream(file, { flags: "wx" }));
      } else {
        const buf = await readAll(entry, MAX_JSON_BYTES, name);
        hash.update(buf);
        json.set(name, buf);
      }
      if (hash.digest("hex") !== want.sha256) throw invalidArchive(`Entry ${shown(name)} does not match its SHA-256 in the manifest: the archive was changed or damaged.`);
    }
    await feeding;
  } catch (err) {
    extract.destroy();
    input.destroy();
    throw tarProblem(err);
  }
  if (!manifest) throw invalidArchive("The archive is empty (or not a tar archive).");
  const missing = [...expected.keys()].filter((n) => !seen.has(n));
  if (missing.length > 0) throw invalidArchive(`The archive is incomplete (truncated?): ${shown(missing[0] as string)}${missing.length > 1 ? ` and ${missing.length - 1} more entries are` : " is"} missing.`);

  const versions = manifest.versions.map((v): VerifiedVersion => {
    const versionName = entryName(v.version, "version");
    const statsName = entryName(v.version, "stats");
    // validated, but kept as written: zod's output would reorder the source's keys
    const rawMeta = parseJson(json.get(versionName) as Buffer, versionName);
    const meta = VersionFile.safeParse(rawMeta);
    if (!meta.success) throw invalidArchive(`Entry ${shown(versionName)} is not a valid version object (${zodProblem(meta.error)}).`);
    const stats = StatsFile.safeParse(parseJson(json.get(statsName) as Buffer, statsName));
    if (!stats.success) throw invalidArchive(`Entry ${shown(statsName)} is not a valid statistics object (${zodProblem(stats.error)}).`);
    if (meta.data.version !== v.version || stats.data.version !== v.version) throw invalidArchive(`Version ${v.version}'s files describe another version number.`);
    if (meta.data.columnCount !== meta.data.columns.length) throw invalidArchive(`Version ${v.version} says it has ${meta.data.columnCount} columns but lists ${meta.data.columns.length}.`);
    const statNames = stats.data.columns.map((c) => c.name);
    if (stats.data.rowCount !== meta.data.rowCount || statNames.length !== meta.data.columns.length || statNames.some((n, i) => n !== meta.data.columns[i]?.name)) {
      throw invalidArchive(`Version ${v.version}'s statistics do not describe its columns and rows.`);
    }
    return { version: rawMeta as typeof meta.data, stats: stats.data, dataFile: path.join(dir, `v${v.version}.parquet`) };
  });
  return { manifest, versions };
}
