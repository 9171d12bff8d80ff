/** Hash routing: `#/`, `#/datasets/:id`, `#/datasets/:id/versions/:n` (n may be `latest`). */

export type Route =
  | { name: "datasets" }
  | { name: "dataset"; id: string }
  | { name: "version"; id: string; version: string }
  | { name: "notFound"; path: string };

/** Parses a location hash (with or without the leading `#`). */
export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, "").replace(/\?.*$/, "");
  const parts = path.split("/").filter((p) => p !== "").map(decodeURIComponent);
  if (parts.length === 0) return { name: "datasets" };
  if (parts[0] === "datasets") {
    if (parts.length === 1) return { name: "datasets" };
    const id = parts[1]!;
    if (parts.length === 2) return { name: "dataset", id };
    if (parts.length === 4 && parts[2] === "versions" && /^(\d+|latest)$/.test(parts[3]!)) return { name: "version", id, version: parts[3]! };
  }
  return { name: "notFound", path };
}

export function datasetHref(id: string): string {
  return `#/datasets/${encodeURIComponent(id)}`;
}

export function versionHref(id: string, version: number | string): string {
  return `#/datasets/${encodeURIComponent(id)}/versions/${version}`;
}
