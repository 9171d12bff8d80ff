/**
 * Hash routing with the view in the URL: `#/`, `#/datasets/:id`, `#/datasets/:id/versions/:n?tab=…&sort=…&filter=…&q=…&page=…`
 * (n may be `latest`), `#/datasets/:id/compare?from=…&to=…&key=…`, `#/sql?query=…`. Views change the
 * query with `go()`, which adds a history entry (or replaces the current one) without re-rendering the
 * page; back/forward and shared links then restore the same view.
 */

export type Route =
  | { name: "datasets" }
  | { name: "dataset"; id: string }
  | { name: "version"; id: string; version: string; params: URLSearchParams }
  | { name: "compare"; id: string; params: URLSearchParams }
  | { name: "sql"; params: URLSearchParams }
  | { name: "notFound"; path: string };

/** Parses a location hash (with or without the leading `#`). */
export function parseRoute(hash: string): Route {
  const raw = hash.replace(/^#/, "");
  const q = raw.indexOf("?");
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q < 0 ? "" : raw.slice(q + 1));
  const parts = path.split("/").filter((p) => p !== "").map(decodeURIComponent);
  if (parts.length === 0) return { name: "datasets" };
  if (parts[0] === "sql" && parts.length === 1) return { name: "sql", params };
  if (parts[0] === "datasets") {
    if (parts.length === 1) return { name: "datasets" };
    const id = parts[1]!;
    if (parts.length === 2) return { name: "dataset", id };
    if (parts.length === 3 && parts[2] === "compare") return { name: "compare", id, params };
    if (parts.length === 4 && parts[2] === "versions" && /^(\d+|latest)$/.test(parts[3]!)) return { name: "version", id, version: parts[3]!, params };
  }
  return { name: "notFound", path };
}

/** Routes with the same key are one view whose URL query changed (the view updates, it is not rebuilt). */
export function routeKey(route: Route): string {
  switch (route.name) {
    case "version":
      return `version/${route.id}/${route.version}`;
    case "dataset":
    case "compare":
      return `${route.name}/${route.id}`;
    case "notFound":
      return `notFound/${route.path}`;
    default:
      return route.name;
  }
}

function withQuery(path: string, params?: URLSearchParams): string {
  const q = params?.toString();
  return q ? `${path}?${q}` : path;
}

export function datasetHref(id: string): string {
  return `#/datasets/${encodeURIComponent(id)}`;
}

export function versionHref(id: string, version: number | string, params?: URLSearchParams): string {
  return withQuery(`#/datasets/${encodeURIComponent(id)}/versions/${version}`, params);
}

export function compareHref(id: string, params?: URLSearchParams): string {
  return withQuery(`#/datasets/${encodeURIComponent(id)}/compare`, params);
}

export function sqlHref(params?: URLSearchParams): string {
  return withQuery("#/sql", params);
}

const listeners = new Set<() => void>();

/** Called after `go()` changed the URL (history.pushState fires no event of its own). */
export function onNavigate(listener: () => void): void {
  listeners.add(listener);
}

/**
 * Puts `href` (a `#/…` hash) in the address bar: a new history entry, or with `replace` the current
 * one changed (for state that is not worth a back step, like the first normalisation of a URL).
 */
export function go(href: string, { replace = false } = {}): void {
  if (location.hash === href || (href === "#/" && location.hash === "")) return;
  if (replace) history.replaceState(null, "", href);
  else history.pushState(null, "", href);
  for (const l of listeners) l();
}
