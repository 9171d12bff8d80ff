/**
 * Entry point: wires the token box and renders the view for the current hash. The URL holds the
 * whole view, so every change goes through it: a view changes the URL with `go()`, and a URL whose
 * route is the one on screen (same dataset and version) is handed to that view's `update`, which
 * applies it without rebuilding the page; back/forward and reloads restore the same state.
 */
import { isAbort } from "./api.ts";
import { setupAuth } from "./auth.ts";
import { h, mount } from "./dom.ts";
import { onNavigate, parseRoute, routeKey, type Route } from "./router.ts";
import { emptyState, errorBanner } from "./ui.ts";
import { renderDatasetList } from "./views/datasets.ts";
import { renderDataset } from "./views/dataset.ts";
import { renderSql } from "./views/sql.ts";
import { renderVersion } from "./views/version.ts";
import { renderCompare } from "./views/compare.ts";

/** What a view may return: a way to apply a changed URL query in place. */
export interface ViewHandle {
  update(route: Route): void;
}

const app = document.getElementById("app")!;
let current: AbortController | null = null;
let shown: { key: string; hash: string; handle: ViewHandle | null } | null = null;

function render(force = false): void {
  const route = parseRoute(location.hash);
  const key = routeKey(route);
  if (!force && shown && shown.hash === location.hash) return; // popstate and hashchange both fire for one step
  if (!force && shown?.key === key && shown.handle) {
    shown.hash = location.hash;
    shown.handle.update(route);
    return;
  }
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const entry: { key: string; hash: string; handle: ViewHandle | null } = { key, hash: location.hash, handle: null };
  shown = entry;
  app.replaceChildren();
  window.scrollTo(0, 0);
  let done: Promise<ViewHandle | void> | undefined;
  switch (route.name) {
    case "datasets":
      document.title = "Datasets";
      done = renderDatasetList(app, controller.signal);
      break;
    case "dataset":
      done = renderDataset(app, route.id, controller.signal);
      break;
    case "version":
      done = renderVersion(app, route, controller.signal);
      break;
    case "sql":
      done = renderSql(app, route, controller.signal);
      break;
    case "compare":
      done = renderCompare(app, route, controller.signal);
      break;
    case "notFound":
      document.title = "Not found";
      mount(app, emptyState("Page not found", `Nothing lives at “${route.path}”.`, h("a", { class: "button", href: "#/" }, "Back to datasets")));
      break;
  }
  // A view handles its own expected errors; this catches the unexpected so the page is never blank.
  Promise.resolve(done)
    .then((handle) => {
      if (handle && shown === entry) entry.handle = handle;
    })
    .catch((err: unknown) => {
      if (isAbort(err) || controller.signal.aborted) return;
      console.error(err);
      app.prepend(errorBanner(err));
    });
}

setupAuth(() => render(true));
window.addEventListener("hashchange", () => render());
window.addEventListener("popstate", () => render());
onNavigate(() => render());
render();
