/**
 * Demo data: three small, real-looking datasets with two or three versions each, generated
 * deterministically (same bytes every run), with the changes people make between uploads —
 * rows added, removed and edited, a column added, a type change — so diffs, statistics and the
 * viewer have something to show at once.
 *
 *   npm run demo                         # starts the server (memory backend) with the demo loaded
 *   DEMO=1 npm start                     # the same, with any other settings
 *   node scripts/demo.ts http://127.0.0.1:3000   # loads it into a running server
 *
 * Loading goes through the public HTTP API, like any client. A dataset whose name already exists
 * (say, a restarted `local` server) is left alone.
 */
import { prng } from "./prng.ts";

type Cell = string | number | boolean | null;

function csv(header: string[], rows: Cell[][]): string {
  const cell = (v: Cell) => {
    if (v === null) return "";
    const s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header.join(","), ...rows.map((r) => r.map(cell).join(","))].join("\n") + "\n";
}

export interface DemoDataset {
  name: string;
  description: string;
  /** File name and CSV text of each version, oldest first. */
  versions: { filename: string; text: string }[];
  /** The key to compare versions by (for the README's examples). */
  key: string;
}

const CITIES: [string, string, number, number, number][] = [
  ["Tokyo", "Japan", 13_960_000, 2194.07, 40],
  ["Delhi", "India", 16_787_941, 1484.0, 216],
  ["Shanghai", "China", 24_870_895, 6340.5, 4],
  ["São Paulo", "Brazil", 12_325_232, 1521.11, 760],
  ["Mexico City", "Mexico", 9_209_944, 1485.0, 2240],
  ["Cairo", "Egypt", 9_539_673, 3085.12, 23],
  ["Mumbai", "India", 12_442_373, 603.4, 14],
  ["Beijing", "China", 21_893_095, 16410.54, 44],
  ["Dhaka", "Bangladesh", 10_278_882, 306.38, 4],
  ["Osaka", "Japan", 2_752_412, 225.21, 12],
  ["New York", "United States", 8_804_190, 783.8, 10],
  ["Karachi", "Pakistan", 14_910_352, 3780.0, 8],
  ["Buenos Aires", "Argentina", 3_121_707, 203.0, 25],
  ["Istanbul", "Turkey", 15_840_900, 5343.0, 39],
  ["Lagos", "Nigeria", 15_388_000, 1171.28, 41],
  ["Kinshasa", "DR Congo", 14_970_460, 9965.0, 240],
  ["Manila", "Philippines", 1_846_513, 42.88, 5],
  ["Rio de Janeiro", "Brazil", 6_747_815, 1200.27, 2],
  ["Paris", "France", 2_102_650, 105.4, 35],
  ["Zürich", "Switzerland", 421_878, 87.88, 408],
];

function cities(): DemoDataset {
  const header = ["city", "country", "population", "area_km2"];
  const v1 = CITIES.slice(0, 18).map(([c, k, p, a]) => [c, k, p, a] as Cell[]);
  // v2: a census update (populations edited), two cities added, one removed
  const v2 = CITIES.filter((_, i) => i !== 9).map(([c, k, p, a], i) => [c, k, i % 4 === 0 ? Math.round(p * 1.031) : p, a] as Cell[]);
  // v3: elevation added; population now in millions with decimals (Int64 → Float64)
  const v3 = CITIES.filter((_, i) => i !== 9).map(([c, k, p, a, e], i) => [c, k, Number(((i % 4 === 0 ? Math.round(p * 1.031) : p) / 1e6).toFixed(3)), a, e] as Cell[]);
  return {
    name: "world-cities",
    description: "Large cities: population and area. v2 is a census update; v3 adds elevation and gives population in millions.",
    key: "city",
    versions: [
      { filename: "world-cities.csv", text: csv(header, v1) },
      { filename: "world-cities.csv", text: csv(header, v2) },
      { filename: "world-cities.csv", text: csv([...header, "elevation_m"], v3) },
    ],
  };
}

const PRODUCTS: [string, number][] = [["Espresso beans 1kg", 18.5], ["Oat milk 1l", 2.39], ["Ceramic mug", 9.9], ["Pour-over kettle", 54.0], ["Paper filters (100)", 4.75], ["Hand grinder", 79.0], ["Tea sampler", 22.0], ["Cold brew bottle", 15.5]];
const CUSTOMERS = ["Acme GmbH", "Blue Fin Café", "Corner Bakery", "Delta Offices", "Élan Studio", "Fernwood Co-op", "Green Table", "Harbor Hotel", "Iris & Co", "Juniper Books"];

function orders(): DemoDataset {
  const r = prng(14);
  type Order = { id: number; date: string; customer: string; product: string; quantity: number; unitPrice: number; status: string };
  const make = (id: number, day: number): Order => {
    const [product, price] = PRODUCTS[Math.floor(r() * PRODUCTS.length)] as [string, number];
    return {
      id,
      date: new Date(Date.UTC(2025, 0, 1 + day)).toISOString().slice(0, 10),
      customer: CUSTOMERS[Math.floor(r() * CUSTOMERS.length)] as string,
      product,
      quantity: 1 + Math.floor(r() * 12),
      unitPrice: price,
      status: r() < 0.7 ? "shipped" : "pending",
    };
  };
  const v1 = Array.from({ length: 240 }, (_, i) => make(1001 + i, Math.floor(i / 8)));
  // v2: a week later — pending orders shipped, two cancelled (removed), new orders
  const cancelled = new Set([1007, 1150]);
  const v2 = v1.filter((o) => !cancelled.has(o.id)).map((o, i) => (o.status === "pending" && i % 3 === 0 ? { ...o, status: "shipped" } : o));
  for (let i = 0; i < 30; i++) v2.push(make(1241 + i, 30 + Math.floor(i / 8)));
  const header = ["order_id", "date", "customer", "product", "quantity", "unit_price", "status"];
  const row = (o: Order): Cell[] => [o.id, o.date, o.customer, o.product, o.quantity, o.unitPrice, o.status];
  // v3: a discount column; one order's quantity corrected
  const v3 = v2.map((o) => (o.id === 1020 ? { ...o, quantity: o.quantity + 1 } : o));
  return {
    name: "coffee-orders",
    description: "Orders of a small coffee supplier. v2: a week later (shipped, cancelled, new orders); v3 adds discounts.",
    key: "order_id",
    versions: [
      { filename: "coffee-orders.csv", text: csv(header, v1.map(row)) },
      { filename: "coffee-orders.csv", text: csv(header, v2.map(row)) },
      { filename: "coffee-orders.csv", text: csv([...header, "discount"], v3.map((o) => [...row(o), o.customer.startsWith("G") || o.quantity >= 10 ? 0.1 : 0])) },
    ],
  };
}

function sensors(): DemoDataset {
  const r = prng(7);
  const header = ["sensor", "time", "temperature_c", "humidity_pct"];
  const rows: Cell[][] = [];
  for (let h = 0; h < 48; h++) {
    for (const sensor of ["greenhouse-1", "greenhouse-2", "cellar"]) {
      const base = sensor === "cellar" ? 12 : 21 + 4 * Math.sin((h / 24) * 2 * Math.PI);
      const missing = sensor === "greenhouse-2" && h >= 30 && h < 33;
      rows.push([sensor, new Date(Date.UTC(2025, 5, 1, h)).toISOString().slice(0, 19), missing ? null : Number((base + r() - 0.5).toFixed(2)), Number((55 + 10 * r()).toFixed(1))]);
    }
  }
  // v2: the gap is back-filled from the logger's memory, and a new day of readings
  const v2 = rows.map((row): Cell[] => (row[2] === null ? [row[0] ?? null, row[1] ?? null, 23.4, row[3] ?? null] : row));
  for (let h = 48; h < 72; h++) {
    for (const sensor of ["greenhouse-1", "greenhouse-2", "cellar"]) {
      const base = sensor === "cellar" ? 12 : 21 + 4 * Math.sin((h / 24) * 2 * Math.PI);
      v2.push([sensor, new Date(Date.UTC(2025, 5, 1, h)).toISOString().slice(0, 19), Number((base + r() - 0.5).toFixed(2)), Number((55 + 10 * r()).toFixed(1))]);
    }
  }
  return {
    name: "greenhouse-sensors",
    description: "Hourly readings of three sensors. v2 back-fills a gap and adds a day.",
    key: "sensor,time",
    versions: [
      { filename: "greenhouse-sensors.csv", text: csv(header, rows) },
      { filename: "greenhouse-sensors.csv", text: csv(header, v2) },
    ],
  };
}

export function demoDatasets(): DemoDataset[] {
  return [cities(), orders(), sensors()];
}

/** Uploads the demo datasets to the server at `baseUrl`; returns the names it created. */
export async function loadDemo(baseUrl: string, headers: Record<string, string> = {}): Promise<string[]> {
  const created: string[] = [];
  for (const d of demoDatasets()) {
    const found = (await (await fetch(`${baseUrl}/api/datasets?name=${encodeURIComponent(d.name)}`, { headers })).json()) as { items: { id: string }[] };
    if (found.items.length > 0) continue;
    let id = "";
    for (const [i, v] of d.versions.entries()) {
      const form = new FormData();
      form.set("file", new Blob([v.text], { type: "text/csv" }), v.filename);
      if (i === 0) {
        form.set("name", d.name);
        form.set("description", d.description);
      }
      const res = await fetch(i === 0 ? `${baseUrl}/api/datasets/upload` : `${baseUrl}/api/datasets/${id}/versions`, { method: "POST", body: form, headers });
      if (res.status !== 201) throw new Error(`demo: uploading ${d.name} v${i + 1} failed with ${res.status}: ${await res.text()}`);
      if (i === 0) id = ((await res.json()) as { dataset: { id: string } }).dataset.id;
      else await res.body?.cancel();
    }
    created.push(d.name);
  }
  return created;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const base = (process.argv[2] ?? "http://127.0.0.1:3000").replace(/\/$/, "");
  const token = process.env.DEMO_TOKEN;
  const names = await loadDemo(base, token ? { Authorization: `Bearer ${token}` } : {});
  console.log(names.length > 0 ? `demo: loaded ${names.join(", ")} into ${base}` : `demo: already loaded in ${base}`);
}
