/** A version's page: facts about its source, then tabs for the data, the schema and statistics. */
import { api, ApiError, call, type ColumnInfo, type DatasetDetail, type Version } from "../api.ts";
import { h, mount } from "../dom.ts";
import { ago, bytes, count, dateTime, formatLabel, isNumeric } from "../format.ts";
import { datasetHref, versionHref } from "../router.ts";
import { badge, breadcrumbs, emptyState, errorBanner, fact, loading } from "../ui.ts";
import { statsView } from "./stats.ts";
import { dataTable } from "./table.ts";

type Tab = "data" | "schema" | "stats";
const TABS: [Tab, string][] = [["data", "Data"], ["schema", "Schema"], ["stats", "Statistics"]];

function tabFromHash(): Tab {
  const t = new URLSearchParams(location.hash.split("?")[1] ?? "").get("tab");
  return t === "schema" || t === "stats" ? t : "data";
}

function schemaTable(columns: ColumnInfo[]): HTMLElement {
  if (columns.length === 0) return emptyState("This version has no columns");
  return h(
    "div",
    { class: "table-scroll schema-wrap" },
    h(
      "table",
      { class: "table schema-table" },
      h("thead", null, h("tr", null, h("th", { class: "num" }, "#"), h("th", null, "Column"), h("th", null, "Type"), h("th", null, "Nulls allowed"))),
      h("tbody", null, columns.map((c, i) => h("tr", null, h("td", { class: "num muted" }, String(i + 1)), h("td", { class: "strong" }, c.name), h("td", null, badge(c.dtype, isNumeric(c.dtype) ? "badge-type num-type" : "badge-type")), h("td", null, c.nullable === undefined ? "—" : c.nullable ? "yes" : h("span", { class: "muted" }, "no"))))),
    ),
  );
}

/** Renders version `versionRef` (a number or `latest`) of dataset `id` into `root`. */
export async function renderVersion(root: HTMLElement, id: string, versionRef: string, signal: AbortSignal): Promise<void> {
  mount(root, breadcrumbs(["Datasets", "#/"], ["…", datasetHref(id)], [`Version ${versionRef}`]), loading("Loading version…"));
  let d: DatasetDetail;
  let v: Version;
  try {
    [d, v] = await Promise.all([
      call(api.GET("/api/datasets/{datasetId}", { params: { path: { datasetId: id } }, signal })),
      call(api.GET("/api/datasets/{datasetId}/versions/{version}", { params: { path: { datasetId: id, version: versionRef } }, signal })),
    ]);
  } catch (err) {
    if (signal.aborted) return;
    document.title = "Version";
    const missing = err instanceof ApiError && err.status === 404;
    mount(root, breadcrumbs(["Datasets", "#/"], ["Dataset", datasetHref(id)], [`Version ${versionRef}`]), missing ? emptyState("Version not found", "The dataset or this version may have been deleted.", h("a", { class: "button", href: datasetHref(id) }, "Go to the dataset")) : errorBanner(err));
    return;
  }
  document.title = `${d.name} v${v.version} · Datasets`;
  // Pin the resolved number so paging never shifts when a new version lands behind `latest`.
  const ref = { datasetId: id, version: String(v.version) };
  const columns = v.columns ?? [];
  const src = v.source;

  const panels = new Map<Tab, HTMLElement>();
  const tabButtons = new Map<Tab, HTMLButtonElement>();
  const panelHost = h("div", { class: "tab-panel", role: "tabpanel" });
  let statsLoaded = false;

  const select = (tab: Tab) => {
    for (const [t, b] of tabButtons) {
      b.setAttribute("aria-selected", String(t === tab));
      b.classList.toggle("active", t === tab);
    }
    // Remember the tab in the hash without triggering a re-render.
    const path = location.hash.split("?")[0];
    history.replaceState(null, "", tab === "data" ? path : `${path}?tab=${tab}`);
    let panel = panels.get(tab);
    if (!panel) {
      panel = tab === "data" ? dataTable(ref, columns, signal) : tab === "schema" ? schemaTable(columns) : h("div", null, loading("Computing statistics…"));
      panels.set(tab, panel);
    }
    mount(panelHost, panel);
    if (tab === "stats" && !statsLoaded) {
      statsLoaded = true;
      const host = panel;
      call(api.GET("/api/datasets/{datasetId}/versions/{version}/stats", { params: { path: ref }, signal }))
        .then((st) => mount(host, statsView(st)))
        .catch((err: unknown) => {
          if (signal.aborted) return;
          statsLoaded = false;
          panels.delete("stats");
          mount(host, errorBanner(err, h("button", { class: "button small", type: "button", onclick: () => select("stats") }, "Retry")));
        });
    }
  };

  const tabs = h(
    "div",
    { class: "tabs", role: "tablist" },
    TABS.map(([t, label]) => {
      const b = h("button", { class: "tab", type: "button", role: "tab", onclick: () => select(t) }, label);
      tabButtons.set(t, b);
      return b;
    }),
  );

  const others = [...d.versions].sort((a, b) => b.version - a.version);
  const versionSelect = h(
    "select",
    { class: "version-select", "aria-label": "Switch version", onchange: () => { location.hash = versionHref(id, versionSelect.value); } },
    others.map((o) => h("option", { value: o.version, selected: o.version === v.version }, `Version ${o.version}${o.version === d.latestVersion ? " (latest)" : ""}`)),
  );

  mount(
    root,
    breadcrumbs(["Datasets", "#/"], [d.name, datasetHref(id)], [`Version ${v.version}`]),
    h(
      "div",
      { class: "page-head" },
      h("div", null, h("h1", null, d.name, " ", h("span", { class: "version-tag" }, `v${v.version}`), v.version === d.latestVersion ? badge("latest", "badge-accent") : null), d.description ? h("p", { class: "lead" }, d.description) : null),
      others.length > 1 ? versionSelect : null,
    ),
    h(
      "div",
      { class: "facts" },
      fact("Rows", h("span", { class: "row-count" }, count(v.rowCount))),
      fact("Columns", count(v.columnCount)),
      fact("Format", h("span", null, badge(formatLabel(src.format)), src.sheet ? ` sheet “${src.sheet}”` : "")),
      fact("Source file", h("span", { class: "truncate inline", title: src.filename }, src.filename)),
      fact("Size", bytes(src.sizeBytes)),
      fact("Created", ago(v.createdAt), dateTime(v.createdAt)),
      src.skippedRows ? fact("Skipped rows", h("span", { class: "warn" }, count(src.skippedRows)), `Lines: ${(src.skippedLines ?? []).join(", ")}`) : null,
    ),
    h("section", { class: "card tab-card" }, tabs, panelHost),
  );
  select(tabFromHash());
}
