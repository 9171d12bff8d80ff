/**
 * `node bench/profile.ts <file.cpuprofile> [top]` prints the functions with the most self time
 * in a V8 CPU profile (as written by `node --cpu-prof`, e.g. `npm run bench -- --profile`).
 */
import { readFileSync } from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function frameName(f: ProfileNode["callFrame"]): string {
  const where = f.url ? `${f.url.replace(/^.*\/(node_modules|src|bench)\//, "$1/")}:${f.lineNumber + 1}` : "native";
  return `${f.functionName || "(anonymous)"} ${where}`;
}

/** Inclusive time per function (ms: samples with it anywhere on the stack, counted once), largest first. */
export function inclusive(profile: CpuProfile): { name: string; ms: number }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const total = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const node = byId.get(n);
      if (node) seen.add(frameName(node.callFrame));
    }
    for (const k of seen) total.set(k, (total.get(k) ?? 0) + dt);
  });
  return [...total.entries()].map(([name, ms]) => ({ name, ms })).sort((a, b) => b.ms - a.ms);
}

/** Self time per function (ms), largest first. */
export function hotSpots(profile: CpuProfile): { name: string; ms: number; share: number }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const node = byId.get(id);
    const dt = (profile.timeDeltas[i] ?? 0) / 1000;
    total += dt;
    if (!node) return;
    const f = node.callFrame;
    const where = f.url ? `${f.url.replace(/^.*\/(node_modules|src|bench)\//, "$1/")}:${f.lineNumber + 1}` : "native";
    const key = `${f.functionName || "(anonymous)"} ${where}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  return [...self.entries()]
    .map(([name, ms]) => ({ name, ms, share: total > 0 ? ms / total : 0 }))
    .sort((a, b) => b.ms - a.ms);
}

if (import.meta.main) {
  const [file, top = "25"] = process.argv.slice(2);
  if (!file) throw new Error("usage: node bench/profile.ts <file.cpuprofile> [top]");
  const spots = hotSpots(JSON.parse(readFileSync(file, "utf8")) as CpuProfile).slice(0, Number(top));
  for (const s of spots) console.log(`${(s.share * 100).toFixed(1).padStart(5)}%  ${s.ms.toFixed(0).padStart(7)} ms  ${s.name}`);
}
