/** The home page: the upload card, then every dataset with a search box. */
import { api, ApiError, call, type Dataset } from "../api.ts";
import { h, mount } from "../dom.ts";
import { ago, count, dateTime, plural } from "../format.ts";
import { datasetHref, versionHref } from "../router.ts";
import { apiMenu } from "../request.ts";
import { emptyState, errorBanner, loading } from "../ui.ts";
import { uploadCard } from "./upload.ts";
import { importCard } from "./archive.ts";

const PAGE = 50;
// Filtering happens in the page, so it needs the names at hand; past this many it asks the server.
const MAX_LOADED = 2000;

/** Loads datasets page by page (the API's default page size) up to MAX_LOADED. */
async function loadAll(signal: AbortSignal): Promise<{ items: Dataset[]; total: number }> {
  const items: Dataset[] = [];
  let total = 0;
  do {
    const page = await call(api.GET("/api/datasets", { params: { query: { offset: items.length, limit: PAGE } }, signal }));
    total = page.total;
    items.push(...page.items);
    if (page.items.length === 0) break;
  } while (items.length < total && items.length < MAX_LOADED);
  return { items, total };
}

function datasetRow(d: Dataset): HTMLElement {
  return h(
    "tr",
    null,
    h("td", null, h("a", { class: "strong-link", href: datasetHref(d.id) }, d.name)),
    h("td", { class: "muted truncate", title: d.description || null }, d.description || h("span", { class: "null" }, "No description")),
    h("td", { class: "num" }, count(d.versionCount)),
    h("td", { class: "num" }, d.latestVersion ? h("a", { href: versionHref(d.id, d.latestVersion) }, `v${d.latestVersion}`) : "—"),
    h("td", { class: "nowrap", title: dateTime(d.updatedAt) }, ago(d.updatedAt)),
  );
}

/** Renders the dataset list into `root`. */
export async function renderDatasetList(root: HTMLElement, signal: AbortSignal): Promise<void> {
  const search = h("input", { type: "search", class: "search", placeholder: "Search by name or description", "aria-label": "Search datasets", autocomplete: "off" });
  const summary = h("span", { class: "muted" });
  const body = h("div", { class: "list-body" }, loading("Loading datasets…"));

  mount(
    root,
    h("div", { class: "page-head" }, h("div", null, h("h1", null, "Datasets"), h("p", { class: "lead" }, "Upload tabular files, keep their versions, and browse, sort, filter and summarise them."))),
    h(
      "div",
      { class: "home-grid" },
      h("section", { class: "card list-card" }, h("div", { class: "card-head" }, h("h2", { class: "card-title" }, "All datasets ", summary), h("div", { class: "toolbar-actions" }, search, apiMenu(() => ({ method: "GET", path: "/api/datasets", query: [["limit", String(PAGE)]] })))), body),
      uploadCard({ onDone: (r) => { location.hash = versionHref(r.dataset.id, r.version.version); } }),
    ),
    importCard((r) => { location.hash = datasetHref(r.dataset.id); }),
  );

  let all: Dataset[];
  let total: number;
  try {
    ({ items: all, total } = await loadAll(signal));
  } catch (err) {
    if (signal.aborted) return;
    mount(body, errorBanner(err, err instanceof ApiError && err.status === 401 ? null : h("button", { class: "button small", type: "button", onclick: () => void renderDatasetList(root, signal) }, "Retry")));
    return;
  }

  const show = () => {
    const q = search.value.trim().toLowerCase();
    const shown = q ? all.filter((d) => d.name.toLowerCase().includes(q) || d.description.toLowerCase().includes(q)) : all;
    summary.textContent = q ? `${count(shown.length)} of ${count(total)}` : `(${count(total)})`;
    if (all.length === 0) {
      mount(body, emptyState("No datasets yet", "Upload a CSV, TSV, Excel or Parquet file to create the first one."));
      return;
    }
    if (shown.length === 0) {
      mount(body, emptyState(`No dataset matches “${search.value.trim()}”`, total > all.length ? "Only the first datasets are searched here; try the exact name and press Enter." : "Try a shorter search.", h("button", { class: "button small", type: "button", onclick: () => { search.value = ""; show(); } }, "Clear search")));
      return;
    }
    mount(
      body,
      h(
        "div",
        { class: "table-scroll" },
        h(
          "table",
          { class: "table" },
          h("thead", null, h("tr", null, h("th", null, "Name"), h("th", null, "Description"), h("th", { class: "num" }, "Versions"), h("th", { class: "num" }, "Latest"), h("th", null, "Updated"))),
          h("tbody", null, shown.map(datasetRow)),
        ),
      ),
      total > all.length ? h("p", { class: "muted small" }, `Showing the first ${plural(all.length, "dataset")} of ${count(total)}.`) : null,
    );
  };

  search.addEventListener("input", show);
  // Past MAX_LOADED the list is partial, so Enter asks the server for the exact name.
  search.addEventListener("keydown", async (e) => {
    if (e.key !== "Enter" || total <= all.length || !search.value.trim()) return;
    try {
      const found = await call(api.GET("/api/datasets", { params: { query: { name: search.value.trim() } }, signal }));
      for (const d of found.items) if (!all.some((x) => x.id === d.id)) all = [...all, d];
      show();
    } catch (err) {
      if (!signal.aborted) body.prepend(errorBanner(err));
    }
  });
  show();
}
