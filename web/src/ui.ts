/** Small shared pieces of the page: banners, spinners, empty states, breadcrumbs. */
import { ApiError } from "./api.ts";
import { h, type Child } from "./dom.ts";

/** An error banner: the problem's title in bold, its detail as a sentence, the code small. */
export function errorBanner(err: unknown, extra?: Child): HTMLElement {
  // A 401 already opened the token box under the header; say what to do rather than alarm.
  if (err instanceof ApiError && err.status === 401) {
    return infoBanner(h("div", { class: "banner-text" }, h("strong", null, "Access token needed"), " — enter a token in the box at the top of the page to continue."));
  }
  let title = "Something went wrong";
  let detail: string | undefined;
  let code: string | undefined;
  if (err instanceof ApiError) {
    title = err.problem.title;
    detail = err.problem.detail;
    code = err.problem.code ?? (err.status ? `HTTP ${err.status}` : undefined);
    if (err.status === 403) detail = detail ?? "Your token is not allowed to do this.";
  } else if (err instanceof Error) {
    detail = err.message;
  }
  return h(
    "div",
    { class: "banner banner-error", role: "alert" },
    h("div", { class: "banner-text" }, h("strong", null, title), detail ? h("span", null, " — ", detail) : null, code ? h("code", { class: "banner-code" }, code) : null),
    extra ?? null,
  );
}

export function infoBanner(...children: Child[]): HTMLElement {
  return h("div", { class: "banner banner-info", role: "status" }, ...children);
}

export function loading(label = "Loading…"): HTMLElement {
  return h("div", { class: "loading", role: "status" }, h("span", { class: "spinner", "aria-hidden": "true" }), label);
}

export function emptyState(title: string, text?: Child, action?: Child): HTMLElement {
  return h("div", { class: "empty" }, h("div", { class: "empty-title" }, title), text ? h("div", { class: "empty-text" }, text) : null, action ?? null);
}

export function breadcrumbs(...items: [label: string, href?: string][]): HTMLElement {
  return h(
    "nav",
    { class: "crumbs", "aria-label": "Breadcrumb" },
    items.map(([label, href], i) => [i > 0 ? h("span", { class: "crumb-sep", "aria-hidden": "true" }, "/") : null, href ? h("a", { href }, label) : h("span", { "aria-current": "page" }, label)]),
  );
}

export function badge(text: string, kind = ""): HTMLElement {
  return h("span", { class: `badge ${kind}`.trim() }, text);
}

/** A label over a value, for summary strips. */
export function fact(label: string, value: Child, title?: string, wide = false): HTMLElement {
  return h("div", { class: wide ? "fact wide" : "fact", title }, h("div", { class: "fact-label" }, label), h("div", { class: "fact-value" }, value));
}

/**
 * Asks before something that cannot be undone. Resolves true when the person confirms; the confirm
 * button says what will happen ("Delete version 3"), so the dialog reads without its title.
 */
export function confirmDialog(opts: { title: string; text: Child; confirm: string; danger?: boolean }): Promise<boolean> {
  return new Promise((resolve) => {
    const dialog = h("dialog", { class: "dialog", "aria-label": opts.title });
    const close = (answer: boolean) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    dialog.append(
      h("h2", null, opts.title),
      h("div", { class: "dialog-text" }, opts.text),
      h(
        "div",
        { class: "dialog-actions" },
        h("button", { class: "button", type: "button", onclick: () => close(false) }, "Cancel"),
        h("button", { class: opts.danger ? "button danger" : "button primary", type: "button", onclick: () => close(true) }, opts.confirm),
      ),
    );
    dialog.addEventListener("cancel", (e) => {
      e.preventDefault();
      close(false);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** What ingest noted while reading the file ("read as Windows-1252", …), where people look first. */
export function notesBox(notes: readonly string[] | undefined, title = "Notes from reading the file"): HTMLElement | null {
  if (!notes || notes.length === 0) return null;
  return h("div", { class: "banner banner-note notes", role: "note" }, h("div", { class: "banner-text" }, h("strong", null, title), h("ul", { class: "notes-list" }, notes.map((n) => h("li", null, n)))));
}
