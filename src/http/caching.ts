/**
 * Versions are immutable, so a numbered version's responses can be cached forever and
 * validated by a strong ETag; `latest` URLs must be revalidated each time.
 *
 * Errors are never cacheable: the validators set here are removed again by the problem
 * middleware (http/problem.ts) when the handler fails after setting them, so an ETag only ever
 * reaches a client on a success. For the same reason only a concrete ETag we issued earns a 304:
 * `If-None-Match: *` would also "match" a request whose fresh answer is an error (a bad column
 * found only while writing a download), so it is not honoured.
 */
import { createHash } from "node:crypto";
import type { Request, Response } from "express";
import type { VersionSelector } from "../storage/types.ts";
import type { Version } from "../types.ts";

/** The query string in a canonical order, so equivalent URLs share an ETag. */
export function canonicalQuery(req: Request, omit: readonly string[] = []): string {
  const url = new URL(req.originalUrl, "http://x");
  const pairs = [...url.searchParams.entries()].filter(([k]) => !omit.includes(k));
  pairs.sort(([a, av], [b, bv]) => (a === b ? 0 : a < b ? -1 : 1) || (av < bv ? -1 : av > bv ? 1 : 0));
  return new URLSearchParams(pairs).toString();
}

/** The strong ETag of resource `kind` of `version` for the canonical query `variant`. */
export function etagOf(version: Pick<Version, "datasetId" | "version" | "createdAt">, kind: string, variant: string): string {
  return `"${createHash("sha256").update(`${version.datasetId}\n${version.version}\n${version.createdAt}\n${kind}\n${variant}`).digest("base64url").slice(0, 32)}"`;
}

/**
 * Sets ETag and Cache-Control for a response about `version`; returns true when the client's
 * copy is current (a 304 has been sent and the handler should stop). Call it only once the
 * request is known to be valid (every parameter checked against the version): a 304 tells the
 * client its copy is the answer, and an error is never anyone's copy.
 */
export function notModified(req: Request, res: Response, selector: VersionSelector, version: Version, kind: string, variant = canonicalQuery(req)): boolean {
  const etag = etagOf(version, kind, variant);
  res.setHeader("ETag", etag);
  res.setHeader("Cache-Control", selector === "latest" ? "no-cache" : "public, max-age=31536000, immutable");
  const ifNoneMatch = req.get("If-None-Match");
  if (ifNoneMatch && ifNoneMatch.split(",").some((t) => t.trim() === etag || t.trim() === `W/${etag}`)) {
    res.status(304).end();
    return true;
  }
  return false;
}
