/**
 * The viewer's only door to the service: relative `/api/...` URLs, a bearer token from
 * localStorage when one is saved, and problem+json errors turned into `ApiError`.
 */
import type { Problem } from "./types.ts";

const TOKEN_KEY = "dataset-service.token";

/** An API call that did not succeed; `problem` is what the server said (or a stand-in). */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  constructor(problem: Problem) {
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

/** Builds a Problem from a failed response whatever its body is (a proxy may send HTML). */
function toProblem(status: number, statusText: string, contentType: string, body: string): Problem {
  if (contentType.includes("json")) {
    try {
      const parsed = JSON.parse(body) as Partial<Problem>;
      if (parsed && typeof parsed === "object") {
        return { ...parsed, title: parsed.title ?? (statusText || `HTTP ${status}`), status: parsed.status ?? status };
      }
    } catch {
      /* fall through to the plain-text stand-in */
    }
  }
  const text = body.replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim().slice(0, 300);
  return { title: statusText || `HTTP ${status}`, status, detail: text || undefined };
}

function notify(status: number): void {
  if (status === 401) for (const l of unauthorizedListeners) l(getToken() !== null);
}

const networkProblem: Problem = {
  title: "Cannot reach the service",
  status: 0,
  detail: "The request did not get an answer. Check that the server is running and try again.",
};

/** GETs (or sends) JSON; rejects with ApiError on any non-2xx answer. */
export async function requestJson<T>(path: string, init: RequestInit = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { ...init, headers: { Accept: "application/json", ...authHeaders(), ...init.headers } });
  } catch (err) {
    if (err instanceof DOMException && err.name === "AbortError") throw err;
    throw new ApiError(networkProblem);
  }
  if (!res.ok) {
    notify(res.status);
    const body = await res.text().catch(() => "");
    throw new ApiError(toProblem(res.status, res.statusText, res.headers.get("content-type") ?? "", body));
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** `path?query` with empty parameters left out. */
export function withQuery(path: string, params: Record<string, string | number | undefined> | URLSearchParams): string {
  const q = params instanceof URLSearchParams ? params : new URLSearchParams();
  if (!(params instanceof URLSearchParams)) {
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
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
      reject(new ApiError(toProblem(xhr.status, xhr.statusText, xhr.getResponseHeader("content-type") ?? "", xhr.responseText)));
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
