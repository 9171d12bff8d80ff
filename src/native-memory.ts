/**
 * Gives native memory back to the OS once it is free: a full garbage collection (Polars' buffers
 * are freed only when V8 collects their JS wrappers), then glibc's `malloc_trim(0)`.
 *
 * Why trimming, measured in one server process (scripts/soak.ts --trim, 2 minutes of 4 clients,
 * then every dataset deleted): the API process's anonymous memory stayed ~10–19 MB above where it
 * was after its first upload, and `malloc_trim(0)` brought it below that at once — the memory was
 * free, kept by glibc in the middle of its heaps, where freeing at the top (`trim_threshold`) never
 * reaches. Fixing the mmap threshold (GLIBC_TUNABLES glibc.malloc.mmap_threshold / trim_threshold)
 * did not change it (Polars' frees are many mid-sized chunks, not big buffers). Only
 * `malloc_trim` gives back free pages in the middle of an arena; it is called through ffi-rs (a
 * prebuilt Node-API FFI) so that it works however the process was started, with no environment
 * variable to forget. Where glibc or the FFI is missing (musl, macOS), trimming is skipped.
 */
import { createRequire } from "node:module";
import v8 from "node:v8";
import vm from "node:vm";

/** A full garbage collection, when the runtime lets us expose it (it does on Node ≥ 20). */
export const collectGarbage: (() => void) | null = (() => {
  try {
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as unknown;
    return typeof gc === "function" ? (gc as () => void) : null;
  } catch {
    return null;
  }
})();

/** Node runs Node-API finalizers (which free Polars' buffers) from the event loop after a collection. */
const FINALIZER_WAIT_MS = 50;

let trim: (() => boolean) | null | undefined;
/** Resident bytes right after the last trim. */
let trimmedAt = 0;

function loadTrim(): (() => boolean) | null {
  if (process.platform !== "linux") return null;
  try {
    const ffi = createRequire(import.meta.url)("ffi-rs") as typeof import("ffi-rs");
    ffi.open({ library: "libc", path: "libc.so.6" });
    const call = () => ffi.load({ library: "libc", funcName: "malloc_trim", retType: ffi.DataType.I32, paramsType: [ffi.DataType.I64], paramsValue: [0] }) === 1;
    call(); // a libc without it throws here, once
    return call;
  } catch {
    return null;
  }
}

/**
 * Returns the C heap's free pages to the OS (`malloc_trim(0)`, every arena). True when memory was
 * given back; false when there was none or trimming is not available here. Takes well under a
 * millisecond on an idle heap, a few on a fragmented one.
 */
export function trimNativeHeap(): boolean {
  trim ??= loadTrim();
  if (!trim) return false;
  const gaveBack = trim();
  trimmedAt = process.memoryUsage.rss();
  return gaveBack;
}

/** Whether trimming works in this process (glibc and the FFI present). */
export function canTrimNativeHeap(): boolean {
  trim ??= loadTrim();
  return trim !== null;
}

const RELEASE_DELAY_MS = 250;
/** A full collection pauses the event loop (~10–30 ms at 50 MB of heap): at most one per second. */
const MIN_GAP_MS = 1000;
let lastRelease = 0;
let pending: NodeJS.Timeout | null = null;

/**
 * A full collection, then, once the finalizers it queued have run (Node runs Node-API finalizers
 * after the collection, from the event loop), a trim.
 */
export async function releaseNativeMemory(): Promise<void> {
  lastRelease = Date.now();
  collectGarbage?.();
  await new Promise((resolve) => setTimeout(resolve, FINALIZER_WAIT_MS));
  trimNativeHeap();
}

/**
 * Asks for `releaseNativeMemory` soon: after deletes (and once the last reader of a deleted
 * version is done: until then its frame is still referenced), commits and refused uploads.
 * Debounced, at most one per MIN_GAP_MS; never keeps the process alive.
 */
export function releaseSoon(): void {
  if (pending) return;
  const delay = Math.max(RELEASE_DELAY_MS, lastRelease + MIN_GAP_MS - Date.now());
  pending = setTimeout(() => {
    pending = null;
    void releaseNativeMemory();
  }, delay);
  pending.unref();
}

/** Milliseconds since the last release (Infinity when none ran yet). */
export function sinceLastRelease(): number {
  return lastRelease === 0 ? Infinity : Date.now() - lastRelease;
}

let watch: NodeJS.Timeout | undefined;
/**
 * From now on, checks the resident memory every `intervalMs` and, when it grew by more than
 * `slackBytes` since the last trim, asks for a release (collection + trim). Page loads, downloads,
 * cold scans and background loads of versions deleted meanwhile all leave native memory that only
 * a collection frees (V8 does not see it, so it does not collect for it) or that glibc keeps; this
 * catches every source without a call at each. Idempotent; never keeps the process alive.
 */
export function keepTrimmed(intervalMs = 5000, slackBytes = 4 * 1024 * 1024): void {
  if (watch || !canTrimNativeHeap()) return;
  trimmedAt = process.memoryUsage.rss();
  watch = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > trimmedAt + slackBytes) releaseSoon();
    else if (rss < trimmedAt) trimmedAt = rss;
  }, intervalMs);
  watch.unref();
}
