/**
 * "Copy as curl" / "Copy as Python": the request behind a view, written out for a terminal or a
 * script, on this page's origin. A saved token is never copied: the snippets read it from
 * $DATASET_SERVICE_TOKEN (the CLI's variable too).
 */
import { getToken } from "./api.ts";
import { h } from "./dom.ts";

export interface RequestSpec {
  method: "GET" | "POST";
  path: string;
  query?: [string, string][];
  /** A JSON body (POST). */
  json?: unknown;
  /** A multipart form (POST): a value starting with `@` is a file of that name, as in curl -F. */
  form?: [string, string][];
  /** The answer is a file: curl saves it under the server's name, Python writes it to this name. */
  download?: string;
}

/** A query object as ordered pairs (for URLs and the copied requests). */
export function queryPairs(q: Record<string, string | number | string[] | undefined>): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) out.push([k, x]);
    else out.push([k, String(v)]);
  }
  return out;
}

const TOKEN_VAR = "DATASET_SERVICE_TOKEN";

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

const py = (s: string) => JSON.stringify(s); // a JSON string is a valid Python string literal

function pyValue(v: unknown, indent = ""): string {
  if (v === null || v === undefined) return "None";
  if (v === true) return "True";
  if (v === false) return "False";
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return py(v);
  if (Array.isArray(v)) return `[${v.map((x) => pyValue(x, indent)).join(", ")}]`;
  const entries = Object.entries(v as Record<string, unknown>);
  return `{${entries.map(([k, x]) => `${py(k)}: ${pyValue(x, indent)}`).join(", ")}}`;
}

export function curlCommand(spec: RequestSpec, origin = location.origin): string {
  const url = origin + spec.path;
  const parts = ["curl", "-s"];
  if (spec.download) parts.push("-OJ");
  if (spec.method === "GET" && spec.query?.length) parts.push("-G");
  if (spec.method === "POST") parts.push("-X", "POST");
  parts.push(shellQuote(url));
  const lines = [parts.join(" ")];
  if (getToken()) lines.push(`-H "Authorization: Bearer $${TOKEN_VAR}"`);
  for (const [k, v] of spec.query ?? []) lines.push(`--data-urlencode ${shellQuote(`${k}=${v}`)}`);
  if (spec.json !== undefined) lines.push("-H 'Content-Type: application/json'", `--data ${shellQuote(JSON.stringify(spec.json))}`);
  for (const [k, v] of spec.form ?? []) lines.push(`-F ${shellQuote(`${k}=${v}`)}`);
  return lines.join(" \\\n  ");
}

export function pythonSnippet(spec: RequestSpec, origin = location.origin): string {
  const lines = ["import os, requests", ""];
  const args = [py(origin + spec.path)];
  const q = spec.query ?? [];
  if (q.length) {
    const repeated = new Set(q.map(([k]) => k)).size !== q.length;
    // A dict reads best; a parameter given twice (filter) needs a list of pairs.
    args.push(`params=${repeated ? `[${q.map(([k, v]) => `(${py(k)}, ${py(v)})`).join(", ")}]` : `{${q.map(([k, v]) => `${py(k)}: ${py(v)}`).join(", ")}}`}`);
  }
  if (spec.json !== undefined) args.push(`json=${pyValue(spec.json)}`);
  const form = spec.form ?? [];
  const files = form.filter(([, v]) => v.startsWith("@"));
  const data = form.filter(([, v]) => !v.startsWith("@"));
  if (data.length) args.push(`data={${data.map(([k, v]) => `${py(k)}: ${py(v)}`).join(", ")}}`);
  if (files.length) args.push(`files={${files.map(([k, v]) => `${py(k)}: open(${py(v.slice(1))}, "rb")`).join(", ")}}`);
  if (getToken()) args.push(`headers={"Authorization": f"Bearer {os.environ['${TOKEN_VAR}']}"}`);
  if (spec.download) args.push("stream=True");
  lines.push(`r = requests.${spec.method.toLowerCase()}(${args.join(", ")})`, "r.raise_for_status()");
  if (spec.download) {
    lines.push(`with open(${py(spec.download)}, "wb") as f:`, "    for chunk in r.iter_content(1 << 20):", "        f.write(chunk)");
  } else {
    lines.push("print(r.json())");
  }
  return lines.join("\n");
}

async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard permission (plain http on another host): select the text for Ctrl+C instead.
    return false;
  }
}

/**
 * A small "API" menu: copy the request behind the view as curl or as Python. The text is shown
 * too, so it can be read (and selected by hand where the clipboard is not allowed).
 */
export function apiMenu(spec: () => RequestSpec, label = "Request"): HTMLElement {
  const out = h("pre", { class: "snippet", hidden: true });
  const status = h("span", { class: "muted small", role: "status" });
  const show = async (kind: "curl" | "python") => {
    const text = kind === "curl" ? curlCommand(spec()) : pythonSnippet(spec());
    out.textContent = text;
    out.dataset.kind = kind;
    out.hidden = false;
    const copied = await copyText(text);
    status.textContent = copied ? "Copied to the clipboard" : "Select the text to copy it";
    if (!copied) getSelection()?.selectAllChildren(out);
  };
  return h(
    "details",
    { class: "menu api-menu" },
    h("summary", { class: "button small", title: "The API request behind this view" }, label),
    h(
      "div",
      { class: "menu-body" },
      h("div", { class: "menu-row" }, h("button", { class: "button small", type: "button", onclick: () => void show("curl") }, "Copy as curl"), h("button", { class: "button small", type: "button", onclick: () => void show("python") }, "Copy as Python"), status),
      out,
    ),
  );
}
