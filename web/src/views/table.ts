/**
 * The paged data table of a version: next/previous, page size, click a header to sort
 * (ascending, descending, off), and a filter box per column (`contains` for strings, `eq` otherwise).
 */
import { api, call, isAbort, type ColumnInfo, type Page } from "../api.ts";
import { h, mount } from "../dom.ts";
import { count, isNumeric, isString } from "../format.ts";
import { emptyState, errorBanner } from "../ui.ts";

const PAGE_SIZES = [25, 50, 100, 500];
const FILTER_DELAY_MS = 400;

interface TableState {
  offset: number;
  limit: number;
  sort: { column: string; desc: boolean } | null;
  filters: Map<string, string>;
}

/** The `filter=` value for one box: strings match by substring, other types by equality. */
export function filterParam(column: ColumnInfo, value: string): string {
  return `${column.name}:${isString(column.dtype) ? "contains" : "eq"}:${value}`;
}

function cell(value: unknown, column: ColumnInfo): HTMLElement {
  const numeric = isNumeric(column.dtype);
  if (value === null || value === undefined) return h("td", { class: numeric ? "num null" : "null" }, "null");
  const text = String(value);
  if (numeric) return h("td", { class: "num" }, text);
  if (typeof value === "boolean") return h("td", { class: "bool" }, text);
  // Long text is cut by CSS; the tooltip shows all of it.
  return h("td", { class: "text", title: text.length > 40 ? text : null }, text === "" ? h("span", { class: "null" }, "(empty)") : text);
}

/** Builds the table of version `ref` (a numbered one, so paging never shifts) with its `columns`. */
export function dataTable(ref: { datasetId: string; version: string }, columns: ColumnInfo[], signal: AbortSignal): HTMLElement {
  const state: TableState = { offset: 0, limit: 50, sort: null, filters: new Map() };
  let inflight: AbortController | null = null;
  let lastPage: Page | null = null;

  const summary = h("div", { class: "table-summary" });
  const clearFilters = h("button", { class: "button small", type: "button", hidden: true, onclick: () => { state.filters.clear(); for (const i of filterInputs) i.value = ""; state.offset = 0; void load(); } }, "Clear filters");
  const banner = h("div", { class: "table-banner" });
  const tbody = h("tbody");
  const sizeSelect = h("select", { "aria-label": "Rows per page", onchange: () => { state.limit = Number(sizeSelect.value); state.offset = 0; void load(); } }, PAGE_SIZES.map((n) => h("option", { value: n, selected: n === state.limit }, String(n))));
  const prev = h("button", { class: "button", type: "button", onclick: () => { state.offset = Math.max(0, state.offset - state.limit); void load(); } }, "‹ Previous");
  const next = h("button", { class: "button", type: "button", onclick: () => { state.offset += state.limit; void load(); } }, "Next ›");
  const pageLabel = h("span", { class: "page-label" });

  const sortButtons = columns.map((c) =>
    h(
      "button",
      {
        class: "sort",
        type: "button",
        title: `Sort by ${c.name}`,
        onclick: () => {
          // Off → ascending → descending → off, as in most spreadsheet-like tables.
          const s = state.sort;
          state.sort = s?.column !== c.name ? { column: c.name, desc: false } : s.desc ? null : { column: c.name, desc: true };
          state.offset = 0;
          void load();
        },
      },
      h("span", { class: "col-name" }, c.name),
      h("span", { class: "sort-mark", "aria-hidden": "true" }),
    ),
  );

  let timer: ReturnType<typeof setTimeout> | undefined;
  const filterInputs = columns.map((c) => {
    const input = h("input", { type: "search", class: "filter", "aria-label": `Filter ${c.name}`, placeholder: isString(c.dtype) ? "contains" : "equals", autocomplete: "off", spellcheck: "false" });
    const apply = () => {
      const v = input.value.trim();
      if ((state.filters.get(c.name) ?? "") === v) return;
      if (v) state.filters.set(c.name, v);
      else state.filters.delete(c.name);
      state.offset = 0;
      void load();
    };
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(apply, FILTER_DELAY_MS);
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        clearTimeout(timer);
        apply();
      }
    });
    return input;
  });
  // Name, type and filter share one header cell, so a single sticky row holds them all.
  const headers = columns.map((c, i) => h("th", { class: isNumeric(c.dtype) ? "num" : "", scope: "col" }, sortButtons[i], h("div", { class: "dtype" }, c.dtype), filterInputs[i]));

  const table = h(
    "table",
    { class: "table data-table" },
    h("thead", null, h("tr", null, h("th", { class: "rownum", scope: "col" }, "#"), headers)),
    tbody,
  );
  const scroller = h("div", { class: "table-scroll data-scroll" }, table);
  const view = h(
    "div",
    { class: "data-view" },
    h("div", { class: "table-toolbar" }, summary, clearFilters),
    banner,
    columns.length === 0 ? emptyState("This version has no columns") : scroller,
    h("div", { class: "pager" }, h("label", { class: "page-size" }, "Rows per page ", sizeSelect), h("div", { class: "pager-nav" }, prev, pageLabel, next)),
  );

  const renderHeaders = () => {
    columns.forEach((c, i) => {
      const th = headers[i]!;
      const active = state.sort?.column === c.name;
      th.classList.toggle("sorted", active);
      th.setAttribute("aria-sort", active ? (state.sort!.desc ? "descending" : "ascending") : "none");
      sortButtons[i]!.querySelector(".sort-mark")!.textContent = active ? (state.sort!.desc ? "▼" : "▲") : "";
      sortButtons[i]!.title = active ? (state.sort!.desc ? `Sorted descending — click to clear` : `Sorted ascending — click for descending`) : `Sort by ${c.name}`;
    });
  };

  const renderPage = (page: Page) => {
    const from = page.totalRows === 0 ? 0 : page.offset + 1;
    const to = page.offset + page.rows.length;
    const filtered = state.filters.size > 0;
    mount(
      summary,
      page.totalRows === 0 ? "No rows" : h("span", null, "Rows ", h("strong", null, `${count(from)}–${count(to)}`), " of ", h("strong", { class: "total-rows" }, count(page.totalRows))),
      filtered ? h("span", { class: "muted" }, ` matching ${state.filters.size === 1 ? "the filter" : `${state.filters.size} filters`}`) : null,
    );
    clearFilters.hidden = !filtered;
    const pages = Math.max(1, Math.ceil(page.totalRows / state.limit));
    pageLabel.textContent = `Page ${count(Math.floor(page.offset / state.limit) + 1)} of ${count(pages)}`;
    prev.disabled = page.offset === 0;
    next.disabled = to >= page.totalRows;
    if (page.rows.length === 0) {
      mount(
        tbody,
        h(
          "tr",
          { class: "empty-row" },
          h("td", { colspan: columns.length + 1 }, filtered ? emptyState("No rows match these filters", null, h("button", { class: "button small", type: "button", onclick: () => clearFilters.click() }, "Clear filters")) : emptyState("This version has no rows")),
        ),
      );
      return;
    }
    mount(
      tbody,
      page.rows.map((row, i) => h("tr", null, h("td", { class: "rownum" }, count(page.offset + i + 1)), columns.map((c) => cell((row as Record<string, unknown>)[c.name], c)))),
    );
  };

  async function load(): Promise<void> {
    inflight?.abort();
    const controller = new AbortController();
    inflight = controller;
    signal.addEventListener("abort", () => controller.abort(), { once: true });
    renderHeaders();
    scroller.classList.add("busy");
    const filter = columns.flatMap((c) => {
      const v = state.filters.get(c.name);
      return v ? [filterParam(c, v)] : [];
    });
    const query = { offset: state.offset, limit: state.limit, sort: state.sort ? `${state.sort.desc ? "-" : ""}${state.sort.column}` : undefined, filter };
    try {
      const page = await call(api.GET("/api/datasets/{datasetId}/versions/{version}/data", { params: { path: ref, query }, signal: controller.signal }));
      // Past the end (rows deleted by a filter change elsewhere, or a stale offset): go to the last page.
      if (page.rows.length === 0 && page.totalRows > 0 && state.offset > 0) {
        state.offset = Math.floor((page.totalRows - 1) / state.limit) * state.limit;
        return load();
      }
      lastPage = page;
      banner.replaceChildren();
      view.classList.remove("stale");
      renderPage(page);
      scroller.scrollTop = 0;
    } catch (err) {
      if (isAbort(err) || controller.signal.aborted) return;
      // A bad filter value is a 400 naming the problem: show it and keep the last good rows visible.
      // The rows below are the last good page; dim them so they are not read as the answer.
      mount(banner, errorBanner(err));
      view.classList.add("stale");
      if (!lastPage) mount(tbody, h("tr", { class: "empty-row" }, h("td", { colspan: columns.length + 1 }, emptyState("No rows to show"))));
    } finally {
      if (inflight === controller) scroller.classList.remove("busy");
    }
  }

  mount(tbody, h("tr", { class: "empty-row" }, h("td", { colspan: columns.length + 1 }, h("div", { class: "loading" }, h("span", { class: "spinner" }), "Loading rows…"))));
  void load();

  return view;
}
