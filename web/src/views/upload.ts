/**
 * The upload card: a file (picked or dropped), optional name/description/sheet and parsing
 * options, a progress bar that shows bytes sent and then "Parsing…" until the server answers.
 */
import { ApiError, isAbort, uploadForm, type Created, type UploadHandle } from "../api.ts";
import { h, mount } from "../dom.ts";
import { bytes } from "../format.ts";
import { datasetHref } from "../router.ts";
import { errorBanner } from "../ui.ts";

export interface UploadCardOptions {
  /** Set to add a version to this dataset; unset to create a new dataset. */
  datasetId?: string;
  onDone: (result: Created) => void;
}

const ACCEPT = ".csv,.tsv,.txt,.tab,.xlsx,.xlsm,.xls,.parquet,.gz";

function field(label: string, control: HTMLElement, hint?: string): HTMLElement {
  return h("label", { class: "field" }, h("span", { class: "field-label" }, label), control, hint ? h("span", { class: "field-hint" }, hint) : null);
}

/** Builds the upload card. */
export function uploadCard(opts: UploadCardOptions): HTMLElement {
  const forVersion = opts.datasetId !== undefined;
  let file: File | null = null;
  let handle: UploadHandle<Created> | null = null;

  const fileInput = h("input", { type: "file", name: "file", accept: ACCEPT, class: "visually-hidden", id: `file-${Math.random().toString(36).slice(2)}` });
  const fileLabel = h("span", { class: "drop-main" }, "Choose a file", h("span", { class: "drop-muted" }, " or drop it here"));
  const fileMeta = h("span", { class: "drop-sub" }, "CSV, TSV, Excel (.xlsx, .xlsm, .xls) or Parquet");
  const drop = h("label", { class: "drop", for: fileInput.id }, h("span", { class: "drop-icon", "aria-hidden": "true" }, "⇪"), h("span", { class: "drop-body" }, fileLabel, fileMeta));

  const name = h("input", { type: "text", name: "name", placeholder: "Defaults to the file name", autocomplete: "off" });
  const description = h("input", { type: "text", name: "description", placeholder: "What is in it, where it came from", autocomplete: "off" });
  const sheet = h("input", { type: "text", name: "sheet", placeholder: "First sheet", autocomplete: "off" });
  const delimiter = h("input", { type: "text", name: "delimiter", placeholder: "Detected", maxlength: 4, autocomplete: "off" });
  const header = h("select", { name: "header" }, h("option", { value: "true" }, "First row is the header"), h("option", { value: "false" }, "No header row"));
  const onBadRows = h("select", { name: "onBadRows" }, h("option", { value: "fail" }, "Refuse the file"), h("option", { value: "skip" }, "Skip them and count them"));

  const submit = h("button", { class: "button primary", type: "submit", disabled: true }, forVersion ? "Upload version" : "Upload");
  const cancel = h("button", { class: "button", type: "button", hidden: true, onclick: () => handle?.abort() }, "Cancel");
  const bar = h("div", { class: "progress-bar" });
  const progressText = h("span", { class: "progress-text" });
  const progress = h("div", { class: "progress", hidden: true, role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-label": "Upload progress" }, h("div", { class: "progress-track" }, bar), progressText);
  const messages = h("div", { class: "upload-messages" });

  const pick = (f: File | null) => {
    file = f;
    submit.disabled = f === null;
    messages.replaceChildren();
    if (f) {
      mount(fileLabel, h("span", { class: "file-name", title: f.name }, f.name));
      fileMeta.textContent = `${bytes(f.size)} · click to choose another file`;
      drop.classList.add("has-file");
    }
  };
  fileInput.addEventListener("change", () => pick(fileInput.files?.[0] ?? null));
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("dragging");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("dragging");
    const f = e.dataTransfer?.files[0];
    if (f) pick(f);
  });

  const setProgress = (pct: number | null, text: string) => {
    progress.hidden = false;
    progress.classList.toggle("indeterminate", pct === null);
    bar.style.width = pct === null ? "" : `${pct}%`;
    if (pct === null) progress.removeAttribute("aria-valuenow");
    else progress.setAttribute("aria-valuenow", String(Math.round(pct)));
    progressText.textContent = text;
  };

  const busy = (on: boolean) => {
    submit.disabled = on || file === null;
    cancel.hidden = !on;
    fileInput.disabled = on;
    drop.classList.toggle("disabled", on);
  };

  /** Sends the chosen file to `path`; `asVersionOf` marks the retry after a name clash. */
  const send = async (path: string, withNameFields: boolean) => {
    if (!file) return;
    const form = new FormData();
    if (withNameFields && name.value.trim()) form.set("name", name.value.trim());
    if (withNameFields && description.value.trim()) form.set("description", description.value.trim());
    if (sheet.value.trim()) form.set("sheet", sheet.value.trim());
    if (delimiter.value) form.set("delimiter", delimiter.value === "\\t" ? "\t" : delimiter.value);
    if (header.value === "false") form.set("header", "false");
    if (onBadRows.value === "skip") form.set("onBadRows", "skip");
    // The file goes last so the server has seen every option before the bytes arrive.
    form.set("file", file, file.name);

    messages.replaceChildren();
    busy(true);
    setProgress(0, `Uploading… 0 B of ${bytes(file.size)}`);
    handle = uploadForm<Created>(path, form, {
      progress: (sent, total) => {
        const whole = total || file?.size || 0;
        const pct = whole ? Math.min(100, (sent / whole) * 100) : 0;
        setProgress(pct, `Uploading… ${bytes(Math.min(sent, whole || sent))} of ${bytes(whole)} (${Math.round(pct)}%)`);
      },
      sent: () => setProgress(null, "Parsing… the server is reading the file"),
    });
    try {
      const result = await handle.result;
      setProgress(100, "Done");
      opts.onDone(result);
    } catch (err) {
      progress.hidden = true;
      if (isAbort(err)) {
        mount(messages, h("div", { class: "banner banner-info" }, "Upload cancelled."));
      } else {
        mount(messages, errorBanner(err, nameTakenAction(err)));
      }
    } finally {
      handle = null;
      busy(false);
    }
  };

  /** A 409 carries the existing dataset's id: offer to open it or add the file as its new version. */
  const nameTakenAction = (err: unknown) => {
    if (!(err instanceof ApiError) || err.problem.code !== "NAME_TAKEN" || typeof err.problem.datasetId !== "string") return null;
    const id = err.problem.datasetId;
    return h(
      "div",
      { class: "banner-actions" },
      h("a", { class: "button small", href: datasetHref(id) }, "Open the existing dataset"),
      h("button", { class: "button small", type: "button", onclick: () => void send(`/api/datasets/${encodeURIComponent(id)}/versions`, false) }, "Add this file as its new version"),
    );
  };

  const form = h(
    "form",
    {
      class: "upload-form",
      onsubmit: (e: Event) => {
        e.preventDefault();
        void send(forVersion ? `/api/datasets/${encodeURIComponent(opts.datasetId!)}/versions` : "/api/datasets/upload", !forVersion);
      },
    },
    fileInput,
    drop,
    h(
      "div",
      { class: "field-grid" },
      forVersion ? null : field("Name", name),
      forVersion ? null : field("Description", description),
      field("Sheet", sheet, "Excel only: a sheet name or 0-based index"),
    ),
    h(
      "details",
      { class: "more-options" },
      h("summary", null, "Parsing options"),
      h("div", { class: "field-grid" }, field("Delimiter", delimiter, "CSV only; \\t for tab"), field("Header", header), field("Rows with the wrong number of fields", onBadRows)),
    ),
    h("div", { class: "upload-actions" }, submit, cancel, progress),
    messages,
  );

  return h(
    "section",
    { class: "card upload-card", "aria-label": forVersion ? "Upload a new version" : "Upload a dataset" },
    h("h2", { class: "card-title" }, forVersion ? "Add a new version" : "Upload a dataset"),
    form,
  );
}
