/**
 * The upload card. Picking a file first runs `POST /api/datasets/inspect` (nothing is stored) and
 * shows what the server would read: format, encoding, delimiter, sheets, each column's type with
 * the values that kept it from a narrower one, the notes, and the first rows. The options (sheet,
 * delimiter, encoding, header, column types, bad rows…) re-run the preview as they change; Upload
 * then sends the file with exactly those options, with a progress bar for the bytes.
 */
import { ApiError, isAbort, uploadForm, type Created, type UploadHandle } from "../api.ts";
import type { Inspect, Schemas, UploadBody } from "../../../client/index.ts";
import { h, mount } from "../dom.ts";
import { bytes, count, plural } from "../format.ts";
import { rowElements } from "../grid.ts";
import { datasetHref, versionHref } from "../router.ts";
import { badge, errorBanner, notesBox } from "../ui.ts";

export interface UploadCardOptions {
  /** Set to add a version to this dataset; unset to create a new dataset. */
  datasetId?: string;
  onDone: (result: Created) => void;
}

/** What the server reads (judged by content too); `.gz` and other archives are refused, so not offered. */
export const ACCEPT = ".csv,.tsv,.txt,.tab,.xlsx,.xlsm,.xls,.parquet";
/** Files up to this size are previewed as soon as they are picked (the preview sends the file once). */
const AUTO_PREVIEW_BYTES = 25 * 1024 * 1024;
const TYPES = ["String", "Int64", "Float64", "Boolean", "Date", "Datetime", "Time", "Duration"] as const;
const ENCODINGS = ["utf-8", "windows-1252", "utf-16le", "utf-16be", "iso-8859-15", "macintosh"];
const DELIMITERS: [string, string][] = [[",", "comma ,"], [";", "semicolon ;"], ["tab", "tab"], ["|", "pipe |"]];

/** The parsing fields of the form (everything but the file, name, description and ifChanged), typed by the contract. */
type OptionFields = Omit<UploadBody, "file" | "name" | "description" | "ifChanged">;

function field(label: string, control: HTMLElement, hint?: string, cls = "field"): HTMLElement {
  return h("label", { class: cls }, h("span", { class: "field-label" }, label), control, hint ? h("span", { class: "field-hint" }, hint) : null);
}

/** Builds the upload card. */
export function uploadCard(opts: UploadCardOptions): HTMLElement {
  const forVersion = opts.datasetId !== undefined;
  let file: File | null = null;
  let handle: UploadHandle<unknown> | null = null;
  let inspected: Inspect | null = null;
  const types = new Map<string, string>();

  const fileInput = h("input", { type: "file", name: "file", accept: ACCEPT, class: "visually-hidden", id: `file-${Math.random().toString(36).slice(2)}` });
  const fileLabel = h("span", { class: "drop-main" }, "Choose a file", h("span", { class: "drop-muted" }, " or drop it here"));
  const fileMeta = h("span", { class: "drop-sub" }, "CSV, TSV, Excel (.xlsx, .xlsm, .xls) or Parquet");
  const drop = h("label", { class: "drop", for: fileInput.id }, h("span", { class: "drop-icon", "aria-hidden": "true" }, "⇪"), h("span", { class: "drop-body" }, fileLabel, fileMeta));

  const name = h("input", { type: "text", name: "name", placeholder: "Defaults to the file name", autocomplete: "off" });
  const description = h("input", { type: "text", name: "description", placeholder: "What is in it, where it came from", autocomplete: "off" });
  const sheet = h("select", { name: "sheet", "aria-label": "Sheet" }, h("option", { value: "" }, "First sheet with data"));
  const delimiter = h("select", { name: "delimiter", "aria-label": "Delimiter" }, h("option", { value: "" }, "Detected"), DELIMITERS.map(([v, l]) => h("option", { value: v }, l)));
  const encoding = h("select", { name: "encoding", "aria-label": "Encoding" }, h("option", { value: "" }, "Detected"), ENCODINGS.map((e) => h("option", { value: e }, e)));
  const header = h("input", { type: "checkbox", name: "header", checked: true });
  const onBadRows = h("select", { name: "onBadRows", "aria-label": "Rows with the wrong number of fields" }, h("option", { value: "fail" }, "Refuse the file"), h("option", { value: "skip" }, "Leave them out and list them"));
  const skipRows = h("input", { type: "number", name: "skipRows", min: 0, step: 1, placeholder: "0", "aria-label": "Rows to skip at the top" });
  const headerRow = h("input", { type: "number", name: "headerRow", min: 1, step: 1, placeholder: "1", "aria-label": "Header row" });
  const commentPrefix = h("input", { type: "text", name: "commentPrefix", maxlength: 8, placeholder: "e.g. #", autocomplete: "off", "aria-label": "Comment lines start with" });
  const nullValues = h("input", { type: "text", name: "nullValues", placeholder: "e.g. N/A,-,NULL", autocomplete: "off", "aria-label": "Also read as null" });
  const decimalComma = h("input", { type: "checkbox", name: "decimalComma" });
  // Adding a version: the same bytes as the latest one can store nothing (ifChanged=true), checked on the server by SHA-256.
  const ifChanged = h("input", { type: "checkbox", name: "ifChanged" });
  const quoting = h("select", { name: "quoting", "aria-label": "Quotes" }, h("option", { value: "strict" }, "Standard (RFC 4180)"), h("option", { value: "lenient" }, "Lenient (a stray quote is text)"), h("option", { value: "none" }, "None (quotes are text)"));

  const submit = h("button", { class: "button primary", type: "submit", disabled: true }, forVersion ? "Upload version" : "Upload");
  const previewButton = h("button", { class: "button", type: "button", hidden: true, onclick: () => void inspect() }, "Preview");
  const cancel = h("button", { class: "button", type: "button", hidden: true, onclick: () => handle?.abort() }, "Cancel");
  const bar = h("div", { class: "progress-bar" });
  const progressText = h("span", { class: "progress-text" });
  const progress = h("div", { class: "progress", hidden: true, role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-label": "Upload progress" }, h("div", { class: "progress-track" }, bar), progressText);
  const messages = h("div", { class: "upload-messages" });
  const preview = h("div", { class: "inspect", hidden: true });

  const csvOptions = h(
    "div",
    { class: "field-grid options-csv" },
    field("Delimiter", delimiter),
    field("Encoding", encoding),
    field("Rows with the wrong number of fields", onBadRows),
    field("Quotes", quoting),
    field("Comment lines start with", commentPrefix, "Left out and counted in a note"),
    h("label", { class: "check" }, decimalComma, h("span", null, "Decimal comma (1,5 is 1.5)")),
  );
  const excelOptions = h("div", { class: "field-grid options-excel" }, field("Sheet", sheet));
  const commonOptions = h(
    "div",
    { class: "field-grid" },
    field("Rows to skip at the top", skipRows, "Title rows above the header"),
    field("Header row", headerRow, "1-based; the rows above it are left out"),
    field("Also read as null", nullValues, "Exact texts, comma-separated"),
    h("label", { class: "check" }, header, h("span", null, "The first row names the columns")),
  );
  const options = h("div", { class: "parse-options", hidden: true }, h("div", { class: "options-title" }, "How to read it"), excelOptions, csvOptions, commonOptions);

  /** The form fields the options stand for. */
  const optionFields = (): OptionFields => {
    const f: OptionFields = {};
    if (sheet.value) f.sheet = sheet.value;
    if (delimiter.value) f.delimiter = delimiter.value;
    if (encoding.value) f.encoding = encoding.value;
    if (!header.checked) f.header = "false";
    if (onBadRows.value === "skip") f.onBadRows = "skip";
    if (types.size > 0) f.schema = JSON.stringify(Object.fromEntries(types));
    if (skipRows.value) f.skipRows = skipRows.value;
    if (headerRow.value) f.headerRow = headerRow.value;
    if (commentPrefix.value) f.commentPrefix = commentPrefix.value;
    if (nullValues.value.trim()) f.nullValues = nullValues.value.trim();
    if (decimalComma.checked) f.decimalComma = "true";
    if (quoting.value !== "strict") f.quoting = quoting.value as OptionFields["quoting"];
    return f;
  };
  const formFor = (withNameFields: boolean): FormData => {
    const form = new FormData();
    if (withNameFields && name.value.trim()) form.set("name", name.value.trim());
    if (withNameFields && description.value.trim()) form.set("description", description.value.trim());
    for (const [k, v] of Object.entries(optionFields())) if (typeof v === "string") form.set(k, v);
    if (forVersion && ifChanged.checked) form.set("ifChanged", "true");
    // The file goes last so the server has seen every option before the bytes arrive.
    form.set("file", file!, file!.name);
    return form;
  };

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
    previewButton.disabled = on;
    cancel.hidden = !on;
    fileInput.disabled = on;
    drop.classList.toggle("disabled", on);
  };

  /** Posts the form with a progress bar: "Uploading… x of y", then `parsingText` until the answer. */
  const post = async <T>(path: string, form: FormData, verb: string, parsingText: string): Promise<T> => {
    const total = file?.size ?? 0;
    setProgress(0, `${verb}… 0 B of ${bytes(total)}`);
    const hnd = uploadForm<T>(path, form, {
      progress: (sent, all) => {
        const whole = all || total;
        const pct = whole ? Math.min(100, (sent / whole) * 100) : 0;
        setProgress(pct, `${verb}… ${bytes(Math.min(sent, whole || sent))} of ${bytes(whole)} (${Math.round(pct)}%)`);
      },
      sent: () => setProgress(null, parsingText),
    });
    handle = hnd;
    busy(true);
    try {
      return await hnd.result;
    } finally {
      handle = null;
      busy(false);
    }
  };

  const columnTypeSelect = (c: Inspect["columns"][number]) => {
    const forced = types.get(c.name);
    const select = h("select", { class: "type-select", "aria-label": `Type of ${c.name}` }, h("option", { value: "" }, "as detected"), TYPES.map((t) => h("option", { value: t, selected: forced === t }, t)));
    select.addEventListener("change", () => {
      if (select.value) types.set(c.name, select.value);
      else types.delete(c.name);
      void inspect();
    });
    return select;
  };

  /** The options that apply to a format (by the server's verdict, or before it by the file's name). */
  const showOptionsFor = (format: string) => {
    const isCsv = format === "csv" || format === "tsv";
    const isExcel = format === "xlsx" || format === "xlsm" || format === "xls";
    csvOptions.hidden = !isCsv;
    excelOptions.hidden = !isExcel;
    commonOptions.hidden = !(isCsv || isExcel);
    options.hidden = !(isCsv || isExcel);
  };

  const renderPreview = (r: Inspect) => {
    const isExcel = r.format === "xlsx" || r.format === "xlsm" || r.format === "xls";
    showOptionsFor(r.format);
    if (isExcel && r.sheets) {
      const keep = sheet.value;
      mount(sheet, h("option", { value: "" }, "First sheet with data"), r.sheets.map((s) => h("option", { value: s.name, selected: s.name === keep }, `${s.name} (${plural(s.rows, "row")} × ${s.columns})`)));
    }
    const notes = (r.source as { notes?: string[] } | undefined)?.notes;
    const columns = r.columns.map((c) => ({ name: c.name, dtype: c.dtype }));
    mount(
      preview,
      h(
        "div",
        { class: "inspect-facts" },
        badge(r.format.toUpperCase()),
        r.encoding ? h("span", null, `encoding ${r.encoding}`) : null,
        r.delimiter ? h("span", null, `delimiter ${r.delimiter === "\t" ? "tab" : `“${r.delimiter}”`}`) : null,
        r.sheet ? h("span", null, `sheet “${r.sheet}”`) : null,
        r.header === false ? h("span", null, "no header row") : null,
        h("strong", { class: "inspect-rows" }, plural(r.rowCount, "row")),
        h("span", null, plural(r.columns.length, "column")),
      ),
      notesBox(notes, "The server notes"),
      h(
        "div",
        { class: "table-scroll inspect-columns" },
        h(
          "table",
          { class: "table" },
          h("thead", null, h("tr", null, h("th", null, "Column"), h("th", null, "Type"), h("th", null, "Read as"), h("th", { class: "num" }, "Nulls"), h("th", null, "Values that kept it from a narrower type"))),
          h(
            "tbody",
            null,
            r.columns.map((c) =>
              h(
                "tr",
                { "data-column": c.name },
                h("td", { class: "strong" }, c.name),
                h("td", null, badge(c.dtype, "badge-type")),
                h("td", null, columnTypeSelect(c)),
                h("td", { class: "num" }, count(c.nullCount)),
                h("td", { class: "counterexamples" }, c.counterexamples.length ? c.counterexamples.map((x) => h("code", { class: "counterexample" }, x === "" ? "(empty)" : x)) : h("span", { class: "muted" }, "—")),
              ),
            ),
          ),
        ),
      ),
      r.preview.length
        ? h(
            "details",
            { class: "inspect-rows-box", open: true },
            h("summary", null, `First ${plural(r.preview.length, "row")}`),
            h("div", { class: "table-scroll inspect-preview" }, h("table", { class: "table data-table" }, h("thead", null, h("tr", null, h("th", { class: "rownum" }, "#"), columns.map((c) => h("th", null, c.name, h("div", { class: "dtype" }, c.dtype))))), h("tbody", null, rowElements(columns, r.preview, 0)))),
          )
        : null,
    );
    preview.hidden = false;
  };

  let inspectSeq = 0;
  const inspect = async () => {
    if (!file) return;
    const seq = ++inspectSeq;
    messages.replaceChildren();
    try {
      const r = await post<Inspect>("/api/datasets/inspect", formFor(false), "Reading", "Reading… the server is looking at the file");
      if (seq !== inspectSeq) return;
      inspected = r;
      progress.hidden = true;
      renderPreview(r);
    } catch (err) {
      if (seq !== inspectSeq) return;
      progress.hidden = true;
      if (isAbort(err)) return;
      // A preview that fails says why (wrong sheet, a value that does not convert): the options stay to fix it.
      mount(messages, errorBanner(err));
      if (!inspected) preview.hidden = true;
    }
  };

  const pick = (f: File | null) => {
    file = f;
    inspected = null;
    types.clear();
    submit.disabled = f === null;
    messages.replaceChildren();
    preview.hidden = true;
    options.hidden = true;
    if (!f) return;
    mount(fileLabel, h("span", { class: "file-name", title: f.name }, f.name));
    fileMeta.textContent = `${bytes(f.size)} · click to choose another file`;
    drop.classList.add("has-file");
    previewButton.hidden = f.size <= AUTO_PREVIEW_BYTES;
    // Shown before the first answer too: a file the defaults cannot read (title rows, another delimiter) is fixed here.
    const ext = /\.([^.]+)$/.exec(f.name)?.[1]?.toLowerCase() ?? "";
    showOptionsFor(ext === "parquet" ? "parquet" : ["xlsx", "xlsm", "xls"].includes(ext) ? ext : "csv");
    if (f.size <= AUTO_PREVIEW_BYTES) void inspect();
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
  for (const control of [sheet, delimiter, encoding, header, onBadRows, skipRows, headerRow, commentPrefix, nullValues, decimalComma, quoting]) control.addEventListener("change", () => void inspect());

  /** Sends the chosen file to `path`. */
  const send = async (path: string, withNameFields: boolean) => {
    if (!file) return;
    messages.replaceChildren();
    try {
      const result = await post<Created | Schemas["Unchanged"]>(path, formFor(withNameFields), "Uploading", "Parsing… the server is reading the file");
      setProgress(100, "Done");
      if ("unchanged" in result && result.unchanged) {
        const v = result.version.version;
        mount(messages, h("div", { class: "banner banner-info unchanged" }, `The file has the same bytes as version ${v}: nothing was stored. `, h("a", { href: versionHref(result.dataset.id, v) }, `Open version ${v}`)));
        return;
      }
      opts.onDone(result as Created);
    } catch (err) {
      progress.hidden = true;
      if (isAbort(err)) mount(messages, h("div", { class: "banner banner-info" }, "Upload cancelled."));
      else mount(messages, errorBanner(err, nameTakenAction(err)));
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
    forVersion ? null : h("div", { class: "field-grid" }, field("Name", name), field("Description", description)),
    options,
    preview,
    forVersion ? h("label", { class: "check if-changed" }, ifChanged, h("span", null, "Only if the file changed (the same bytes as the latest version store nothing)")) : null,
    h("div", { class: "upload-actions" }, submit, previewButton, cancel, progress),
    messages,
  );

  return h(
    "section",
    { class: "card upload-card", "aria-label": forVersion ? "Upload a new version" : "Upload a dataset" },
    h("h2", { class: "card-title" }, forVersion ? "Add a new version" : "Upload a dataset"),
    form,
  );
}
