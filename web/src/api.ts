/**
 * The viewer's only door to the service: the typed client generated from the OpenAPI document
 * (client/), on the page's own origin, with the bearer token from localStorage when one is saved;
 * failed answers (problem+json) become `ApiError`. The API's types come from the same place.
 */
import { createDatasetClient, type Problem } from "../../client/index.ts";

export type { ColumnInfo, ColumnStats, Created, Dataset, DatasetDetail, DatasetList, Page, PageColumn, Problem, Stats, Version, VersionSummary } from "../../client/index.ts";

const TOKEN_KEY = "dataset-service.token";

/** What a failed answer said: the problem fields the viewer reads, whatever else came with it. */
export type ProblemInfo = Pick<Problem, "title" | "status"> & Partial<Pick<Problem, "type" | "detail" | "code" | "datasetId" | "parameter" | "didYouMean" | "column" | "columns">>;

/** An API call that did not succeed; `problem` is what the server said (or a stand-in). */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: ProblemInfo;
  constructor(problem: ProblemInfo) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
    this.status = problem.status;
    this.problem = problem;
  }
}

type Listener = (rejectedToken: boolean) => void;
const unauthorizedListeners = new Set<Listener>();

/** Called whenever the service answers 401, so the page can ask for a token. */
export function onUnauthorized(listener: Listener): void {
  unauthorizedListeners.add(listener);
}

/** The saved bearer token, or null. */
export function getToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null; // storage can be disabled; the viewer still works against an open API
  }
}

/** Saves (or with null, forgets) the bearer token sent with every call. */
export function setToken(token: string | null): void {
  try {
    if (token) localStorage.setItem(TOKEN_KEY, token);
    else localStorage.removeItem(TOKEN_KEY);
  } catch {
    /* ignore: nothing else to do without storage */
  }
}

function authHeaders(): Record<string, string> {
  const token = getToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** Builds a Problem from a failed answer whatever its body is (a proxy may send HTML). */
function toProblem(status: number, statusText: string, body: unknown): ProblemInfo {
  if (body && typeof body === "object") {
    const parsed = body as Partial<Problem>;
    return { ...parsed, title: parsed.title ?? (statusText || `HTTP ${status}`), status: parsed.status ?? status };
  }
  const text = String(body ?? "").replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, 300);
  return { title: statusText || `HTTP ${status}`, status, detail: text || undefined };
}

function notify(status: number): void {
  if (status === 401) for (const l of unauthorizedListeners) l(getToken() !== null);
}

const networkProblem: ProblemInfo = {
  title: "Cannot reach the service",
  status: 0,
  detail: "The request did not get an answer. Check that the server is running and try again.",
};

/** The typed client; call it through `call` to get the data or an ApiError. */
export const api = createDatasetClient({ baseUrl: "" });
api.use({
  onRequest({ request }) {
    for (const [k, v] of Object.entries(authHeaders())) request.headers.set(k, v);
    return request;
  },
});

/**
 * The data of a successful call; rejects with ApiError otherwise (and with the AbortError of
 * a cancelled one, which views ignore):
 *   const page = await call(api.GET("/api/datasets", { params: { query: { limit: 50 } }, signal }));
 */
export async function call<T>(request: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await request;
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(networkProblem);
  }
  const { response } = result;
  if (!response.ok) {
    notify(response.status);
    throw new ApiError(toProblem(response.status, response.statusText, result.error));
  }
  return result.data as T;
}

export interface UploadHandle<T> {
  result: Promise<T>;
  abort: () => void;
}

export interface UploadCallbacks {
  /** Bytes of the request body sent so far. */
  progress: (sent: number, total: number) => void;
  /** The whole body is sent; the server is now parsing. */
  sent: () => void;
}

/**
 * POSTs a multipart form with XMLHttpRequest, because fetch cannot report upload progress.
 * Resolves with the parsed JSON body on 2xx, rejects with ApiError otherwise.
 */
export function uploadForm<T>(path: string, form: FormData, cb: UploadCallbacks): UploadHandle<T> {
  const xhr = new XMLHttpRequest();
  const result = new Promise<T>((resolve, reject) => {
    xhr.open("POST", path);
    xhr.setRequestHeader("Accept", "application/json");
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.upload.addEventListener("progress", (e) => cb.progress(e.loaded, e.lengthComputable ? e.total : 0));
    xhr.upload.addEventListener("load", () => cb.sent());
    xhr.addEventListener("load", () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        try {
          resolve(JSON.parse(xhr.responseText) as T);
        } catch {
          reject(new ApiError({ title: "Unexpected answer", status: xhr.status, detail: "The server's answer was not JSON." }));
        }
        return;
      }
      notify(xhr.status);
      let body: unknown = xhr.responseText;
      if ((xhr.getResponseHeader("content-type") ?? "").includes("json")) {
        try {
          body = JSON.parse(xhr.responseText);
        } catch {
          /* keep the text */
        }
      }
      reject(new ApiError(toProblem(xhr.status, xhr.statusText, body)));
    });
    xhr.addEventListener("error", () => reject(new ApiError(networkProblem)));
    xhr.addEventListener("abort", () => reject(new DOMException("Upload cancelled", "AbortError")));
    xhr.send(form);
  });
  return { result, abort: () => xhr.abort() };
}

/** True for the rejection of an aborted request, which views ignore. */
export function isAbort(err: unknown): boolean {
  return err instanceof DOMException && err.name === "AbortError";
}
