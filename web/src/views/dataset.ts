/** A dataset's page: its name, description and versions, and a card to add a version. */
import { api, ApiError, call, type DatasetDetail, type VersionSummary } from "../api.ts";
import { h, mount } from "../dom.ts";
import { ago, bytes, count, dateTime, formatLabel, plural } from "../format.ts";
import { versionHref } from "../router.ts";
import { badge, breadcrumbs, emptyState, errorBanner, fact, loading } from "../ui.ts";
import { uploadCard } from "./upload.ts";

function versionRow(v: VersionSummary, latest: number | null): HTMLElement {
  const skipped = v.source.skippedRows ?? 0;
  return h(
    "tr",
    null,
    h("td", { class: "nowrap" }, h("a", { class: "strong-link", href: versionHref(v.datasetId, v.version) }, `Version ${v.version}`), v.version === latest ? badge("latest", "badge-accent") : null),
    h("td", { class: "num" }, count(v.rowCount), skipped > 0 ? h("div", { class: "small warn", title: `Lines skipped: ${(v.source.skippedLines ?? []).join(", ")}` }, `${count(skipped)} skipped`) : null),
    h("td", { class: "num" }, count(v.columnCount)),
    h("td", null, badge(formatLabel(v.source.format)), v.source.sheet ? h("span", { class: "muted small" }, ` sheet “${v.source.sheet}”`) : null),
    h("td", { class: "truncate", title: v.source.filename }, v.source.filename),
    h("td", { class: "num nowrap" }, bytes(v.source.sizeBytes)),
    h("td", { class: "nowrap", title: dateTime(v.createdAt) }, ago(v.createdAt)),
  );
}

/** Renders dataset `id` into `root`. */
export async function renderDataset(root: HTMLElement, id: string, signal: AbortSignal): Promise<void> {
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

  mount(
    root,
    breadcrumbs(["Datasets", "#/"], [d.name]),
    h(
      "div",
      { class: "page-head" },
      h("div", null, h("h1", null, d.name), d.description ? h("p", { class: "lead" }, d.description) : h("p", { class: "lead muted" }, "No description.")),
      d.latestVersion ? h("a", { class: "button primary", href: versionHref(d.id, d.latestVersion) }, "Open latest version") : null,
    ),
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
              { class: "table" },
              h("thead", null, h("tr", null, h("th", null, "Version"), h("th", { class: "num" }, "Rows"), h("th", { class: "num" }, "Columns"), h("th", null, "Format"), h("th", null, "Source file"), h("th", { class: "num" }, "Size"), h("th", null, "Created"))),
              h("tbody", null, versions.map((v) => versionRow(v, d.latestVersion))),
            ),
          ),
    ),
    uploadCard({ datasetId: d.id, onDone: (r) => { location.hash = versionHref(r.dataset.id, r.version.version); } }),
  );
}
