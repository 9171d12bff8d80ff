/**
 * A version's page: facts about its source and what ingest noted, then tabs for the data, the
 * schema and statistics. The tab and the table's state are in the URL (`?tab=stats`, `sort=…`).
 * Actions: download (every format), compare with another version, delete this version.
 */
import type { ViewHandle } from "../main.ts";
import { api, ApiError, call, type ColumnInfo, type DatasetDetail, type Stats, type Version } from "../api.ts";
import { h, mount } from "../dom.ts";
import { ago, bytes, count, dateTime, formatLabel, isNumeric } from "../format.ts";
import { apiMenu } from "../request.ts";
import { compareHref, datasetHref, go, versionHref, type Route } from "../router.ts";
import { badge, breadcrumbs, confirmDialog, emptyState, errorBanner, fact, loading, notesBox } from "../ui.ts";
import { downloadMenu } from "./download.ts";
import { statsView } from "./stats.ts";
import { dataTable, type DataTable } from "./table.ts";

type Tab = "data" | "schema" | "stats";
const TABS: [Tab, string][] = [["data", "Data"], ["schema", "Schema"], ["stats", "Statistics"]];

const DELIMITER_NAMES: Record<string, string> = { ",": "comma ,", ";": "semicolon ;", "\t": "tab", "|": "pipe |" };

function tabOf(p: URLSearchParams): Tab {
  const t = p.get("tab");
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

/** What ingest decided beyond plain notes: renamed headers, skipped lines. */
function sourceDetails(src: Version["source"]): HTMLElement | null {
  const items: HTMLElement[] = [];
  if (src.renamedColumns?.length) items.push(h("li", null, "Renamed columns: ", src.renamedColumns.map((r, i) => [i ? ", " : "", h("code", null, r.from === "" ? "(empty)" : r.from), " → ", h("code", null, r.to)])));
  if (src.skippedRows) items.push(h("li", null, `${count(src.skippedRows)} rows with the wrong number of fields were left out (lines ${(src.skippedLines ?? []).slice(0, 20).join(", ")}${(src.skippedLines?.length ?? 0) > 20 ? ", …" : ""}).`));
  return items.length ? h("ul", { class: "notes-list source-details" }, items) : null;
}

/** Renders version `route.version` (a number or `latest`) of dataset `route.id` into `root`. */
export async function renderVersion(root: HTMLElement, route: Extract<Route, { name: "version" }>, signal: AbortSignal): Promise<ViewHandle | void> {
  const { id, version: versionRef } = route;
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
  // Requests pin the resolved number so paging never shifts when a new version lands behind `latest`.
  const ref = { datasetId: id, version: String(v.version) };
  const columns = v.columns ?? [];
  const src = v.source;
  const fileStem = `${d.name}-v${v.version}`.replace(/[^\w.-]+/g, "_");
  let params = route.params;
  const here = (p: URLSearchParams) => versionHref(id, versionRef, p);

  // Statistics are computed once per version and kept: the table's sparklines and the tab share them.
  let statsPromise: Promise<Stats> | null = null;
  const stats = () => (statsPromise ??= call(api.GET("/api/datasets/{datasetId}/versions/{version}/stats", { params: { path: ref }, signal })));

  const tabButtons = new Map<Tab, HTMLButtonElement>();
  const panelHost = h("div", { class: "tab-panel", role: "tabpanel" });
  let table: DataTable | null = null;
  const panels = new Map<Tab, HTMLElement>();

  const panelFor = (tab: Tab): HTMLElement => {
    const made = panels.get(tab);
    if (made) return made;
    let panel: HTMLElement;
    if (tab === "data") {
      table = dataTable({ ref, columns, stats: stats().catch(() => null), params, onParams: (p) => go(here(p)), fileStem, signal });
      panel = table.el;
    } else if (tab === "schema") {
      panel = h("div", { class: "schema-view" }, h("div", { class: "table-toolbar" }, h("div", { class: "table-summary" }, `${count(columns.length)} columns`), apiMenu(() => ({ method: "GET", path: `/api/datasets/${encodeURIComponent(id)}/versions/${ref.version}/schema` }))), schemaTable(columns));
    } else {
      const host = h("div", null, loading("Computing statistics…"));
      panel = host;
      stats()
        .then((st) => mount(host, statsView(st, apiMenu(() => ({ method: "GET", path: `/api/datasets/${encodeURIComponent(id)}/versions/${ref.version}/stats` })))))
        .catch((err: unknown) => {
          if (signal.aborted) return;
          statsPromise = null;
          panels.delete("stats");
          mount(host, errorBanner(err, h("button", { class: "button small", type: "button", onclick: () => show(params) }, "Retry")));
        });
    }
    panels.set(tab, panel);
    return panel;
  };

  const show = (p: URLSearchParams) => {
    params = p;
    const tab = tabOf(p);
    for (const [t, b] of tabButtons) {
      b.setAttribute("aria-selected", String(t === tab));
      b.classList.toggle("active", t === tab);
    }
    const panel = panelFor(tab);
    if (panelHost.firstChild !== panel) mount(panelHost, panel);
    if (tab === "data") table?.apply(p);
  };

  const tabs = h(
    "div",
    { class: "tabs", role: "tablist" },
    TABS.map(([t, label]) => {
      const b = h("button", {
        class: "tab",
        type: "button",
        role: "tab",
        onclick: () => {
          const p = new URLSearchParams(params);
          if (t === "data") p.delete("tab");
          else p.set("tab", t);
          go(here(p));
        },
      }, label);
      tabButtons.set(t, b);
      return b;
    }),
  );

  const others = [...d.versions].sort((a, b) => b.version - a.version);
  const versionSelect = h(
    "select",
    { class: "version-select", "aria-label": "Switch version", onchange: () => go(versionHref(id, versionSelect.value)) },
    others.map((o) => h("option", { value: o.version, selected: o.version === v.version }, `Version ${o.version}${o.version === d.latestVersion ? " (latest)" : ""}`)),
  );
  const actionsMessages = h("div");
  const deleteButton = h(
    "button",
    {
      class: "button small danger-outline",
      type: "button",
      onclick: async () => {
        const ok = await confirmDialog({
          title: `Delete version ${v.version} of “${d.name}”?`,
          text: [h("p", null, `Its ${count(v.rowCount)} rows are removed for good; the number ${v.version} is never used again.`), others.length === 1 ? h("p", null, "It is the only version: the dataset stays, with no versions.") : v.version === d.latestVersion ? h("p", null, "“latest” will then point at the highest remaining version.") : null],
          confirm: `Delete version ${v.version}`,
          danger: true,
        });
        if (!ok) return;
        try {
          await call(api.DELETE("/api/datasets/{datasetId}/versions/{version}", { params: { path: ref } }));
          go(datasetHref(id));
        } catch (err) {
          mount(actionsMessages, errorBanner(err));
        }
      },
    },
    "Delete version",
  );
  const older = others.find((o) => o.version < v.version);
  const compareLink = others.length > 1 ? h("a", { class: "button small", href: compareHref(id, new URLSearchParams({ from: String(older?.version ?? others[0]!.version), to: String(v.version) })) }, "Compare…") : null;

  mount(
    root,
    breadcrumbs(["Datasets", "#/"], [d.name, datasetHref(id)], [`Version ${v.version}`]),
    h(
      "div",
      { class: "page-head" },
      h("div", null, h("h1", null, d.name, " ", h("span", { class: "version-tag" }, `v${v.version}`), v.version === d.latestVersion ? badge("latest", "badge-accent") : null), d.description ? h("p", { class: "lead" }, d.description) : null),
      h("div", { class: "head-actions" }, others.length > 1 ? versionSelect : null, downloadMenu({ ref, fileStem, label: "Download version" }), compareLink, deleteButton),
    ),
    actionsMessages,
    h(
      "div",
      { class: "facts" },
      fact("Rows", h("span", { class: "row-count" }, count(v.rowCount))),
      fact("Columns", count(v.columnCount)),
      fact("Format", h("span", null, badge(formatLabel(src.format)), src.sheet ? ` sheet “${src.sheet}”` : "")),
      fact("Source file", h("span", { class: "truncate inline", title: src.filename }, src.filename)),
      fact("Size", bytes(src.sizeBytes)),
      fact("Created", ago(v.createdAt), dateTime(v.createdAt)),
      src.encoding ? fact("Encoding", src.encoding) : null,
      src.delimiter ? fact("Delimiter", DELIMITER_NAMES[src.delimiter] ?? `“${src.delimiter}”`) : null,
      src.skippedRows ? fact("Skipped rows", h("span", { class: "warn" }, count(src.skippedRows)), `Lines: ${(src.skippedLines ?? []).join(", ")}`) : null,
    ),
    notesBox([...(src.notes ?? [])]),
    sourceDetails(src),
    h("section", { class: "card tab-card" }, tabs, panelHost),
  );
  show(params);
  return { update: (r) => r.name === "version" && show(r.params) };
}
