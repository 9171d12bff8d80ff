/**
 * A dataset's page: its name and description (editable), its versions (each with its notes, a way to
 * compare and to delete), a card to add a version, and deleting the whole dataset.
 */
import type { ViewHandle } from "../main.ts";
import { api, ApiError, call, type DatasetDetail, type VersionSummary } from "../api.ts";
import { h, mount } from "../dom.ts";
import { ago, bytes, count, dateTime, formatLabel, plural } from "../format.ts";
import { compareHref, go, versionHref } from "../router.ts";
import { apiMenu } from "../request.ts";
import { badge, breadcrumbs, confirmDialog, emptyState, errorBanner, fact, loading } from "../ui.ts";
import { uploadCard } from "./upload.ts";
import { exportLink } from "./archive.ts";

function versionRow(v: VersionSummary, latest: number | null, onDelete: (v: VersionSummary) => void): HTMLElement {
  const skipped = v.source.skippedRows ?? 0;
  const notes = v.source.notes ?? [];
  return h(
    "tr",
    { "data-version": v.version },
    h("td", { class: "nowrap" }, h("a", { class: "strong-link", href: versionHref(v.datasetId, v.version) }, `Version ${v.version}`), v.version === latest ? badge("latest", "badge-accent") : null),
    h("td", { class: "num" }, count(v.rowCount), skipped > 0 ? h("div", { class: "small warn", title: `Lines skipped: ${(v.source.skippedLines ?? []).join(", ")}` }, `${count(skipped)} skipped`) : null),
    h("td", { class: "num" }, count(v.columnCount)),
    h("td", null, badge(formatLabel(v.source.format)), v.source.sheet ? h("span", { class: "muted small" }, ` sheet “${v.source.sheet}”`) : null),
    h("td", { class: "truncate", title: v.source.filename }, v.source.filename, notes.length ? h("div", { class: "small note-line", title: notes.join("\n") }, notes.length === 1 ? notes[0] : `${notes[0]} (+${notes.length - 1} more)`) : null),
    h("td", { class: "num nowrap" }, bytes(v.source.sizeBytes)),
    h("td", { class: "nowrap", title: dateTime(v.createdAt) }, ago(v.createdAt)),
    h("td", { class: "nowrap row-actions" }, h("button", { class: "link-button danger-link", type: "button", "aria-label": `Delete version ${v.version}`, onclick: () => onDelete(v) }, "Delete")),
  );
}

/** The name and description, as text with an Edit button, or as a form (PATCH). */
function editableHead(d: DatasetDetail, onSaved: (d: { name: string; description: string }) => void): HTMLElement {
  const host = h("div", { class: "head-main" });
  const showText = () =>
    mount(
      host,
      h("h1", null, d.name),
      d.description ? h("p", { class: "lead" }, d.description) : h("p", { class: "lead muted" }, "No description."),
      h("button", { class: "link-button small", type: "button", onclick: showForm }, "Edit name and description"),
    );
  const showForm = () => {
    const name = h("input", { type: "text", name: "name", value: d.name, required: true, maxlength: 200, "aria-label": "Dataset name" });
    const description = h("textarea", { name: "description", rows: 3, maxlength: 10000, "aria-label": "Description" });
    description.value = d.description;
    const messages = h("div");
    const form = h(
      "form",
      {
        class: "edit-form",
        onsubmit: async (e: Event) => {
          e.preventDefault();
          const body: { name?: string; description?: string } = {};
          if (name.value.trim() !== d.name) body.name = name.value.trim();
          if (description.value !== d.description) body.description = description.value;
          if (Object.keys(body).length === 0) return showText();
          try {
            const saved = await call(api.PATCH("/api/datasets/{datasetId}", { params: { path: { datasetId: d.id } }, body }));
            d = { ...d, ...saved };
            onSaved(saved);
            showText();
          } catch (err) {
            mount(messages, errorBanner(err));
          }
        },
      },
      h("label", { class: "field" }, h("span", { class: "field-label" }, "Name"), name),
      h("label", { class: "field" }, h("span", { class: "field-label" }, "Description"), description),
      h("div", { class: "upload-actions" }, h("button", { class: "button primary", type: "submit" }, "Save"), h("button", { class: "button", type: "button", onclick: showText }, "Cancel")),
      messages,
    );
    mount(host, form);
    name.focus();
  };
  showText();
  return host;
}

/** Renders dataset `id` into `root`. */
export async function renderDataset(root: HTMLElement, id: string, signal: AbortSignal): Promise<ViewHandle | void> {
  mount(root, breadcrumbs(["Datasets", "#/"], ["…"]), loading("Loading dataset…"));
  let d: DatasetDetail;
  try {
    d = await call(api.GET("/api/datasets/{datasetId}", { params: { path: { datasetId: id } }, signal }));
  } catch (err) {
    if (signal.aborted) return;
    document.title = "Dataset";
    const missing = err instanceof ApiError && err.status === 404;
    mount(root, breadcrumbs(["Datasets", "#/"], ["Not found"]), missing ? emptyState("Dataset not found", "It may have been deleted, or the link is wrong.", h("a", { class: "button", href: "#/" }, "Back to datasets")) : errorBanner(err));
    return;
  }
  document.title = `${d.name} · Datasets`;
  // Newest first: the version people usually want is the last one uploaded.
  const versions = [...d.versions].sort((a, b) => b.version - a.version);
  const messages = h("div");
  const crumbName = h("span", { "aria-current": "page" }, d.name);

  const deleteVersion = async (v: VersionSummary) => {
    const ok = await confirmDialog({ title: `Delete version ${v.version} of “${d.name}”?`, text: `Its ${plural(v.rowCount, "row")} are removed for good; the number ${v.version} is never used again.`, confirm: `Delete version ${v.version}`, danger: true });
    if (!ok) return;
    try {
      await call(api.DELETE("/api/datasets/{datasetId}/versions/{version}", { params: { path: { datasetId: id, version: String(v.version) } } }));
      void renderDataset(root, id, signal);
    } catch (err) {
      mount(messages, errorBanner(err));
    }
  };
  const deleteDataset = async () => {
    const ok = await confirmDialog({
      title: `Delete the dataset “${d.name}”?`,
      text: `All ${plural(d.versionCount, "version")} and their rows are removed for good. This cannot be undone.`,
      confirm: "Delete dataset",
      danger: true,
    });
    if (!ok) return;
    try {
      await call(api.DELETE("/api/datasets/{datasetId}", { params: { path: { datasetId: id } } }));
      go("#/");
    } catch (err) {
      mount(messages, errorBanner(err));
    }
  };

  const compare = versions.length > 1 ? h("a", { class: "button", href: compareHref(id, new URLSearchParams({ from: String(versions[1]!.version), to: String(versions[0]!.version) })) }, "Compare versions") : null;

  mount(
    root,
    h("nav", { class: "crumbs", "aria-label": "Breadcrumb" }, h("a", { href: "#/" }, "Datasets"), h("span", { class: "crumb-sep", "aria-hidden": "true" }, "/"), crumbName),
    h(
      "div",
      { class: "page-head" },
      editableHead(d, (saved) => {
        d = { ...d, ...saved };
        crumbName.textContent = saved.name;
        document.title = `${saved.name} · Datasets`;
      }),
      h("div", { class: "head-actions" }, apiMenu(() => ({ method: "GET", path: `/api/datasets/${encodeURIComponent(id)}` })), versions.length ? exportLink(d, messages) : null, compare, d.latestVersion ? h("a", { class: "button primary", href: versionHref(d.id, d.latestVersion) }, "Open latest version") : null),
    ),
    messages,
    h(
      "div",
      { class: "facts" },
      fact("Versions", count(d.versionCount)),
      fact("Latest", d.latestVersion ? `v${d.latestVersion}` : "—"),
      fact("Created", ago(d.createdAt), dateTime(d.createdAt)),
      fact("Updated", ago(d.updatedAt), dateTime(d.updatedAt)),
      fact("Id", h("code", { class: "id" }, d.id), d.id, true),
    ),
    h(
      "section",
      { class: "card" },
      h("div", { class: "card-head" }, h("h2", { class: "card-title" }, "Versions ", h("span", { class: "muted" }, `(${plural(versions.length, "version")})`))),
      versions.length === 0
        ? emptyState("No versions", "Every version of this dataset was deleted. Upload a file below to add one.")
        : h(
            "div",
            { class: "table-scroll" },
            h(
              "table",
              { class: "table versions-table" },
              h("thead", null, h("tr", null, h("th", null, "Version"), h("th", { class: "num" }, "Rows"), h("th", { class: "num" }, "Columns"), h("th", null, "Format"), h("th", null, "Source file"), h("th", { class: "num" }, "Size"), h("th", null, "Created"), h("th", null, h("span", { class: "visually-hidden" }, "Actions")))),
              h("tbody", null, versions.map((v) => versionRow(v, d.latestVersion, (x) => void deleteVersion(x)))),
            ),
          ),
    ),
    uploadCard({ datasetId: d.id, onDone: (r) => go(versionHref(r.dataset.id, r.version.version)) }),
    h("section", { class: "card danger-zone" }, h("div", { class: "card-head" }, h("div", null, h("h2", { class: "card-title" }, "Delete this dataset"), h("p", { class: "muted small" }, "Removes every version and the name. There is no undo.")), h("button", { class: "button danger", type: "button", onclick: () => void deleteDataset() }, "Delete dataset…"))),
  );
}
