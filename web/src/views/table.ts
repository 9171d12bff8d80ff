/**
 * The paged data table of a version. Its state lives in the URL (`page`, `limit`, `sort`,
 * `filter`…, `columns`): a change made here goes to the URL first (`onParams`), and the page
 * comes back through `apply`, so reload, back/forward and shared links show the same rows.
 * Headers: click to sort (ascending, descending, off), the type and a sparkline of the column's
 * distribution, and a filter box with every operator the API has for the column's type.
 */
import { api, call, isAbort, type ColumnInfo, type ColumnStats, type Page, type Stats } from "../api.ts";
import { sparkline } from "../charts.ts";
import { h, mount } from "../dom.ts";
import { describeFilter, formatFilter, fromColumnFilter, opsFor, parseFilter, toColumnFilters, uiOp, type ColumnFilter, type Filter } from "../filters.ts";
import { count, isBoolean, isNumeric, isString, num } from "../format.ts";
import { rowElements } from "../grid.ts";
import { apiMenu, queryPairs, type RequestSpec } from "../request.ts";
import { emptyState, errorBanner } from "../ui.ts";
import { downloadMenu } from "./download.ts";

const PAGE_SIZES = [25, 50, 100, 500];
const DEFAULT_LIMIT = 50;
const FILTER_DELAY_MS = 500;

/** What the URL says about the table. */
export interface TableState {
  page: number;
  limit: number;
  sort: string | null;
  filters: Filter[];
  /** Projection; null means every column. */
  columns: string[] | null;
  /** Search across text columns (`q=`). */
  q: string;
}

export function readTableState(p: URLSearchParams, columns: readonly ColumnInfo[]): TableState {
  const limit = Number(p.get("limit"));
  const page = Number(p.get("page"));
  const names = new Set(columns.map((c) => c.name));
  const shown = p.get("columns")?.split(",").filter((c) => names.has(c)) ?? null;
  return {
    page: Number.isInteger(page) && page > 0 ? page : 1,
    limit: PAGE_SIZES.includes(limit) ? limit : DEFAULT_LIMIT,
    sort: p.get("sort") || null,
    filters: p.getAll("filter").flatMap((f) => parseFilter(f, columns) ?? []),
    columns: shown && shown.length > 0 ? shown : null,
    q: p.get("q") ?? "",
  };
}

/** `p` with the table's keys set from `s` (other keys, like the tab, are kept). */
export function writeTableState(p: URLSearchParams, s: TableState): URLSearchParams {
  const out = new URLSearchParams(p);
  for (const k of ["page", "limit", "sort", "filter", "columns", "q"]) out.delete(k);
  if (s.q) out.set("q", s.q);
  if (s.sort) out.set("sort", s.sort);
  for (const f of s.filters) out.append("filter", formatFilter(f));
  if (s.columns) out.set("columns", s.columns.join(","));
  if (s.limit !== DEFAULT_LIMIT) out.set("limit", String(s.limit));
  if (s.page > 1) out.set("page", String(s.page));
  return out;
}

/** The query of `/data` and `/download` for a state (what "as shown" means). */
export function rowsQuery(s: TableState): { columns?: string; sort?: string; filter?: string[]; q?: string } {
  return {
    ...(s.q ? { q: s.q } : {}),
    ...(s.columns ? { columns: s.columns.join(",") } : {}),
    ...(s.sort ? { sort: s.sort } : {}),
    ...(s.filters.length ? { filter: s.filters.map(formatFilter) } : {}),
  };
}

function sortOf(s: TableState): { column: string; desc: boolean } | null {
  if (!s.sort) return null;
  const first = s.sort.split(",")[0]!;
  return first.startsWith("-") ? { column: first.slice(1), desc: true } : { column: first, desc: false };
}

function statsTitle(c: ColumnStats, rows: number): string {
  const parts = [`${c.name} (${c.dtype})`];
  if (c.histogram && c.histogram.counts.length > 0) parts.push(`from ${num(c.min ?? null)} to ${num(c.max ?? null)}`);
  else if (c.topValues?.length) parts.push(`most frequent: ${c.topValues.slice(0, 4).map((t) => `${t.value === "" ? "(empty)" : t.value} ${count(t.count)}`).join(", ")}`);
  else if (c.trueCount !== undefined) parts.push(`true ${count(c.trueCount)}, false ${count(c.falseCount)}`);
  parts.push(c.nullCount > 0 ? `${count(c.nullCount)} of ${count(rows)} null` : "no nulls");
  return parts.join(" · ");
}

export interface DataTableOptions {
  ref: { datasetId: string; version: string };
  columns: ColumnInfo[];
  /** The version's statistics, for the header sparklines (null when they could not be read). */
  stats: Promise<Stats | null>;
  params: URLSearchParams;
  /** The state the person asked for, as URL query; it comes back through `apply`. */
  onParams: (params: URLSearchParams) => void;
  /** File name stem for downloads ("people-v2"). */
  fileStem: string;
  signal: AbortSignal;
}

export interface DataTable {
  el: HTMLElement;
  apply(params: URLSearchParams): void;
}

/** Builds the table of version `ref` (a numbered one, so paging never shifts) with its `columns`. */
export function dataTable(o: DataTableOptions): DataTable {
  const { ref, columns, signal } = o;
  let params = o.params;
  let state = readTableState(params, columns);
  let inflight: AbortController | null = null;
  let lastPage: Page | null = null;
  let started = false;

  const change = (next: Partial<TableState>) => o.onParams(writeTableState(params, { ...state, page: 1, ...next }));

  const summary = h("div", { class: "table-summary" });
  const chips = h("div", { class: "chips" });
  const clearFilters = h("button", { class: "button small", type: "button", hidden: true, onclick: () => change({ filters: [], q: "" }) }, "Clear filters");
  const banner = h("div", { class: "table-banner" });
  const thead = h("thead");
  const tbody = h("tbody");
  const sizeSelect = h("select", { "aria-label": "Rows per page", onchange: () => change({ limit: Number(sizeSelect.value) }) }, PAGE_SIZES.map((n) => h("option", { value: n }, String(n))));
  const prev = h("button", { class: "button", type: "button", onclick: () => change({ page: Math.max(1, state.page - 1) }) }, "‹ Previous");
  const next = h("button", { class: "button", type: "button", onclick: () => change({ page: state.page + 1 }) }, "Next ›");
  const pageLabel = h("span", { class: "page-label" });
  const statsByName = new Map<string, ColumnStats>();
  let rowCount = 0;

  const requestSpec = (): RequestSpec => ({
    method: "GET",
    path: `/api/datasets/${encodeURIComponent(ref.datasetId)}/versions/${ref.version}/data`,
    query: queryPairs({ offset: (state.page - 1) * state.limit, limit: state.limit, ...rowsQuery(state) }),
  });

  // Columns chooser: the projection (`columns=`), which downloads "as shown" keep too.
  const columnBoxes = columns.map((c) => h("input", { type: "checkbox", value: c.name, "aria-label": `Show ${c.name}` }));
  const columnsMenu = h(
    "details",
    { class: "menu columns-menu" },
    h("summary", { class: "button small" }, "Columns"),
    h(
      "div",
      { class: "menu-body" },
      h("div", { class: "menu-row" }, h("button", { class: "button small", type: "button", onclick: () => change({ columns: null }) }, "Show all")),
      h("div", { class: "column-list" }, columns.map((c, i) => h("label", { class: "check" }, columnBoxes[i], h("span", null, c.name), h("span", { class: "dtype" }, c.dtype)))),
    ),
  );
  columnsMenu.addEventListener("change", () => {
    const picked = columnBoxes.filter((b) => b.checked).map((b) => b.value);
    change({ columns: picked.length === columns.length || picked.length === 0 ? null : picked });
  });

  // Search across every text column (q=), applied after a pause or on Enter.
  const search = h("input", { type: "search", class: "search table-search", placeholder: "Search text columns", "aria-label": "Search text columns", autocomplete: "off", spellcheck: "false", value: state.q });
  let searchTimer: ReturnType<typeof setTimeout> | undefined;
  const applySearch = () => {
    clearTimeout(searchTimer);
    if (search.value.trim() !== state.q) change({ q: search.value.trim() });
  };
  search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(applySearch, FILTER_DELAY_MS);
  });
  search.addEventListener("keydown", (e) => {
    if (e.key === "Enter") applySearch();
  });

  // Facets beside the table: the most frequent values of text and boolean columns under the same
  // filters and search; a click filters on the value.
  const facetColumns = columns.filter((c) => isString(c.dtype) || isBoolean(c.dtype)).slice(0, 8);
  const facetsBox = h("aside", { class: "facets", "aria-label": "Facets", hidden: facetColumns.length === 0 });
  let facetsInflight: AbortController | null = null;
  const loadFacets = async () => {
    if (facetColumns.length === 0) return;
    facetsInflight?.abort();
    const controller = new AbortController();
    facetsInflight = controller;
    signal.addEventListener("abort", () => controller.abort(), { once: true });
    const { filter, q } = rowsQuery(state);
    facetsBox.classList.add("busy"); // the counts below are of the previous rows until the answer
    try {
      const f = await call(api.GET("/api/datasets/{datasetId}/versions/{version}/facets", { params: { path: ref, query: { columns: facetColumns.map((c) => c.name).join(","), limit: 6, filter, q } }, signal: controller.signal }));
      facetsBox.classList.remove("busy");
      mount(
        facetsBox,
        h("div", { class: "facets-title" }, "Facets ", h("span", { class: "muted small" }, `of ${count(f.totalRows)} rows`)),
        f.facets.map((facet) => {
          const max = Math.max(1, ...facet.values.map((v) => v.count));
          return h(
            "section",
            { class: "facet", "data-column": facet.name },
            h("h4", { class: "facet-name", title: facet.name }, facet.name, h("span", { class: "muted small" }, ` ${count(facet.distinctCount)} distinct`)),
            h(
              "ul",
              { class: "facet-values" },
              facet.values.map((v) => {
                const value = v.value === null || v.value === undefined ? null : String(v.value);
                const add = () => change({ filters: [...state.filters.filter((x) => x.column !== facet.name), value === null ? { column: facet.name, op: "isnull", value: "" } : { column: facet.name, op: "eq", value }] });
                return h(
                  "li",
                  null,
                  h(
                    "button",
                    { class: "facet-value", type: "button", title: `Only rows where ${facet.name} is ${value ?? "null"}`, onclick: add },
                    h("span", { class: "facet-bar", style: `width: ${Math.round((v.count / max) * 100)}%` }),
                    h("span", { class: value === null ? "facet-label null" : "facet-label" }, value === null ? "null" : value === "" ? "(empty)" : value),
                    h("span", { class: "facet-count" }, count(v.count)),
                  ),
                );
              }),
              facet.otherCount > 0 ? h("li", { class: "muted small facet-other" }, `${count(facet.otherCount)} in other values`) : null,
            ),
          );
        }),
      );
    } catch (err) {
      if (isAbort(err) || controller.signal.aborted) return;
      mount(facetsBox, h("div", { class: "muted small" }, "Facets are not available: ", err instanceof Error ? err.message : String(err)));
    }
  };

  const download = downloadMenu({ ref, fileStem: o.fileStem, shown: () => rowsQuery(state), isShown: () => state.filters.length > 0 || state.sort !== null || state.columns !== null || state.q !== "" });

  const toolbar = h(
    "div",
    { class: "table-toolbar" },
    summary,
    h("div", { class: "toolbar-actions" }, search, clearFilters, columnsMenu, download, apiMenu(requestSpec)),
  );
  const scroller = h("div", { class: "table-scroll data-scroll" }, h("table", { class: "table data-table" }, thead, tbody));
  const el = h(
    "div",
    { class: "data-view" },
    toolbar,
    chips,
    banner,
    columns.length === 0 ? emptyState("This version has no columns") : h("div", { class: facetColumns.length ? "data-main with-facets" : "data-main" }, scroller, facetsBox),
    h("div", { class: "pager" }, h("label", { class: "page-size" }, "Rows per page ", sizeSelect), h("div", { class: "pager-nav" }, prev, pageLabel, next)),
  );

  /** The header box of one column: an operator and a value, applied after a pause or on Enter. */
  let timer: ReturnType<typeof setTimeout> | undefined;
  const headerFilter = (c: ColumnInfo, cf: ColumnFilter | undefined) => {
    const ops = opsFor(c.dtype);
    const select = h("select", { class: "filter-op", "aria-label": `Filter operator for ${c.name}`, title: "How to compare" }, ops.map((op) => h("option", { value: op.op, selected: op.op === (cf?.op ?? ops[0]!.op) }, op.label)));
    const input = h("input", { type: "search", class: "filter", "aria-label": `Filter ${c.name}`, autocomplete: "off", spellcheck: "false", value: cf?.value ?? "" });
    const sync = () => {
      const op = uiOp(select.value);
      input.placeholder = op?.placeholder ?? "";
      input.hidden = op?.arity === "none";
    };
    sync();
    const apply = () => {
      clearTimeout(timer);
      const others = state.filters.filter((f) => f.column !== c.name);
      const mine = fromColumnFilter(c.name, { op: select.value, value: input.value });
      if (JSON.stringify(mine) === JSON.stringify(state.filters.filter((f) => f.column === c.name))) return;
      change({ filters: [...others, ...mine] });
    };
    select.addEventListener("change", () => {
      sync();
      if (uiOp(select.value)?.arity === "none" || input.value.trim()) apply();
      else input.focus();
    });
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(apply, FILTER_DELAY_MS);
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") apply();
    });
    return h("div", { class: "th-filter" }, select, input);
  };

  const shownColumns = () => (state.columns ? state.columns.map((n) => columns.find((c) => c.name === n)!).filter(Boolean) : columns);

  const renderHead = () => {
    const sort = sortOf(state);
    const cfs = toColumnFilters(state.filters);
    const headers = shownColumns().map((c) => {
      const active = sort?.column === c.name;
      const st = statsByName.get(c.name);
      const spark = st ? sparkline(st, statsTitle(st, rowCount)) : null;
      const sortButton = h(
        "button",
        {
          class: "sort",
          type: "button",
          title: active ? (sort!.desc ? "Sorted descending — click to clear" : "Sorted ascending — click for descending") : `Sort by ${c.name}`,
          onclick: () => change({ sort: !active ? c.name : sort!.desc ? null : `-${c.name}` }),
        },
        h("span", { class: "col-name" }, c.name),
        h("span", { class: "sort-mark", "aria-hidden": "true" }, active ? (sort!.desc ? "▼" : "▲") : ""),
      );
      return h(
        "th",
        { class: `${isNumeric(c.dtype) ? "num" : ""}${active ? " sorted" : ""}${cfs.has(c.name) ? " filtered" : ""}`, scope: "col", "aria-sort": active ? (sort!.desc ? "descending" : "ascending") : "none", "data-column": c.name },
        sortButton,
        h("div", { class: "th-meta" }, h("span", { class: "dtype" }, c.dtype), spark),
        headerFilter(c, cfs.get(c.name)),
      );
    });
    // Rebuilt on every load: keep the box someone is typing in focused, caret where it was.
    const focused = thead.contains(document.activeElement) ? (document.activeElement as HTMLInputElement) : null;
    const label = focused?.getAttribute("aria-label");
    const caret = focused instanceof HTMLInputElement ? focused.selectionStart : null;
    mount(thead, h("tr", null, h("th", { class: "rownum", scope: "col" }, "#"), headers));
    if (label) {
      const again = thead.querySelector<HTMLInputElement>(`[aria-label="${CSS.escape(label)}"]`);
      again?.focus();
      if (again instanceof HTMLInputElement && caret !== null && again.type === "search") again.setSelectionRange(caret, caret);
    }
    mount(
      chips,
      [...cfs].map(([column, cf]) => {
        const text = describeFilter(cf, column);
        return h("span", { class: "chip" }, text, h("button", { type: "button", class: "chip-x", "aria-label": `Remove filter ${text}`, onclick: () => change({ filters: state.filters.filter((f) => f.column !== column) }) }, "×"));
      }),
    );
    if (state.q) chips.append(h("span", { class: "chip" }, `search “${state.q}”`, h("button", { type: "button", class: "chip-x", "aria-label": "Remove the search", onclick: () => change({ q: "" }) }, "×")));
    chips.hidden = cfs.size === 0 && !state.q;
    clearFilters.hidden = state.filters.length === 0 && state.q === "";
    if (document.activeElement !== search) search.value = state.q;
    sizeSelect.value = String(state.limit);
    for (const b of columnBoxes) b.checked = state.columns === null || state.columns.includes(b.value);
  };

  const renderPage = (page: Page) => {
    const cols = page.columns;
    const from = page.totalRows === 0 ? 0 : page.offset + 1;
    const to = page.offset + page.rows.length;
    const filtered = state.filters.length > 0 || state.q !== "";
    const n = toColumnFilters(state.filters).size + (state.q ? 1 : 0); // "between" is one filter to a person, two to the API
    mount(
      summary,
      page.totalRows === 0 ? "No rows" : h("span", null, "Rows ", h("strong", null, `${count(from)}–${count(to)}`), " of ", h("strong", { class: "total-rows" }, count(page.totalRows))),
      filtered ? h("span", { class: "muted" }, ` matching ${n === 1 ? (state.q ? "the search" : "the filter") : `${n} filters`}`) : null,
    );
    const pages = Math.max(1, Math.ceil(page.totalRows / state.limit));
    pageLabel.textContent = `Page ${count(state.page)} of ${count(pages)}`;
    prev.disabled = state.page <= 1;
    next.disabled = to >= page.totalRows;
    if (page.rows.length === 0) {
      mount(
        tbody,
        h("tr", { class: "empty-row" }, h("td", { colspan: cols.length + 1 }, filtered ? emptyState("No rows match these filters", null, h("button", { class: "button small", type: "button", onclick: () => change({ filters: [], q: "" }) }, "Clear filters")) : emptyState("This version has no rows"))),
      );
      return;
    }
    mount(tbody, rowElements(cols, page.rows, page.offset));
  };

  async function load(): Promise<void> {
    started = true;
    inflight?.abort();
    const controller = new AbortController();
    inflight = controller;
    signal.addEventListener("abort", () => controller.abort(), { once: true });
    renderHead();
    scroller.classList.add("busy");
    const query = { offset: (state.page - 1) * state.limit, limit: state.limit, ...rowsQuery(state) };
    try {
      const page = await call(api.GET("/api/datasets/{datasetId}/versions/{version}/data", { params: { path: ref, query }, signal: controller.signal }));
      // Past the end (a link to page 9 of what is now 3 pages): show the last page instead.
      if (page.rows.length === 0 && page.totalRows > 0 && state.page > 1) {
        o.onParams(writeTableState(params, { ...state, page: Math.ceil(page.totalRows / state.limit) }));
        return;
      }
      lastPage = page;
      banner.replaceChildren();
      el.classList.remove("stale");
      renderPage(page);
      scroller.scrollTop = 0;
      void loadFacets();
    } catch (err) {
      if (isAbort(err) || controller.signal.aborted) return;
      // A bad filter value is a 400 naming the problem: show it, and dim the last good rows so
      // they are not read as the answer.
      mount(banner, errorBanner(err));
      el.classList.add("stale");
      if (!lastPage) mount(tbody, h("tr", { class: "empty-row" }, h("td", { colspan: columns.length + 1 }, emptyState("No rows to show"))));
    } finally {
      if (inflight === controller) scroller.classList.remove("busy");
    }
  }

  void o.stats.then((st) => {
    if (!st) return;
    rowCount = st.rowCount;
    for (const c of st.columns) statsByName.set(c.name, c);
    renderHead();
  });

  mount(tbody, h("tr", { class: "empty-row" }, h("td", { colspan: columns.length + 1 }, h("div", { class: "loading" }, h("span", { class: "spinner" }), "Loading rows…"))));
  void load();

  return {
    el,
    apply(p) {
      params = p;
      const nextState = readTableState(p, columns);
      if (JSON.stringify(nextState) === JSON.stringify(state) && started) return;
      state = nextState;
      void load();
    },
  };
}
