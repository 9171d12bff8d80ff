/**
 * Compare two versions (`#/datasets/:id/compare?from=1&to=3&key=id&kind=changed&page=2`): schema
 * changes, row counts (by key, or as whole-row multisets without one), statistics drift, and the
 * differing rows, paged, with every changed cell highlighted beside its old value.
 */
import type { ViewHandle } from "../main.ts";
import { api, call, isAbort, type DatasetDetail, type Version } from "../api.ts";
import type { Schemas } from "../../../client/index.ts";
import { h, mount } from "../dom.ts";
import { count, isNumeric, num } from "../format.ts";
import { cell, rowElements } from "../grid.ts";
import { apiMenu, queryPairs } from "../request.ts";
import { compareHref, datasetHref, go, type Route } from "../router.ts";
import { breadcrumbs, emptyState, errorBanner, fact, loading } from "../ui.ts";

type Kind = "added" | "removed" | "changed";
type DiffSummary = Schemas["Diff"];
type DiffRows = Schemas["DiffRows"];
interface ChangedRow {
  key: Record<string, unknown>;
  from: Record<string, unknown>;
  to: Record<string, unknown>;
  columns: string[];
}
const LIMIT = 50;

function drift(pair: unknown): string {
  if (!Array.isArray(pair)) return "—";
  const [a, b] = pair as (number | string | null)[];
  const f = (x: number | string | null | undefined) => (typeof x === "number" ? num(x) : x === null || x === undefined ? "—" : String(x));
  return a === b ? f(a) : `${f(a)} → ${f(b)}`;
}

/** The changed rows: key columns first, then every column, each changed cell with its old value. */
function changedTable(columns: { name: string; dtype: string }[], key: string[], rows: ChangedRow[], offset: number): HTMLElement {
  const keyCols = columns.filter((c) => key.includes(c.name));
  const others = columns.filter((c) => !key.includes(c.name));
  return h(
    "table",
    { class: "table data-table diff-table" },
    h("thead", null, h("tr", null, h("th", { class: "rownum" }, "#"), [...keyCols, ...others].map((c) => h("th", { "data-column": c.name, class: isNumeric(c.dtype) ? "num" : null }, h("span", { class: "col-name" }, c.name), h("div", { class: "dtype" }, key.includes(c.name) ? `key · ${c.dtype}` : c.dtype))))),
    h(
      "tbody",
      null,
      rows.map((r, i) =>
        h(
          "tr",
          null,
          h("td", { class: "rownum" }, count(offset + i + 1)),
          keyCols.map((c) => cell(r.key[c.name] ?? r.to[c.name], c.dtype, "key-cell")),
          others.map((c) => {
            if (!r.columns.includes(c.name)) return cell(r.to[c.name], c.dtype);
            const td = cell(r.to[c.name], c.dtype, "changed");
            const was = r.from[c.name];
            td.title = `was ${was === null || was === undefined ? "null" : String(was)}`;
            td.append(h("span", { class: "was" }, was === null || was === undefined ? "null" : String(was)));
            return td;
          }),
        ),
      ),
    ),
  );
}

export async function renderCompare(root: HTMLElement, route: Extract<Route, { name: "compare" }>, signal: AbortSignal): Promise<ViewHandle | void> {
  const { id } = route;
  mount(root, breadcrumbs(["Datasets", "#/"], ["…", datasetHref(id)], ["Compare"]), loading("Loading versions…"));
  let d: DatasetDetail;
  try {
    d = await call(api.GET("/api/datasets/{datasetId}", { params: { path: { datasetId: id } }, signal }));
  } catch (err) {
    if (!signal.aborted) mount(root, breadcrumbs(["Datasets", "#/"], ["Compare"]), errorBanner(err));
    return;
  }
  document.title = `Compare · ${d.name} · Datasets`;
  const versions = [...d.versions].sort((a, b) => b.version - a.version);
  let params = route.params;

  const fromSel = h("select", { name: "from", "aria-label": "From version" }, versions.map((v) => h("option", { value: v.version }, `Version ${v.version}`)));
  const toSel = h("select", { name: "to", "aria-label": "To version" }, versions.map((v) => h("option", { value: v.version }, `Version ${v.version}${v.version === d.latestVersion ? " (latest)" : ""}`)));
  const keyInput = h("input", { type: "text", name: "key", "aria-label": "Key columns", placeholder: "e.g. id (optional)", list: "compare-columns", autocomplete: "off" });
  const columnList = h("datalist", { id: "compare-columns" });
  const summaryHost = h("div");
  const rowsHost = h("div");
  let inflight: AbortController | null = null;

  const submit = (next: Record<string, string | undefined>) => {
    const p = new URLSearchParams();
    const merged = { from: fromSel.value, to: toSel.value, key: keyInput.value.trim() || undefined, ...next };
    for (const [k, v] of Object.entries(merged)) if (v) p.set(k, v);
    go(compareHref(id, p));
  };

  const load = async () => {
    inflight?.abort();
    const controller = new AbortController();
    inflight = controller;
    signal.addEventListener("abort", () => controller.abort(), { once: true });
    const from = params.get("from") ?? String(versions[1]?.version ?? versions[0]?.version ?? "");
    const to = params.get("to") ?? String(versions[0]?.version ?? "");
    const key = params.get("key") ?? "";
    fromSel.value = from;
    toSel.value = to;
    if (document.activeElement !== keyInput) keyInput.value = key;
    if (versions.length < 2) {
      mount(summaryHost, emptyState("Nothing to compare", "This dataset has one version. Upload another to compare them.", h("a", { class: "button", href: datasetHref(id) }, "Go to the dataset")));
      return;
    }
    const keys = key.split(",").map((k) => k.trim()).filter((k) => k !== "");
    const base = { from, to, ...(keys.length ? { key: keys } : {}) };
    mount(summaryHost, loading("Comparing…"));
    rowsHost.replaceChildren();
    let diff: DiffSummary;
    try {
      void call(api.GET("/api/datasets/{datasetId}/versions/{version}", { params: { path: { datasetId: id, version: to } }, signal: controller.signal }))
        .then((v: Version) => mount(columnList, (v.columns ?? []).map((c) => h("option", { value: c.name }))))
        .catch(() => undefined);
      // openapi-fetch widens the [from, to] pairs to arrays; the schema says pairs.
      diff = (await call(api.GET("/api/datasets/{datasetId}/diff", { params: { path: { datasetId: id }, query: base }, signal: controller.signal }))) as DiffSummary;
    } catch (err) {
      if (isAbort(err) || controller.signal.aborted) return;
      mount(summaryHost, errorBanner(err));
      return;
    }
    const s = diff.schema;
    const schemaItems = [
      ...s.added.map((c) => h("li", { class: "added" }, "Added column ", h("code", null, c.name), ` (${c.dtype})`)),
      ...s.removed.map((c) => h("li", { class: "removed" }, "Removed column ", h("code", null, c.name), ` (${c.dtype})`)),
      ...s.changed.map((c) => h("li", null, "Column ", h("code", null, c.name), ` changed type: ${c.from} → ${c.to}`)),
    ];
    const driftRows = diff.stats.filter((st) => Object.entries(st).some(([k, v]) => k !== "name" && Array.isArray(v) && v[0] !== v[1]));
    mount(
      summaryHost,
      h("div", { class: "table-toolbar" }, h("div", { class: "table-summary" }, `Version ${diff.from} → version ${diff.to}`, diff.key.length ? ` matched by ${diff.key.join(", ")}` : " as whole rows (no key)"), apiMenu(() => ({ method: "GET", path: `/api/datasets/${encodeURIComponent(id)}/diff`, query: queryPairs(base) }))),
      h(
        "div",
        { class: "facts diff-counts" },
        fact("Added rows", h("span", { class: "added" }, count(diff.rows.added))),
        fact("Removed rows", h("span", { class: "removed" }, count(diff.rows.removed))),
        fact("Changed rows", h("span", { class: "changed" }, diff.key.length ? count(diff.rows.changed) : "—"), diff.key.length ? undefined : "Without a key a change is one removed and one added row"),
        fact("Unchanged", count(diff.rows.unchanged)),
      ),
      h("h3", null, "Schema"),
      schemaItems.length ? h("ul", { class: "schema-changes" }, schemaItems) : h("p", { class: "muted" }, "Same columns and types."),
      driftRows.length
        ? h(
            "details",
            { class: "drift" },
            h("summary", null, `Statistics that moved (${driftRows.length} columns)`),
            h("div", { class: "table-scroll" }, h("table", { class: "table drift-table" }, h("thead", null, h("tr", null, h("th", null, "Column"), h("th", null, "Nulls"), h("th", null, "Distinct"), h("th", null, "Mean"))), h("tbody", null, driftRows.map((st) => h("tr", null, h("td", { class: "strong" }, st.name), h("td", null, drift(st.nullCount)), h("td", null, drift(st.distinctCount)), h("td", null, drift(st.mean))))))),
          )
        : null,
    );

    const kinds: Kind[] = diff.key.length ? ["changed", "added", "removed"] : ["added", "removed"];
    const asked = params.get("kind") as Kind | null;
    const kind: Kind = asked && kinds.includes(asked) ? asked : (kinds.find((k) => diff.rows[k] > 0) ?? kinds[0]!);
    const page = Math.max(1, Number(params.get("page")) || 1);
    const tabs = h("div", { class: "tabs diff-kinds", role: "tablist" }, kinds.map((k) => h("button", { class: k === kind ? "tab active" : "tab", type: "button", role: "tab", "aria-selected": String(k === kind), onclick: () => submit({ kind: k }) }, `${k[0]!.toUpperCase()}${k.slice(1)} (${count(diff.rows[k])})`)));
    mount(rowsHost, tabs, loading("Loading rows…"));
    const rowsQuery = { ...base, kind, offset: (page - 1) * LIMIT, limit: LIMIT };
    try {
      const r: DiffRows = await call(api.GET("/api/datasets/{datasetId}/diff/rows", { params: { path: { datasetId: id }, query: rowsQuery }, signal: controller.signal }));
      const pages = Math.max(1, Math.ceil(r.totalRows / LIMIT));
      const body = r.rows.length === 0 ? emptyState(`No ${kind} rows`) : h("div", { class: "table-scroll data-scroll" }, kind === "changed" ? changedTable(r.columns, r.key, r.rows as ChangedRow[], r.offset) : h("table", { class: "table data-table" }, h("thead", null, h("tr", null, h("th", { class: "rownum" }, "#"), r.columns.map((c) => h("th", { "data-column": c.name, class: isNumeric(c.dtype) ? "num" : null }, h("span", { class: "col-name" }, c.name), h("div", { class: "dtype" }, c.dtype))))), h("tbody", null, rowElements(r.columns, r.rows, r.offset))));
      mount(
        rowsHost,
        tabs,
        h("div", { class: "table-toolbar" }, h("div", { class: "table-summary" }, r.totalRows === 0 ? "No rows" : `Rows ${count(r.offset + 1)}–${count(r.offset + r.rows.length)} of ${count(r.totalRows)} ${kind}`), apiMenu(() => ({ method: "GET", path: `/api/datasets/${encodeURIComponent(id)}/diff/rows`, query: queryPairs(rowsQuery) }))),
        body,
        h("div", { class: "pager" }, h("span"), h("div", { class: "pager-nav" }, h("button", { class: "button", type: "button", disabled: page <= 1, onclick: () => submit({ kind, page: String(page - 1) }) }, "‹ Previous"), h("span", { class: "page-label" }, `Page ${count(page)} of ${count(pages)}`), h("button", { class: "button", type: "button", disabled: r.next === null, onclick: () => submit({ kind, page: String(page + 1) }) }, "Next ›"))),
      );
    } catch (err) {
      if (isAbort(err) || controller.signal.aborted) return;
      mount(rowsHost, tabs, errorBanner(err));
    }
  };

  mount(
    root,
    breadcrumbs(["Datasets", "#/"], [d.name, datasetHref(id)], ["Compare"]),
    h("div", { class: "page-head" }, h("div", null, h("h1", null, "Compare versions"), h("p", { class: "lead" }, `${d.name}: what changed between two versions. With a key, rows are matched by it and changed cells are shown; without one, whole rows are compared.`))),
    h(
      "section",
      { class: "card" },
      h("form", { class: "compare-form", onsubmit: (e: Event) => { e.preventDefault(); submit({}); } }, h("label", { class: "field" }, h("span", { class: "field-label" }, "From"), fromSel), h("label", { class: "field" }, h("span", { class: "field-label" }, "To"), toSel), h("label", { class: "field" }, h("span", { class: "field-label" }, "Key"), keyInput, columnList), h("button", { class: "button primary", type: "submit" }, "Compare")),
    ),
    h("section", { class: "card" }, summaryHost),
    h("section", { class: "card tab-card diff-rows-card" }, rowsHost),
  );
  await load();
  return {
    update(r) {
      if (r.name !== "compare") return;
      params = r.params;
      void load();
    },
  };
}
