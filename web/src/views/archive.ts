/**
 * Backup and restore: a dataset's "Export archive" link (`GET …/export`, one tar with every version)
 * and the home page's card that restores one (`POST /api/datasets/import`), with the same version
 * numbers, values, types, sources and statistics, on whatever backend this server uses.
 */
import { getToken, isAbort, uploadForm } from "../api.ts";
import type { Schemas } from "../../../client/index.ts";
import { h, mount } from "../dom.ts";
import { bytes, plural } from "../format.ts";
import { apiMenu } from "../request.ts";
import { errorBanner } from "../ui.ts";
import { saveWithToken } from "./download.ts";

export function exportPath(datasetId: string): string {
  return `/api/datasets/${encodeURIComponent(datasetId)}/export`;
}

/** The link that downloads the dataset's archive (streamed by the browser, or fetched with the token). */
export function exportLink(d: { id: string; name: string }, messages: HTMLElement): HTMLElement {
  const name = `${d.name.replace(/[^\p{L}\p{N}._-]+/gu, "_")}.tar`;
  return h(
    "a",
    {
      class: "button",
      href: exportPath(d.id),
      download: name,
      title: "Every version in one file, to restore here or on another server",
      onclick: (e: Event) => {
        if (!getToken()) return;
        e.preventDefault();
        void saveWithToken(exportPath(d.id), name, messages);
      },
    },
    "Export archive",
  );
}

/** The home page's card: pick an archive, optionally a new name, restore it. */
export function importCard(onDone: (r: Schemas["Imported"]) => void): HTMLElement {
  const file = h("input", { type: "file", name: "file", accept: ".tar,application/x-tar", "aria-label": "Archive to restore" });
  const name = h("input", { type: "text", name: "name", placeholder: "Defaults to the archive's name", autocomplete: "off", "aria-label": "Restore as" });
  const submit = h("button", { class: "button", type: "submit", disabled: true }, "Restore");
  const status = h("span", { class: "muted small" });
  const messages = h("div");
  file.addEventListener("change", () => {
    submit.disabled = !file.files?.[0];
    messages.replaceChildren();
  });
  const restore = async () => {
    const f = file.files?.[0];
    if (!f) return;
    const form = new FormData();
    if (name.value.trim()) form.set("name", name.value.trim());
    form.set("file", f, f.name);
    submit.disabled = true;
    messages.replaceChildren();
    status.textContent = `Sending ${bytes(f.size)}…`;
    try {
      const r = await uploadForm<Schemas["Imported"]>("/api/datasets/import", form, {
        progress: (sent, total) => (status.textContent = `Sending ${bytes(sent)} of ${bytes(total || f.size)}…`),
        sent: () => (status.textContent = "Checking the archive and reading each version…"),
      }).result;
      status.textContent = `Restored “${r.dataset.name}” with ${plural(r.versions.length, "version")}.`;
      onDone(r);
    } catch (err) {
      status.textContent = "";
      if (!isAbort(err)) mount(messages, errorBanner(err));
    } finally {
      submit.disabled = !file.files?.[0];
    }
  };
  return h(
    "section",
    { class: "card import-card", "aria-label": "Restore a dataset" },
    h("div", { class: "card-head" }, h("h2", { class: "card-title" }, "Restore from an archive"), apiMenu(() => ({ method: "POST", path: "/api/datasets/import", form: [["file", "@dataset.tar"]] }), "Request")),
    h("p", { class: "muted small" }, "An archive made by “Export archive” on a dataset's page: every version comes back with its number, values, types and statistics. A damaged or edited archive is refused whole."),
    h(
      "form",
      { class: "import-form", onsubmit: (e: Event) => { e.preventDefault(); void restore(); } },
      h("label", { class: "field" }, h("span", { class: "field-label" }, "Archive (.tar)"), file),
      h("label", { class: "field" }, h("span", { class: "field-label" }, "Restore as"), name),
      h("div", { class: "upload-actions" }, submit, status),
    ),
    messages,
  );
}
