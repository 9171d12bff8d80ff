/** Query-string parsing shared by routes: strict, and every failure is a 400 naming the parameter. */
import type { Request } from "express";
import { badRequest, notFound } from "../errors.ts";
import type { VersionSelector } from "../storage/types.ts";

/** One value of a query parameter; repeated parameters are a 400 unless the route allows them. */
export function single(req: Request, name: string): string | undefined {
  const v = req.query[name];
  if (v === undefined) return undefined;
  if (typeof v === "string") return v;
  throw badRequest(`Query parameter "${name}" must be given once.`);
}

/** All values of a repeatable query parameter (e.g. `filter`). */
export function repeated(req: Request, name: string): string[] {
  const v = req.query[name];
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => {
    if (typeof x !== "string") throw badRequest(`Query parameter "${name}" is malformed.`);
    return x;
  });
}

export function intParam(req: Request, name: string, fallback: number, min: number, max: number): number {
  const raw = single(req, name);
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw badRequest(`Query parameter "${name}" must be a whole number from ${min} to ${max}; got "${raw.slice(0, 40)}".`);
  const n = Number(raw);
  if (n < min || n > max) throw badRequest(`Query parameter "${name}" must be from ${min} to ${max}; got ${raw.slice(0, 40)}.`);
  return n;
}

/** A `{version}` path segment: a positive integer or `latest`; anything else names no version (404). */
export function versionParam(raw: string | undefined): VersionSelector {
  if (raw === "latest") return "latest";
  if (raw !== undefined && /^[1-9]\d{0,14}$/.test(raw)) return Number(raw);
  throw notFound(`No version "${String(raw).slice(0, 40)}": versions are positive integers or "latest".`);
}
