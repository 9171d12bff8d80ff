/** Entry point: wires the token box and renders the view for the current hash. */
import { isAbort } from "./api.ts";
import { setupAuth } from "./auth.ts";
import { h, mount } from "./dom.ts";
import { parseRoute } from "./router.ts";
import { emptyState, errorBanner } from "./ui.ts";
import { renderDatasetList } from "./views/datasets.ts";
import { renderDataset } from "./views/dataset.ts";
import { renderVersion } from "./views/version.ts";

const app = document.getElementById("app")!;
let current: AbortController | null = null;

/** Renders the route in the hash; the previous view's requests are aborted. */
function render(): void {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const route = parseRoute(location.hash);
  app.replaceChildren();
  window.scrollTo(0, 0);
  let done: Promise<void> | undefined;
  switch (route.name) {
    case "datasets":
      document.title = "Datasets";
      done = renderDatasetList(app, controller.signal);
      break;
    case "dataset":
      done = renderDataset(app, route.id, controller.signal);
      break;
    case "version":
      done = renderVersion(app, route.id, route.version, controller.signal);
      break;
    case "notFound":
      document.title = "Not found";
      mount(app, emptyState("Page not found", `Nothing lives at “${route.path}”.`, h("a", { class: "button", href: "#/" }, "Back to datasets")));
      break;
  }
  // A view handles its own expected errors; this catches the unexpected so the page is never blank.
  Promise.resolve(done).catch((err: unknown) => {
    if (isAbort(err) || controller.signal.aborted) return;
    console.error(err);
    app.prepend(errorBanner(err));
  });
}

setupAuth(render);
window.addEventListener("hashchange", render);
render();
