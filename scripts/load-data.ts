/**
 * What the memory scripts (soak.ts, memory-cycles.ts) share: the CSV their cycles upload, from a
 * deterministic generator (the same seed sends the same bytes), and numbers read from /proc.
 */
import { readFileSync } from "node:fs";

/** Deterministic pseudo-random numbers in [0, 1) (xorshift32), so two runs send the same load. */
export function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** `rows` rows of id, name, price, qty, day, flag drawn from `rand`. */
export function cycleCsv(rows: number, rand: () => number): string {
  const lines = ["id,name,price,qty,day,flag"];
  for (let i = 0; i < rows; i++) {
    lines.push(`${i},name-${Math.floor(rand() * 5000)},${(rand() * 1000).toFixed(3)},${Math.floor(rand() * 100)},2024-${String(1 + Math.floor(rand() * 12)).padStart(2, "0")}-${String(1 + Math.floor(rand() * 28)).padStart(2, "0")},${rand() < 0.5}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The number after `field:` in /proc/<pid>/<file> (kB for memory fields), 0 when the process is gone. */
export function procNumber(pid: number, file: string, field: string): number {
  try {
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/${file}`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}
