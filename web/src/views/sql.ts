/**
 * A SQL box: a read-only query over the datasets (tables are dataset names, or "name@3" for a
 * version), its result in the same table as a version's rows, paged, with copy as curl/Python and a
 * download of the whole result. The query and the page are in the URL (`#/sql?query=…&page=2`).
 */
import type { ViewHandle } from "../main.ts";
import { api, call, getToken, isAbort, type Dataset } from "../api.ts";
import { h, mount } from "../dom.ts";
import { count, isNumeric } from "../format.ts";
import { rowElements } from "../grid.ts";
import { apiMenu } from "../request.ts";
import { go, sqlHref, type Route } from "../router.ts";
import { breadcrumbs, emptyState, errorBanner, loading } from "../ui.ts";
import { FORMATS, saveBlob } from "./download.ts";

const LIMIT = 100;

/** A table name as SQL wants it: bare when it is a plain identifier, else double-quoted. */
function tableName(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

async function saveSql(query: string, format: string, host: HTMLElement): Promise<void> {
  const token = getToken();
  const res = await fetch(`/api/sql/download?format=${format}`, { method: "POST", headers: { "Content-Type": "application/json", ...(token ? { Authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify({ query }) });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { title?: string; detail?: string };
    mount(host, errorBanner(new Error(body.detail ?? body.title ?? `${res.status}`)));
    return;
  }
  const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? `query.${format}`;
  saveBlob(await res.blob(), name);
}

export async function renderSql(root: HTMLElement, route: Extract<Route, { name: "sql" }>, signal: AbortSignal): Promise<ViewHandle> {
  document.title = "SQL · Datasets";
  const box = h("textarea", { class: "sql-box", name: "query", "aria-label": "SQL query", spellcheck: "false", placeholder: "SELECT city, count(*) AS n FROM sales GROUP BY city ORDER BY n DESC" });
  const run = h("button", { class: "button primary", type: "submit" }, "Run query");
  const tables = h("div", { class: "sql-tables" });
  const result = h("div", { class: "sql-result" });
  const messages = h("div");
  let params = route.params;
  let inflight: AbortController | null = null;

  const submit = (page = 1) => {
    const p = new URLSearchParams();
    if (box.value.trim()) p.set("query", box.value.trim());
    if (page > 1) p.set("page", String(page));
    // The same URL again (run it once more, the data may have a new version): no navigation, just run.
    if (sqlHref(p) === location.hash) void load();
    else go(sqlHref(p));
  };
  box.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      submit();
    }
  });

  const load = async () => {
    const query = params.get("query") ?? "";
    const page = Math.max(1, Number(params.get("page")) || 1);
    if (document.activeElement !== box) box.value = query;
    inflight?.abort();
    messages.replaceChildren();
    if (!query) {
      mount(result, emptyState("Write a query", "Tables are dataset names (the latest version) or \"name@3\" for version 3. Only SELECT and WITH queries run."));
      return;
    }
    const controller = new AbortController();
    inflight = controller;
    signal.addEventListener("abort", () => controller.abort(), { once: true });
    result.classList.add("busy");
    if (!result.firstChild) mount(result, loading("Running the query…"));
    const body = { query, limit: LIMIT, offset: (page - 1) * LIMIT };
    try {
      const r = await call(api.POST("/api/sql", { body, signal: controller.signal }));
      const from = r.totalRows === 0 ? 0 : r.offset + 1;
      const to = r.offset + r.rows.length;
      const pages = Math.max(1, Math.ceil(r.totalRows / LIMIT));
      const downloads = h("div", { class: "download-links" }, FORMATS.map(([f, label]) => h("button", { class: "button small", type: "button", "data-format": f, onclick: () => void saveSql(query, f, messages) }, label)));
      mount(
        result,
        h(
          "div",
          { class: "table-toolbar" },
          h("div", { class: "table-summary" }, r.totalRows === 0 ? "No rows" : h("span", null, "Rows ", h("strong", null, `${count(from)}–${count(to)}`), " of ", h("strong", { class: "total-rows" }, count(r.totalRows))), h("span", { class: "muted" }, ` · ${r.tables.map((t) => `${t.name} v${t.version}`).join(", ")}`)),
          h("div", { class: "toolbar-actions" }, h("details", { class: "menu download-menu" }, h("summary", { class: "button small" }, "Download result"), h("div", { class: "menu-body" }, downloads)), apiMenu(() => ({ method: "POST", path: "/api/sql", json: body }))),
        ),
        r.rows.length === 0
          ? emptyState("The query returned no rows")
          : h("div", { class: "table-scroll data-scroll" }, h("table", { class: "table data-table" }, h("thead", null, h("tr", null, h("th", { class: "rownum" }, "#"), r.columns.map((c) => h("th", { "data-column": c.name, class: isNumeric(c.dtype) ? "num" : null }, h("span", { class: "col-name" }, c.name), h("div", { class: "dtype" }, c.dtype))))), h("tbody", null, rowElements(r.columns, r.rows, r.offset)))),
        h(
          "div",
          { class: "pager" },
          h("span"),
          h("div", { class: "pager-nav" }, h("button", { class: "button", type: "button", disabled: page <= 1, onclick: () => submit(page - 1) }, "‹ Previous"), h("span", { class: "page-label" }, `Page ${count(page)} of ${count(pages)}`), h("button", { class: "button", type: "button", disabled: r.next === null, onclick: () => submit(page + 1) }, "Next ›")),
        ),
      );
    } catch (err) {
      if (isAbort(err) || controller.signal.aborted) return;
      mount(result, errorBanner(err));
    } finally {
      result.classList.remove("busy");
    }
  };

  mount(
    root,
    breadcrumbs(["Datasets", "#/"], ["SQL"]),
    h("div", { class: "page-head" }, h("div", null, h("h1", null, "SQL"), h("p", { class: "lead" }, "Read-only queries across datasets. Ctrl+Enter runs the query."))),
    h(
      "section",
      { class: "card" },
      h("form", { class: "sql-form", onsubmit: (e: Event) => { e.preventDefault(); submit(); } }, box, tables, h("div", { class: "upload-actions" }, run)),
      messages,
      result,
    ),
  );

  // The tables one can name: a click puts the name at the cursor.
  void call(api.GET("/api/datasets", { params: { query: { limit: 100 } }, signal }))
    .then((list) =>
      mount(
        tables,
        list.items.length ? h("span", { class: "muted" }, "Tables:") : null,
        list.items.map((d: Dataset) =>
          h("button", { class: "button small", type: "button", title: `${d.name}: latest is v${d.latestVersion ?? "—"}`, onclick: () => { box.setRangeText(tableName(d.name), box.selectionStart, box.selectionEnd, "end"); box.focus(); } }, tableName(d.name)),
        ),
      ),
    )
    .catch(() => undefined);

  await load();
  return {
    update(r) {
      if (r.name !== "sql") return;
      params = r.params;
      void load();
    },
  };
}
