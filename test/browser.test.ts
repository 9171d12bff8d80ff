/**
 * The web viewer end to end in headless Chromium (Debian's package, driven by playwright-core):
 * upload through the page, see the row count, page forward, sort, open statistics and find a
 * histogram. Screenshots go to test-artifacts/ (git-ignored). Skips when Chromium or the built
 * viewer (npm run build:web, run by `npm test`) is missing.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getJson, startServer, type TestServer } from "./helpers/server.ts";

const CHROMIUM = "/usr/bin/chromium";
const ROOT = path.resolve(import.meta.dirname, "..");
const BUILT = existsSync(path.join(ROOT, "web", "dist", "index.html"));
const ARTIFACTS = path.join(ROOT, "test-artifacts");
const ready = existsSync(CHROMIUM) && BUILT;
if (!ready) console.warn(`browser test skipped: ${existsSync(CHROMIUM) ? "web/dist is not built (npm run build:web)" : `${CHROMIUM} is not installed (apt-get install chromium)`}`);

describe.skipIf(!ready)("web viewer in headless Chromium", () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let dir: string;

  beforeAll(async () => {
    server = await startServer("memory");
    dir = await mkdtemp(path.join(os.tmpdir(), "ds-browser-"));
    await mkdir(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const shot = (name: string) => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  it("uploads a file, pages, sorts and shows statistics with a histogram", async () => {
    const rows = Array.from({ length: 230 }, (_, i) => `${i + 1},item-${(i * 7) % 40},${((i * 37) % 1000) / 10},${i % 3 === 0}`);
    const csv = path.join(dir, "orders.csv");
    await writeFile(csv, `id,product,price,paid\n${rows.join("\n")}\n`);

    await page.goto(`${server.url}/`);
    await shot("01-home");
    await page.setInputFiles('input[type="file"]', csv);
    const created = page.waitForResponse((r) => r.url().endsWith("/api/datasets/upload") && r.request().method() === "POST");
    await page.locator('button[type="submit"]').first().click();
    expect((await created).status()).toBe(201);

    const list = await getJson(`${server.url}/api/datasets?name=orders`);
    expect(list.body.total).toBe(1);
    const id = list.body.items[0].id as string;
    await page.goto(`${server.url}/#/datasets/${id}/versions/1`);
    await page.getByText("230", { exact: true }).first().waitFor();
    await shot("02-version");
    const firstCell = () => page.locator("tbody tr").first().locator("td").nth(1).innerText();
    expect((await firstCell()).trim()).toBe("1");

    await page.getByRole("button", { name: /Next/ }).click();
    await page.waitForFunction(() => (globalThis as unknown as { document: { querySelector(s: string): { textContent: string | null } | null } }).document.querySelector("tbody tr td:nth-child(2)")?.textContent?.trim() !== "1");
    const afterNext = Number((await firstCell()).trim());
    expect(afterNext).toBeGreaterThan(1);
    await shot("03-next-page");

    // Sort by id descending: click the header until the first row is the largest id.
    const header = page.locator("thead th button.sort").first();
    for (let i = 0; i < 3 && (await firstCell()).trim() !== "230"; i++) {
      await header.click();
      await page.waitForTimeout(300);
    }
    expect((await firstCell()).trim()).toBe("230");
    await shot("04-sorted");

    await page.getByRole("tab", { name: /Statistics/ }).click();
    await page.locator("svg rect").first().waitFor();
    expect(await page.locator("svg").count()).toBeGreaterThan(0);
    await shot("05-stats");
  });
});
