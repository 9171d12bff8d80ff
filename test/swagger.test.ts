/**
 * Swagger UI's "Try it out" at /docs, driven in Debian's headless Chromium as a person would use it:
 * upload a file with the form as Swagger fills it in, then read its rows, statistics and a
 * download with only the dataset id typed in. Screenshots land in test-artifacts/swagger/.
 * Skips when /usr/bin/chromium is absent (`apt-get install chromium`).
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "./helpers/server.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
const SHOTS = path.resolve(import.meta.dirname, "..", "test-artifacts", "swagger");
if (!hasChromium) console.warn(`swagger.test.ts skipped: ${CHROMIUM} not found`);

/** Opens an operation, presses "Try it out", lets `fill` fill it, executes; returns its status and body text. */
async function tryItOut(page: Page, tag: string, operationId: string, shot: string, fill: (op: Locator) => Promise<void> = async () => {}): Promise<{ status: number; body: string; op: Locator }> {
  const op = page.locator(`#operations-${tag}-${operationId}`);
  await op.locator(".opblock-summary").first().click();
  await op.getByRole("button", { name: "Try it out" }).click();
  await fill(op);
  await op.locator(".opblock-section").first().scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(SHOTS, shot.replace(".png", "-form.png")) });
  await op.getByRole("button", { name: "Execute" }).click();
  const live = op.locator(".live-responses-table").first();
  const status = live.locator(".response .response-col_status").first();
  await status.waitFor({ timeout: 30_000 });
  // What a person sees after Execute: the request URL, the status and the body.
  await op.locator(".request-url").first().scrollIntoViewIfNeeded();
  await page.screenshot({ path: path.join(SHOTS, shot) });
  const highlighted = live.locator(".response-col_description .microlight");
  const body = (await highlighted.count()) > 0 ? ((await highlighted.first().textContent()) ?? "") : "";
  return { status: Number((await status.textContent())?.trim()), body, op };
}

describe.skipIf(!hasChromium)("Swagger UI Try it out", () => {
  let server: TestServer;
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    await mkdir(SHOTS, { recursive: true });
    dir = await mkdtemp(path.join(os.tmpdir(), "ds-swagger-"));
    await writeFile(path.join(dir, "cities.csv"), "id,city,population\n1,Lisbon,545796\n2,Porto,231800\n3,Braga,193333\n");
    server = await startServer("memory");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"] });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("works for upload, data, stats and download as the page fills them in", { timeout: 120_000 }, async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(`${server.url}/docs/`);
    await page.locator("#operations-datasets-uploadDataset").waitFor();
    await page.screenshot({ path: path.join(SHOTS, "01-docs.png") });

    // Upload: only the file is chosen; every other field is as Swagger UI pre-fills it.
    const up = await tryItOut(page, "datasets", "uploadDataset", "02-upload.png", async (op) => {
      const prefilled = await op.locator("input[type=text]").evaluateAll((els) => els.map((e) => (e as unknown as { value: string }).value));
      expect(prefilled.every((v) => v === ""), JSON.stringify(prefilled)).toBe(true);
      await op.locator("input[type=file]").setInputFiles(path.join(dir, "cities.csv"));
    });
    expect(up.status, up.body).toBe(201);
    const created = JSON.parse(up.body);
    expect(created.dataset.name).toBe("cities");
    expect(created.version).toMatchObject({ rowCount: 3, columnCount: 3 });
    const id = created.dataset.id as string;

    const typeId = async (op: Locator) => {
      await op.locator("input[placeholder=datasetId]").fill(id);
      expect(await op.locator("input[placeholder=version]").inputValue()).toBe("latest");
    };
    const data = await tryItOut(page, "data", "getData", "03-data.png", async (op) => {
      await typeId(op);
      // Nothing else is pre-filled but the row shape: a pasted cursor must not meet a stray offset.
      expect(await op.locator("input[placeholder=offset]").inputValue()).toBe("");
      await op.locator("input[placeholder=limit]").fill("2");
    });
    expect(data.status, data.body).toBe(200);
    const first = JSON.parse(data.body);
    expect(first).toMatchObject({ totalRows: 3, rows: [{ id: 1, city: "Lisbon", population: 545796 }, { id: 2 }], next: expect.any(String) });
    // The next page: paste `next` into cursor, clear limit, execute again.
    await data.op.locator("input[placeholder=cursor]").fill(first.next);
    await data.op.locator("input[placeholder=limit]").fill("");
    await data.op.getByRole("button", { name: "Execute" }).click();
    await expect.poll(async () => (await data.op.locator(".live-responses-table .response-col_description .microlight").first().textContent()) ?? "").toContain('"offset": 2');
    const second = JSON.parse((await data.op.locator(".live-responses-table .response-col_description .microlight").first().textContent()) ?? "");
    expect(second).toMatchObject({ offset: 2, rows: [{ id: 3, city: "Braga" }], next: null });
    await page.screenshot({ path: path.join(SHOTS, "03-data-next-page.png") });

    const stats = await tryItOut(page, "data", "getStats", "04-stats.png", typeId);
    expect(stats.status, stats.body).toBe(200);
    expect(JSON.parse(stats.body).columns.find((c: any) => c.name === "population")).toMatchObject({ min: 193333, max: 545796 });

    const download = await tryItOut(page, "data", "downloadVersion", "05-download.png", typeId);
    expect(download.status).toBe(200);
    await expect.poll(() => download.op.getByText("Download file").count()).toBeGreaterThan(0);
    expect(errors).toEqual([]);
  });
});
