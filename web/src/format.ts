/** Formatting of numbers, sizes, dates and dtypes for display. */

const intFmt = new Intl.NumberFormat("en-US");

/** 12345 → "12,345". */
export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? "—" : intFmt.format(n);
}

/** A statistic: integers grouped, others to 4 significant digits, huge/tiny in exponent form. */
export function num(n: number | string | null | undefined): string {
  if (n === null || n === undefined) return "—";
  if (typeof n === "string") return n; // integers past 2^53 arrive as strings, exactly
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a !== 0 && (a >= 1e15 || a < 1e-4)) return n.toExponential(3);
  if (Number.isInteger(n)) return intFmt.format(n);
  // Above 1000 keep two decimals (money-like); below, four significant digits are plenty to read.
  if (a >= 1000) return new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 }).format(n);
  return new Intl.NumberFormat("en-US", { maximumSignificantDigits: 4 }).format(n);
}

/** Short axis label: 1200 → "1.2k", 0.000123 → "1.23e-4". */
export function short(n: number): string {
  const a = Math.abs(n);
  if (a === 0) return "0";
  if (a < 1e-3 || a >= 1e15) return n.toExponential(1);
  return new Intl.NumberFormat("en-US", { notation: "compact", maximumSignificantDigits: 3 }).format(n);
}

/** Bytes as B/KB/MB/GB (powers of 1024, as people read file sizes). */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${units[i]}`;
}

const dateTimeFmt = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "short" });

/** ISO timestamp → "22 Nov 2025, 03:16" in the viewer's time zone. */
export function dateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : dateTimeFmt.format(d);
}

/** ISO timestamp → "3 minutes ago" (title attributes carry the exact time). */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "—";
  const t = new Date(iso).getTime();
  if (Number.isNaN(t)) return iso;
  const sec = Math.round((now - t) / 1000);
  if (sec < 45) return "just now";
  const rtf = new Intl.RelativeTimeFormat("en", { numeric: "auto" });
  const steps: [number, Intl.RelativeTimeFormatUnit][] = [[60, "minute"], [3600, "hour"], [86400, "day"], [2592000, "month"], [31536000, "year"]];
  let unit: Intl.RelativeTimeFormatUnit = "minute";
  let size = 60;
  for (const [secs, u] of steps) if (sec >= secs) [size, unit] = [secs, u];
  return rtf.format(-Math.round(sec / size), unit);
}

/** Integer and float dtypes (Int64, UInt8, Float32, Decimal…) — right-aligned, summarised numerically. */
export function isNumeric(dtype: string): boolean {
  return /^(U?Int\d+|Float\d+|Decimal)/i.test(dtype);
}

/** Date, Datetime(…), Time and Duration dtypes. */
export function isTemporal(dtype: string): boolean {
  return /^(Date|Datetime|Time|Duration)/i.test(dtype);
}

export function isString(dtype: string): boolean {
  return /^(String|Utf8|Categorical|Enum)/i.test(dtype);
}

export function isBoolean(dtype: string): boolean {
  return /^Bool/i.test(dtype);
}

/** "report.csv"'s format, upper-cased for a badge. */
export function formatLabel(format: string | null | undefined): string {
  return (format ?? "?").toUpperCase();
}

/** "1 row" / "2 rows". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}
