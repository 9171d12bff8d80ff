/**
 * The Download menu of a version: every format the API writes, either the whole version or the rows
 * and columns on screen (filters, sort, projection). Without a token the links are plain, so the
 * browser streams the file to disk; with one, the file is fetched with the token and then saved.
 */
import { getToken } from "../api.ts";
import { h } from "../dom.ts";
import { apiMenu, queryPairs } from "../request.ts";
import { errorBanner } from "../ui.ts";

export const FORMATS = [
  ["csv", "CSV", "csv"],
  ["parquet", "Parquet", "parquet"],
  ["ndjson", "NDJSON", "ndjson"],
  ["json", "JSON", "json"],
  ["arrow", "Arrow IPC", "arrow"],
] as const;
export type DownloadFormat = (typeof FORMATS)[number][0];

export interface DownloadMenuOptions {
  ref: { datasetId: string; version: string };
  /** "people-v3": what the browser names the file (the server's Content-Disposition says the same). */
  fileStem: string;
  /** The query of what is on screen (columns, sort, filter…). */
  shown?: () => Record<string, string | string[] | undefined>;
  /** Whether the screen differs from the whole version (the "as shown" box starts ticked then). */
  isShown?: () => boolean;
  label?: string;
}

export function downloadPath(ref: { datasetId: string; version: string }): string {
  return `/api/datasets/${encodeURIComponent(ref.datasetId)}/versions/${ref.version}/download`;
}

/** Fetches `url` with the saved token and saves the answer as `name` (a plain link cannot carry a token). */
export async function saveWithToken(url: string, name: string, host: HTMLElement): Promise<void> {
  const res = await fetch(url, { headers: { Authorization: `Bearer ${getToken()}` } });
  if (!res.ok) {
    host.append(errorBanner(new Error(`${res.status} ${res.statusText}`)));
    return;
  }
  saveBlob(await res.blob(), name);
}

/** Saves `blob` as the file `name` through a hidden link (the object URL is freed a minute later). */
export function saveBlob(blob: Blob, name: string): void {
  const href = URL.createObjectURL(blob);
  const a = h("a", { href, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60_000);
}

export function downloadMenu(o: DownloadMenuOptions): HTMLElement {
  const asShown = h("input", { type: "checkbox", "aria-label": "Only the rows and columns shown" });
  const links = h("div", { class: "download-links" });
  const messages = h("div");
  let format: DownloadFormat = "csv";

  const query = () => queryPairs({ format, ...(asShown.checked && o.shown ? o.shown() : {}) });
  const hrefFor = (f: DownloadFormat) => {
    const q = queryPairs({ format: f, ...(asShown.checked && o.shown ? o.shown() : {}) });
    return `${downloadPath(o.ref)}?${new URLSearchParams(q).toString()}`;
  };
  const render = () => {
    links.replaceChildren(
      ...FORMATS.map(([f, label, ext]) =>
        h(
          "a",
          {
            class: "button small",
            href: hrefFor(f),
            download: `${o.fileStem}.${ext}`,
            "data-format": f,
            onclick: (e: Event) => {
              format = f;
              if (!getToken()) return; // a plain link: the browser streams it
              e.preventDefault();
              void saveWithToken(hrefFor(f), `${o.fileStem}.${ext}`, messages);
            },
          },
          label,
        ),
      ),
    );
  };
  // Opening the menu ticks "as shown" when the screen differs from the whole version (the click runs before the menu opens).
  const opened = () => {
    if (menu.open) return;
    asShown.checked = o.isShown?.() ?? false;
    render();
  };
  const menu: HTMLDetailsElement = h(
    "details",
    { class: "menu download-menu" },
    h("summary", { class: "button small", onclick: opened }, o.label ?? "Download"),
    h(
      "div",
      { class: "menu-body" },
      o.shown ? h("label", { class: "check" }, asShown, h("span", null, "Only the rows and columns shown (filters, sort, columns)")) : null,
      links,
      h("div", { class: "menu-row" }, apiMenu(() => ({ method: "GET", path: downloadPath(o.ref), query: query(), download: `${o.fileStem}.${FORMATS.find((x) => x[0] === format)![2]}` }), "Request")),
      messages,
    ),
  );
  asShown.addEventListener("change", render);
  render();
  return menu;
}
