/**
 * The web viewer end to end: the real server (memory backend) serving web/dist, driven by
 * Debian's headless Chromium through playwright-core. Every task the viewer offers is done here as a
 * person would, and its effect is checked against the API (or the downloaded file, or the copied
 * command run for real). Screenshots land in test-artifacts/browser/ for a person to look at.
 * Skips when /usr/bin/chromium is absent (`apt-get install chromium`).
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { getJson, startServer, upload, type TestServer } from "./helpers/server.ts";

// Asynchronous: the server runs in this process, so a synchronous child would wait on it forever.
const run = promisify(execFile);
const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
const hasRequests = spawnSync("python3", ["-c", "import requests"], { stdio: "ignore" }).status === 0;
const ROOT = path.resolve(import.meta.dirname, "..");
const WEB_DIST = path.join(ROOT, "web", "dist", "index.html");
const SHOTS = path.join(ROOT, "test-artifacts", "browser");
if (!hasChromium) console.warn(`browser.test.ts skipped: ${CHROMIUM} not found (install Debian's chromium package to run it)`);

const ROWS = 230;
const CITIES = ["Lisbon", "Porto", "Berlin", "Oslo", "Paris"];

interface Row {
  id: number;
  name: string | null;
  city: string;
  score: number;
  joined: string;
  seen: string;
}

/** A CSV whose values the assertions can predict: ids in file order, one unique maximum score, some null names. */
function makeCsv(): { csv: string; rows: Row[] } {
  const rows: Row[] = [];
  for (let i = 1; i <= ROWS; i++) {
    const score = i === 77 ? 999.5 : ((i * 37) % 500) / 4;
    const name = i % 9 === 0 ? null : `person ${i}${i % 10 === 3 ? " with a name long enough to be cut off in the table cell" : ""}`;
    const seen = `2024-03-${String((i % 28) + 1).padStart(2, "0")} ${String(i % 24).padStart(2, "0")}:${String(i % 60).padStart(2, "0")}:07`;
    rows.push({ id: i, name, city: CITIES[i % CITIES.length]!, score, joined: `2024-${String((i % 12) + 1).padStart(2, "0")}-15`, seen });
  }
  const lines = ["id,name,city,score,joined,seen", ...rows.map((r) => [r.id, r.name ?? "", r.city, r.score, r.joined, r.seen].join(","))];
  return { csv: `${lines.join("\n")}\n`, rows };
}

async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** Text of the cell in `column` of the first data row (column 0 is the row number). */
async function firstCell(page: Page, column: number): Promise<string> {
  return (await page.locator(".data-table tbody tr").first().locator("td").nth(column).textContent()) ?? "";
}

const summary = (page: Page, text: string) => page.locator(".table-summary", { hasText: text }).waitFor();

describe.skipIf(!hasChromium)("web viewer in headless Chromium", () => {
  let server: TestServer;
  let browser: Browser;
  let dir: string;
  let fixture: ReturnType<typeof makeCsv>;
  let csvPath: string;
  let page: Page;
  let datasetId = "";
  let compareId = "";
  const pageErrors: string[] = [];
  const shot = (name: string, fullPage = false) => page.screenshot({ path: path.join(SHOTS, name), fullPage });
  const count = (pred: (r: Row) => boolean) => fixture.rows.filter(pred).length;

  beforeAll(async () => {
    if (!existsSync(WEB_DIST)) {
      // `npm test` builds the viewer first (pretest); a direct vitest run may not have.
      const { build } = await import("vite");
      await build({ configFile: path.join(ROOT, "web", "vite.config.ts"), logLevel: "warn" });
    }
    await mkdir(SHOTS, { recursive: true });
    dir = await mkdtemp(path.join(os.tmpdir(), "ds-browser-"));
    fixture = makeCsv();
    csvPath = path.join(dir, "people.csv");
    await writeFile(csvPath, fixture.csv);
    server = await startServer("memory");
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    page.on("pageerror", (err) => pageErrors.push(err.message));
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("previews a file before upload (types, counterexamples, first rows), uploads it, pages and sorts", { timeout: 120_000 }, async () => {
    await page.goto(`${server.url}/`);
    await page.getByText("No datasets yet").waitFor();
    await shot("01-home-empty.png");
    // The picker offers what the server reads, and not .gz (which it refuses).
    const accept = (await page.locator(".upload-card input[type=file]").getAttribute("accept")) ?? "";
    expect(accept.split(",")).toEqual(expect.arrayContaining([".csv", ".tsv", ".xlsx", ".xlsm", ".xls", ".parquet"]));
    expect(accept).not.toContain("gz");

    await page.setInputFiles(".upload-card input[type=file]", csvPath);
    await page.locator(".inspect .inspect-rows", { hasText: `${ROWS} rows` }).waitFor();
    expect(await page.locator(".inspect-columns tr[data-column=score] .badge").textContent()).toBe("Float64");
    expect(await page.locator(".inspect-columns tr[data-column=seen] .badge").textContent()).toMatch(/^Datetime/);
    expect(await page.locator(".inspect-preview tbody tr").count()).toBe(20);
    // Forcing a type in the preview re-reads the file with schema= and shows the result.
    await page.getByLabel("Type of id").selectOption("String");
    await page.locator(".inspect-columns tr[data-column=id] .badge", { hasText: "String" }).waitFor();
    await page.getByLabel("Type of id").selectOption("");
    await page.locator(".inspect-columns tr[data-column=id] .badge", { hasText: "Int64" }).waitFor();
    await page.fill("input[name=name]", "People");
    await page.fill("input[name=description]", "Generated by the browser test");
    await shot("02-inspect-preview.png", true);
    await page.getByRole("button", { name: "Upload", exact: true }).click();

    // After the 201 the page opens the new version.
    await page.waitForURL(/#\/datasets\/[^/]+\/versions\/1$/);
    datasetId = /datasets\/([^/]+)\//.exec(page.url())![1]!;
    await page.locator(".row-count").waitFor();
    expect(await page.locator(".row-count").textContent()).toBe(String(ROWS));
    await summary(page, `Rows 1–50 of ${ROWS}`);
    expect(await firstCell(page, 1)).toBe("1");
    // Headers: the type and a sparkline of the distribution (histogram bars, top-value bar).
    await page.locator("th[data-column=score] svg.spark rect").first().waitFor();
    expect(await page.locator("th[data-column=score] svg.spark rect.spark-bar").count()).toBeGreaterThan(5);
    expect(await page.locator("th[data-column=city] svg.spark rect.spark-seg").count()).toBeGreaterThan(1);
    expect(await page.locator("th[data-column=name] svg.spark rect.nulls").count()).toBe(1);
    expect(await page.locator("th[data-column=score] .dtype").textContent()).toBe("Float64");
    // Nulls stand out.
    await page.getByRole("button", { name: "Next ›" }).click();
    await summary(page, `Rows 51–100 of ${ROWS}`);
    expect(page.url()).toContain("page=2");
    expect(await firstCell(page, 1)).toBe("51");
    expect(await page.locator(".page-label").textContent()).toBe("Page 2 of 5");
    expect(await page.locator(".data-table tbody tr", { hasText: /^54/ }).locator(".null-pill").count()).toBe(1);
    await shot("03-version-page-2.png");

    // First click sorts ascending, the second descending; either goes back to the first page.
    const scoreSort = page.locator("th[data-column=score] button.sort");
    await scoreSort.click();
    await page.locator("th[aria-sort=ascending]").waitFor();
    await scoreSort.click();
    await page.locator("th[aria-sort=descending]").waitFor();
    // aria-sort changes at the click, the rows when the sorted page arrives: wait for the rows
    await expect.poll(() => firstCell(page, 1), { timeout: 20_000 }).toBe("77");
    await page.locator(".data-table tbody tr", { hasText: "999.5" }).first().waitFor();
    await summary(page, `Rows 1–50 of ${ROWS}`);
    expect(page.url()).toContain("sort=-score");
    expect(page.url()).not.toContain("page=");
    await shot("04-sorted-desc.png");
  });

  it("filters with every operator kind, keeps the view in the URL (reload, back, forward, a shared link)", { timeout: 120_000 }, async () => {
    // Text filters ignore case by default: "lisb" finds Lisbon.
    await page.getByLabel("Filter city", { exact: true }).fill("lisb");
    await page.getByLabel("Filter city", { exact: true }).press("Enter");
    const lisbon = count((r) => r.city === "Lisbon");
    await summary(page, `of ${lisbon} matching the filter`);
    expect(await firstCell(page, 3)).toBe("Lisbon");
    expect(decodeURIComponent(page.url())).toContain("filter=city:icontains:lisb");
    await page.locator(".chip", { hasText: "city contains lisb" }).waitFor();

    // Ranges: "between" is gte + lte on one column.
    await page.getByLabel("Filter operator for score").selectOption("between");
    await page.getByLabel("Filter score", { exact: true }).fill("10..50");
    await page.getByLabel("Filter score", { exact: true }).press("Enter");
    const ranged = count((r) => r.city === "Lisbon" && r.score >= 10 && r.score <= 50);
    await summary(page, `of ${ranged} matching 2 filters`);
    expect(decodeURIComponent(page.url())).toContain("filter=score:gte:10&filter=score:lte:50");
    await shot("05-filtered-range.png");

    // Reload: the same rows, sort and filters.
    await page.reload();
    await summary(page, `of ${ranged} matching 2 filters`);
    expect(await page.locator("th[data-column=score]").getAttribute("aria-sort")).toBe("descending");
    expect(await page.getByLabel("Filter score", { exact: true }).inputValue()).toBe("10..50");
    expect(await page.getByLabel("Filter operator for score").inputValue()).toBe("between");
    // Back: the city filter alone; forward: both again.
    await page.goBack();
    await summary(page, `of ${lisbon} matching the filter`);
    await page.goForward();
    await summary(page, `of ${ranged} matching 2 filters`);
    // A shared link opened in a fresh page shows the same view.
    const shared = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await shared.goto(page.url());
    await summary(shared, `of ${ranged} matching 2 filters`);
    await shared.close();

    // in, is null, is not null, comparisons on dates.
    await page.getByRole("button", { name: "Clear filters" }).first().click();
    await summary(page, `Rows 1–50 of ${ROWS}`);
    await page.getByLabel("Filter operator for city").selectOption("in");
    await page.getByLabel("Filter city", { exact: true }).fill("Oslo|Paris");
    await page.getByLabel("Filter city", { exact: true }).press("Enter");
    await summary(page, `of ${count((r) => r.city === "Oslo" || r.city === "Paris")} matching the filter`);
    await page.getByRole("button", { name: "Clear filters" }).first().click();
    await page.getByLabel("Filter operator for name").selectOption("isnull");
    const nulls = count((r) => r.name === null);
    await summary(page, `of ${nulls} matching the filter`);
    expect(await page.locator(".data-table tbody .null-pill").count()).toBe(nulls);
    await shot("06-filter-isnull.png");
    await page.getByLabel("Filter operator for name").selectOption("notnull");
    await summary(page, `of ${ROWS - nulls} matching the filter`);
    await page.getByRole("button", { name: "Clear filters" }).first().click();
    await page.getByLabel("Filter operator for joined").selectOption("lt");
    await page.getByLabel("Filter joined", { exact: true }).fill("2024-03-01");
    await page.getByLabel("Filter joined", { exact: true }).press("Enter");
    await summary(page, `of ${count((r) => r.joined < "2024-03-01")} matching the filter`);
    await page.getByRole("button", { name: "Clear filters" }).first().click();
    // Case matters only when asked for.
    await page.getByLabel("Filter operator for city").selectOption({ value: "contains" });
    await page.getByLabel("Filter city", { exact: true }).fill("lisb");
    await page.getByLabel("Filter city", { exact: true }).press("Enter");
    await page.getByText("No rows match these filters").waitFor();
    await page.getByRole("button", { name: "Clear filters" }).first().click();

    // A value that is not an integer is the server's 400, shown as a readable banner.
    await page.getByLabel("Filter id", { exact: true }).fill("abc");
    await page.getByLabel("Filter id", { exact: true }).press("Enter");
    await page.locator(".table-banner .banner-error").waitFor();
    expect(await page.locator(".table-banner .banner-error").textContent()).toContain("id");
    await shot("07-bad-filter.png");
    await page.getByRole("button", { name: "Clear filters" }).first().click();
    await summary(page, `Rows 1–50 of ${ROWS}`);
  });

  it("searches text columns and shows facet counts beside the table; a facet value filters", { timeout: 60_000 }, async () => {
    await page.getByLabel("Search text columns").fill("PERSON 1");
    await page.getByLabel("Search text columns").press("Enter");
    const hits = fixture.rows.filter((r) => (r.name ?? "").toLowerCase().includes("person 1") || r.city.toLowerCase().includes("person 1"));
    await summary(page, `of ${hits.length} matching the search`);
    expect(decodeURIComponent(page.url())).toContain("q=PERSON 1".replace(" ", "+"));
    // Facets count the same rows: every city of the hits, with its count.
    const oslo = hits.filter((r) => r.city === "Oslo").length;
    await page.locator(".facets-title", { hasText: `of ${hits.length} rows` }).waitFor();
    expect(await page.locator(".facet[data-column=city] .facet-value", { hasText: "Oslo" }).locator(".facet-count").textContent()).toBe(String(oslo));
    // Beside the table and inside its card: every count is in view, long values are cut inside their button.
    const card = (await page.locator(".data-view").first().boundingBox())!;
    const counts = await page.locator(".facet-count").evaluateAll((els) => els.map((e) => e.getBoundingClientRect().right));
    expect(counts.length).toBeGreaterThan(5);
    for (const right of counts) expect(right).toBeLessThanOrEqual(card.x + card.width);
    await shot("08-search-facets.png");
    await page.locator(".facet[data-column=city] .facet-value", { hasText: "Oslo" }).click();
    await summary(page, `of ${oslo} matching 2 filters`);
    expect(decodeURIComponent(page.url())).toContain("filter=city:eq:Oslo");
    await page.getByRole("button", { name: "Clear filters" }).first().click();
    await summary(page, `Rows 1–50 of ${ROWS}`);
    expect(await page.getByLabel("Search text columns").inputValue()).toBe("");
  });

  it("copies the request behind the view as curl and as Python, and both give the same rows", { timeout: 60_000 }, async () => {
    await page.getByLabel("Filter city", { exact: true }).fill("Porto");
    await page.getByLabel("Filter city", { exact: true }).press("Enter");
    const porto = count((r) => r.city === "Porto");
    await summary(page, `of ${porto} matching the filter`);
    const toolbar = page.locator(".data-view .table-toolbar");
    await toolbar.locator(".toolbar-actions > .api-menu > summary").click();
    await toolbar.locator(".toolbar-actions > .api-menu").getByRole("button", { name: "Copy as curl" }).click();
    const curl = (await toolbar.locator(".toolbar-actions > .api-menu pre.snippet").textContent())!;
    expect(curl).toContain("filter=city:icontains:Porto");
    await shot("09-copy-as-curl.png");
    const fromCurl = JSON.parse((await run("bash", ["-c", curl], { encoding: "utf8" })).stdout);
    expect(fromCurl.totalRows).toBe(porto);
    expect(fromCurl.rows[0].id).toBe(Number(await firstCell(page, 1)));
    await toolbar.locator(".toolbar-actions > .api-menu").getByRole("button", { name: "Copy as Python" }).click();
    const python = (await toolbar.locator(".toolbar-actions > .api-menu pre.snippet[data-kind=python]").textContent())!;
    expect(python).toContain("requests.get(");
    if (hasRequests) {
      const { stdout: out } = await run("python3", ["-c", python.replace("print(r.json())", "import json; print(json.dumps(r.json()))")], { encoding: "utf8" });
      expect(JSON.parse(out).totalRows).toBe(porto);
    }
    await toolbar.locator(".toolbar-actions > .api-menu > summary").click();
  });

  it("runs SQL over datasets with results in the same table, kept in the URL", { timeout: 60_000 }, async () => {
    await page.goto(`${server.url}/#/sql`);
    await page.getByLabel("SQL query").fill('SELECT city, count(*) AS n, max(score) AS best FROM "People" GROUP BY city ORDER BY city');
    await page.getByRole("button", { name: "Run query" }).click();
    await page.locator(".sql-result .table-summary", { hasText: "Rows 1–5 of 5" }).waitFor();
    const cells = await page.locator(".sql-result .data-table tbody tr").first().locator("td").allTextContents();
    expect(cells.slice(1)).toEqual(["Berlin", String(count((r) => r.city === "Berlin")), String(Math.max(...fixture.rows.filter((r) => r.city === "Berlin").map((r) => r.score)))]);
    expect(decodeURIComponent(page.url())).toContain("query=SELECT");
    await shot("10-sql.png");
    await page.reload();
    await page.locator(".sql-result .table-summary", { hasText: "Rows 1–5 of 5" }).waitFor();
    await page.locator(".sql-result .api-menu > summary").click();
    await page.locator(".sql-result").getByRole("button", { name: "Copy as curl" }).click();
    const curl = (await page.locator(".sql-result pre.snippet").textContent())!;
    expect(JSON.parse((await run("bash", ["-c", curl], { encoding: "utf8" })).stdout).totalRows).toBe(5);
    // A query that is not allowed is the server's 400, readable.
    await page.getByLabel("SQL query").fill("DROP TABLE People");
    await page.getByRole("button", { name: "Run query" }).click();
    await page.locator(".sql-result .banner-error").waitFor();
    await page.goto(`${server.url}/#/datasets/${datasetId}/versions/1`);
    await summary(page, `Rows 1–50 of ${ROWS}`);
  });

  it("downloads every format, as shown (columns, sort, filters) or whole", { timeout: 90_000 }, async () => {
    // A link with a filter in it opens the filtered rows; hide a column, so "as shown" has a projection too.
    await page.goto(`${server.url}/#/datasets/${datasetId}/versions/1?filter=${encodeURIComponent("city:icontains:porto")}`);
    await summary(page, `of ${count((r) => r.city === "Porto")} matching the filter`);
    const toolbar = page.locator(".data-view .table-toolbar");
    await toolbar.locator(".columns-menu > summary").click();
    await page.getByLabel("Show seen").uncheck();
    await page.locator("th[data-column=seen]").waitFor({ state: "detached" });
    expect(decodeURIComponent(page.url())).toContain("columns=id,name,city,score,joined");
    await toolbar.locator(".columns-menu > summary").click();
    await toolbar.locator(".download-menu > summary").click();
    expect(await page.getByLabel("Only the rows and columns shown").isChecked()).toBe(true);
    await shot("11-download-menu.png");
    const save = async (format: string) => {
      const [dl] = await Promise.all([page.waitForEvent("download"), toolbar.locator(`.download-links a[data-format=${format}]`).click()]);
      return { name: dl.suggestedFilename(), bytes: readFileSync((await dl.path())!) };
    };
    const csv = await save("csv");
    expect(csv.name).toBe("people-v1.csv"); // the server's Content-Disposition name wins over the link's
    // Text fields are quoted in CSV downloads (so "" stays an empty string): compare without the quotes.
    const lines = csv.bytes.toString("utf8").trim().replaceAll('"', "").split("\n");
    expect(lines[0]).toBe("id,name,city,score,joined");
    expect(lines.length - 1).toBe(count((r) => r.city === "Porto"));
    expect(lines.slice(1).every((l) => l.includes("Porto"))).toBe(true);
    expect((await save("parquet")).bytes.subarray(0, 4).toString()).toBe("PAR1");
    expect((await save("arrow")).bytes.subarray(0, 6).toString()).toBe("ARROW1");
    const ndjson = (await save("ndjson")).bytes.toString("utf8").trim().split("\n");
    expect(ndjson.length).toBe(count((r) => r.city === "Porto"));
    expect(Object.keys(JSON.parse(ndjson[0]!))).toEqual(["id", "name", "city", "score", "joined"]);
    expect(JSON.parse((await save("json")).bytes.toString("utf8")).length).toBe(count((r) => r.city === "Porto"));
    // Whole version: untick "as shown".
    await page.getByLabel("Only the rows and columns shown").uncheck();
    const whole = (await save("csv")).bytes.toString("utf8").trim().replaceAll('"', "").split("\n");
    expect(whole.length - 1).toBe(ROWS);
    expect(whole[0]).toBe("id,name,city,score,joined,seen");
    await toolbar.locator(".download-menu > summary").click();
    await page.goto(`${server.url}/#/datasets/${datasetId}/versions/1`);
    await summary(page, `Rows 1–50 of ${ROWS}`);
  });

  it("draws statistics that fit: axis labels never overlap, no figure is cut short", { timeout: 60_000 }, async () => {
    await page.getByRole("tab", { name: "Schema" }).click();
    await page.locator(".schema-table").getByText("score", { exact: true }).waitFor();
    expect(page.url()).toContain("tab=schema");
    await shot("12-schema.png");
    await page.getByRole("tab", { name: "Statistics" }).click();
    const scoreCard = page.locator(".stat-card[data-column=score]");
    await scoreCard.locator("svg.histogram").waitFor();
    expect(page.url()).toContain("tab=stats");
    expect(await scoreCard.locator("svg.histogram rect.bar").count()).toBeGreaterThan(1);
    expect(await page.locator(".stat-card[data-column=city] svg.bars .bar-label", { hasText: "Lisbon" }).count()).toBe(1);
    expect(await page.locator(".stat-card[data-column=seen] svg.histogram").count()).toBe(1);
    const layout = await page.evaluate<{ overlaps: string[]; cut: string[] }>(`(() => {
      const overlaps = [];
      for (const svg of document.querySelectorAll("svg.histogram")) {
        const labels = [...svg.querySelectorAll("g.x-label > text")].map((t) => t.getBoundingClientRect());
        for (let i = 1; i < labels.length; i++) if (labels[i].left < labels[i - 1].right) overlaps.push(svg.getAttribute("aria-label"));
        const box = svg.getBoundingClientRect();
        for (const l of labels) if (l.left < box.left - 1 || l.right > box.right + 1) overlaps.push(svg.getAttribute("aria-label") + " (outside)");
      }
      const cut = [...document.querySelectorAll(".figures dd")].filter((d) => d.scrollWidth > d.clientWidth + 1).map((d) => d.textContent);
      return { overlaps, cut };
    })()`);
    expect(layout).toEqual({ overlaps: [], cut: [] });
    await shot("13-statistics.png", true);
    // Back to the data tab with the browser's back button.
    await page.goBack();
    await page.locator(".schema-table").waitFor();
  });

  it("renames, edits the description, adds and deletes a version (with confirmation)", { timeout: 90_000 }, async () => {
    await page.goto(`${server.url}/#/datasets/${datasetId}`);
    await page.locator("h1", { hasText: "People" }).waitFor();
    await page.getByRole("button", { name: "Edit name and description" }).click();
    await page.getByLabel("Dataset name").fill("People renamed");
    await page.getByLabel("Description").fill("Now with a better description");
    await page.getByRole("button", { name: "Save" }).click();
    await page.locator("h1", { hasText: "People renamed" }).waitFor();
    const d = (await getJson(`${server.url}/api/datasets/${datasetId}`)).body;
    expect([d.name, d.description]).toEqual(["People renamed", "Now with a better description"]);

    // A second version through the dataset page's card, then delete it (cancel first: nothing happens).
    await page.setInputFiles(".upload-card input[type=file]", csvPath);
    await page.locator(".upload-card .inspect-rows", { hasText: `${ROWS} rows` }).waitFor();
    await page.getByRole("button", { name: "Upload version" }).click();
    await page.waitForURL(/versions\/2$/);
    await page.getByRole("button", { name: "Delete version" }).click();
    await page.locator("dialog[open]").waitFor();
    await shot("14-confirm-delete-version.png");
    await page.locator("dialog[open]").getByRole("button", { name: "Cancel" }).click();
    expect((await getJson(`${server.url}/api/datasets/${datasetId}/versions/2`)).status).toBe(200);
    await page.getByRole("button", { name: "Delete version" }).click();
    await page.locator("dialog[open]").getByRole("button", { name: "Delete version 2" }).click();
    await page.waitForURL(new RegExp(`#/datasets/${datasetId}$`));
    await page.locator(".versions-table tbody tr").first().waitFor();
    expect(await page.locator(".versions-table tbody tr").count()).toBe(1);
    expect((await getJson(`${server.url}/api/datasets/${datasetId}/versions/2`)).status).toBe(404);
    await shot("15-dataset.png", true);
  });

  it("shows the version's notes, Excel sheets in the preview, and deletes a dataset", { timeout: 90_000 }, async () => {
    // Notes: a Windows-1252 file says so on its version page.
    await page.goto(`${server.url}/`);
    await page.setInputFiles(".upload-card input[type=file]", path.join(ROOT, "fixtures", "latin1.csv"));
    await page.locator(".inspect .notes", { hasText: "Windows-1252" }).waitFor();
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await page.waitForURL(/versions\/1$/);
    await page.locator(".notes", { hasText: "read as Windows-1252" }).waitFor();
    await shot("16-version-notes.png");

    // Excel: the sheet list comes from the preview; another sheet re-reads the file.
    await page.goto(`${server.url}/`);
    await page.setInputFiles(".upload-card input[type=file]", path.join(ROOT, "fixtures", "two-sheets.xlsx"));
    await page.locator(".inspect .inspect-facts", { hasText: "sheet “Sales”" }).waitFor();
    const sheets = await page.getByLabel("Sheet", { exact: true }).locator("option").allTextContents();
    expect(sheets.some((s) => s.startsWith("Log"))).toBe(true);
    await page.getByLabel("Sheet", { exact: true }).selectOption("Log");
    await page.locator(".inspect .inspect-facts", { hasText: "sheet “Log”" }).waitFor();
    await shot("17-inspect-excel-sheet.png", true);
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await page.waitForURL(/versions\/1$/);
    const excelId = /datasets\/([^/]+)\//.exec(page.url())![1]!;
    expect((await getJson(`${server.url}/api/datasets/${excelId}/versions/1`)).body.source.sheet).toBe("Log");

    // Delete the whole dataset from its page.
    await page.goto(`${server.url}/#/datasets/${excelId}`);
    await page.getByRole("button", { name: "Delete dataset…" }).click();
    await page.locator("dialog[open]").getByRole("button", { name: "Delete dataset" }).click();
    await page.waitForURL(/#\/$/);
    await page.locator(".list-card tbody tr").first().waitFor();
    expect(await page.locator(".list-card tbody tr", { hasText: "two-sheets" }).count()).toBe(0);
    expect((await getJson(`${server.url}/api/datasets/${excelId}`)).status).toBe(404);
  });

  it("shows counterexamples that kept a column from a narrower type", { timeout: 60_000 }, async () => {
    const file = path.join(dir, "mixed.csv");
    await writeFile(file, "id,amount\n1,10\n2,N/A\n3,12.5\n4,-\n");
    await page.goto(`${server.url}/`);
    await page.setInputFiles(".upload-card input[type=file]", file);
    const row = page.locator(".inspect-columns tr[data-column=amount]");
    await row.locator(".counterexample").first().waitFor();
    expect(await row.locator(".badge").textContent()).toBe("String");
    expect(await row.locator(".counterexample").allTextContents()).toEqual(expect.arrayContaining(["N/A"]));
    await shot("18-inspect-counterexamples.png", true);
  });

  it("reads a messy CSV with the new options (skip rows, comments, null texts, decimal comma) and says so in notes", { timeout: 60_000 }, async () => {
    const file = path.join(dir, "report.csv");
    await writeFile(file, "Quarterly report\n# exported by hand\nid;amount;note\n1;1,5;N/A\n2;2,25;ok\n# a comment line\n3;-;fine\n");
    await page.goto(`${server.url}/`);
    await page.setInputFiles(".upload-card input[type=file]", file);
    // The defaults cannot read it (a title line): the preview says why, and the options are there to fix it.
    await page.locator(".upload-card .banner-error").waitFor();
    await page.getByLabel("Rows to skip at the top").fill("1");
    await page.getByLabel("Comment lines start with").fill("#");
    await page.getByLabel("Also read as null").fill("N/A,-");
    await page.getByLabel("Delimiter", { exact: true }).selectOption(";");
    await page.getByText("Decimal comma (1,5 is 1.5)").click();
    await page.getByLabel("Also read as null").press("Tab");
    const amount = page.locator(".inspect-columns tr[data-column=amount]");
    await amount.locator(".badge", { hasText: "Float64" }).waitFor();
    expect(await page.locator(".inspect .inspect-rows").textContent()).toBe("3 rows");
    expect(await amount.locator("td.num").textContent()).toBe("1");
    expect(await page.locator(".inspect-columns tr[data-column=note] td.num").textContent()).toBe("1");
    await shot("18d-inspect-options.png", true);
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await page.waitForURL(/versions\/1$/);
    const id = /datasets\/([^/]+)\//.exec(page.url())![1]!;
    const rows = (await getJson(`${server.url}/api/datasets/${id}/versions/1/data`)).body.rows;
    expect(rows).toEqual([{ id: 1, amount: 1.5, note: null }, { id: 2, amount: 2.25, note: "ok" }, { id: 3, amount: null, note: "fine" }]);
    await page.locator(".notes li").first().waitFor();
    await shot("18e-version-notes-options.png");
  });

  it("uploading a taken name is a 409 with a way forward", { timeout: 60_000 }, async () => {
    await page.goto(`${server.url}/#/`);
    await page.locator(".list-card tbody tr", { hasText: "People renamed" }).waitFor();
    await page.setInputFiles(".upload-card input[type=file]", csvPath);
    await page.locator(".inspect-rows").waitFor();
    await page.fill("input[name=name]", "people renamed");
    await page.getByRole("button", { name: "Upload", exact: true }).click();
    await page.locator(".upload-card .banner-error", { hasText: "NAME_TAKEN" }).waitFor();
    await shot("19-name-taken.png", true);
  });

  it("compares two versions: schema changes, counts, changed rows with the changed cells highlighted", { timeout: 90_000 }, async () => {
    const v1 = "id,city,amount\n1,Paris,10\n2,Oslo,20\n3,Lima,5\n4,Rome,8\n";
    const v2 = "id,city,amount,extra\n1,Paris,11,x\n2,Oslo,20,y\n4,Roma,8,z\n5,Kyiv,7,w\n";
    const created = await upload(`${server.url}/api/datasets/upload`, { name: "prices.csv", content: v1 }, { name: "Prices" });
    expect(created.status).toBe(201);
    const id = created.body.dataset.id as string;
    compareId = id;
    expect((await upload(`${server.url}/api/datasets/${id}/versions`, { name: "prices.csv", content: v2 })).status).toBe(201);

    // From the dataset's page, as a person finds it.
    await page.goto(`${server.url}/#/datasets/${id}`);
    await page.getByRole("link", { name: "Compare versions" }).click();
    await page.waitForURL(/compare\?from=1&to=2/);
    // Without a key: whole rows, so a change is one removed and one added row.
    const fact = (label: string) => page.locator(".diff-counts .fact", { hasText: label }).locator(".fact-value");
    await page.locator(".table-summary", { hasText: "as whole rows" }).waitFor();
    const whole = (await getJson(`${server.url}/api/datasets/${id}/diff?from=1&to=2`)).body;
    expect(whole.rows.changed).toBe(0);
    expect(await fact("Added rows").textContent()).toBe(String(whole.rows.added));
    expect(await fact("Removed rows").textContent()).toBe(String(whole.rows.removed));
    expect(await fact("Changed rows").textContent()).toBe("—");
    // With a key: rows match by id.
    await page.getByLabel("Key columns").fill("id");
    await page.getByRole("button", { name: "Compare", exact: true }).click();
    await page.locator(".table-summary", { hasText: "matched by id" }).waitFor();
    expect(decodeURIComponent(page.url())).toContain("key=id");
    const api = (await getJson(`${server.url}/api/datasets/${id}/diff?from=1&to=2&key=id`)).body;
    expect(api.rows).toEqual({ added: 1, removed: 1, changed: 2, unchanged: 1 });
    expect(await fact("Added rows").textContent()).toBe("1");
    expect(await fact("Removed rows").textContent()).toBe("1");
    expect(await fact("Changed rows").textContent()).toBe("2");
    expect(await fact("Unchanged").textContent()).toBe("1");
    expect(await page.locator(".schema-changes li").allTextContents()).toEqual(["Added column extra (String)"]);
    // Changed rows first, each changed cell highlighted with the old value beside the new one.
    await page.locator(".diff-table tbody tr").first().waitFor();
    const changed = page.locator(".diff-table td.changed");
    expect(await changed.count()).toBe(2);
    const first = page.locator(".diff-table tbody tr").first();
    expect(await first.locator("td.key-cell").textContent()).toBe("1");
    expect(await first.locator("td.changed").textContent()).toBe("1110");
    expect(await first.locator("td.changed .was").textContent()).toBe("10");
    expect(await page.locator(".diff-table tbody tr").nth(1).locator("td.changed .was").textContent()).toBe("Rome");
    await shot("19b-compare.png", true);
    // The other kinds, each in the URL; a reload shows the same rows.
    await page.getByRole("tab", { name: "Added (1)" }).click();
    await page.waitForURL(/kind=added/);
    await page.locator(".table-summary", { hasText: "of 1 added" }).waitFor();
    expect(await page.locator(".data-table tbody tr").first().locator("td").allTextContents()).toEqual(["1", "5", "Kyiv", "7", "w"]);
    await page.reload();
    await page.locator(".table-summary", { hasText: "of 1 added" }).waitFor();
    await page.getByRole("tab", { name: "Removed (1)" }).click();
    await page.locator(".table-summary", { hasText: "of 1 removed" }).waitFor();
    expect(await page.locator(".data-table tbody tr").first().locator("td").allTextContents()).toEqual(["1", "3", "Lima", "5"]);
    await page.goBack();
    await page.locator(".table-summary", { hasText: "of 1 added" }).waitFor();
    // A key that is not in both versions is the server's 400, readable.
    await page.getByLabel("Key columns").fill("extra");
    await page.getByRole("button", { name: "Compare", exact: true }).click();
    await page.locator(".banner-error", { hasText: "extra" }).waitFor();
    await shot("19c-compare-bad-key.png");
    // The version page links here too.
    await page.goto(`${server.url}/#/datasets/${id}/versions/2`);
    await page.getByRole("link", { name: "Compare…" }).click();
    await page.waitForURL(/compare\?from=1&to=2/);
    await page.locator(".diff-counts").waitFor();
  });

  it("adds a version only if the file changed, exports a dataset as an archive and restores it", { timeout: 90_000 }, async () => {
    const id = compareId;
    // The same bytes as the latest version with "only if the file changed": nothing stored, and it says so.
    const latest = path.join(dir, "prices-v2.csv");
    await writeFile(latest, "id,city,amount,extra\n1,Paris,11,x\n2,Oslo,20,y\n4,Roma,8,z\n5,Kyiv,7,w\n");
    await page.goto(`${server.url}/#/datasets/${id}`);
    await page.setInputFiles(".upload-card input[type=file]", latest);
    await page.locator(".upload-card .inspect-rows", { hasText: "4 rows" }).waitFor();
    await page.getByText("Only if the file changed").click();
    await page.getByRole("button", { name: "Upload version" }).click();
    await page.locator(".upload-card .banner.unchanged", { hasText: "same bytes as version 2" }).waitFor();
    expect((await getJson(`${server.url}/api/datasets/${id}`)).body.versionCount).toBe(2);

    // Export: the browser saves the server's archive byte for byte.
    const [dl] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Export archive" }).click()]);
    expect(dl.suggestedFilename()).toMatch(/^Prices.*\.tar$/);
    const archive = path.join(dir, "prices.tar");
    await dl.saveAs(archive);
    expect(readFileSync(archive).length).toBeGreaterThan(1024);

    // Restore it under another name from the home page: both versions come back with their rows.
    await page.goto(`${server.url}/`);
    await page.setInputFiles(".import-card input[type=file]", archive);
    await page.getByLabel("Restore as").fill("Prices restored");
    await page.getByRole("button", { name: "Restore", exact: true }).click();
    await page.locator("h1", { hasText: "Prices restored" }).waitFor();
    expect(await page.locator(".versions-table tbody tr").count()).toBe(2);
    const restored = (await getJson(`${server.url}/api/datasets?name=${encodeURIComponent("Prices restored")}`)).body.items[0];
    for (const v of [1, 2]) {
      const a = (await getJson(`${server.url}/api/datasets/${id}/versions/${v}/data`)).body;
      const b = (await getJson(`${server.url}/api/datasets/${restored.id}/versions/${v}/data`)).body;
      expect([b.columns, b.rows]).toEqual([a.columns, a.rows]);
    }
    await shot("19e-restored.png", true);

    // A damaged archive is refused whole, in the server's words.
    const damaged = path.join(dir, "damaged.tar");
    const bytes = readFileSync(archive);
    await writeFile(damaged, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await page.goto(`${server.url}/`);
    await page.setInputFiles(".import-card input[type=file]", damaged);
    await page.getByRole("button", { name: "Restore", exact: true }).click();
    await page.locator(".import-card .banner-error", { hasText: "INVALID_ARCHIVE" }).waitFor();
    await page.locator(".import-card").scrollIntoViewIfNeeded();
    await shot("19f-restore-damaged.png");
    expect((await getJson(`${server.url}/api/datasets`)).body.items.filter((d: { name: string }) => d.name.startsWith("Prices"))).toHaveLength(2);
  });

  it("fits a 390 px wide phone: no sideways scrolling of the page", { timeout: 60_000 }, async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    phone.on("pageerror", (err) => pageErrors.push(err.message));
    // Strings, not functions: this file type-checks without DOM types.
    const overflow = () => phone.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
    await phone.goto(`${server.url}/`);
    await phone.locator(".list-card tbody tr").first().waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await phone.screenshot({ path: path.join(SHOTS, "20-narrow-home.png"), fullPage: true });
    await phone.goto(`${server.url}/#/datasets/${datasetId}/versions/1?sort=-score`);
    await summary(phone, `Rows 1–50 of ${ROWS}`);
    expect(await overflow()).toBeLessThanOrEqual(0);
    await phone.screenshot({ path: path.join(SHOTS, "21-narrow-data.png") });
    // Facets go under the table on a phone, inside the page's width.
    await phone.goto(`${server.url}/#/datasets/${datasetId}/versions/1?q=oslo`);
    const oslo = count((r) => r.city === "Oslo");
    await summary(phone, `of ${oslo} matching the search`);
    await phone.locator(".facets-title", { hasText: `of ${oslo} rows` }).waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await phone.locator(".facets").scrollIntoViewIfNeeded();
    await phone.screenshot({ path: path.join(SHOTS, "21b-narrow-facets.png") });
    // The SQL box and its result table too.
    await phone.goto(`${server.url}/#/sql?query=${encodeURIComponent('SELECT city, count(*) AS n, max(score) AS best FROM "People renamed" GROUP BY city ORDER BY city')}`);
    await phone.locator(".sql-result .table-summary", { hasText: "Rows 1–5 of 5" }).waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await phone.screenshot({ path: path.join(SHOTS, "21c-narrow-sql.png") });
    await phone.goto(`${server.url}/#/datasets/${compareId}/compare?from=1&to=2&key=id`);
    await phone.locator(".diff-table tbody tr").first().waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    await phone.screenshot({ path: path.join(SHOTS, "21d-narrow-compare.png"), fullPage: true });
    await phone.goto(`${server.url}/#/datasets/${datasetId}/versions/1?tab=stats`);
    await phone.locator(".stat-card[data-column=seen] svg.histogram").waitFor();
    expect(await overflow()).toBeLessThanOrEqual(0);
    const cut = await phone.evaluate<number>(`[...document.querySelectorAll(".figures dd")].filter((d) => d.scrollWidth > d.clientWidth + 1).length`);
    expect(cut).toBe(0);
    await phone.screenshot({ path: path.join(SHOTS, "22-narrow-stats.png"), fullPage: true });
    await phone.close();
    expect(pageErrors).toEqual([]);
  });

  it("shows a readable problem for a file it cannot read", { timeout: 60_000 }, async () => {
    const junk = path.join(dir, "notes.bin");
    await writeFile(junk, Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe, 0x00, 0x13, 0x37, 0x00, 0x00]));
    await page.goto(`${server.url}/`);
    await page.locator(".upload-card").waitFor();
    await page.setInputFiles(".upload-card input[type=file]", junk);
    const banner = page.locator(".upload-card .banner-error");
    await banner.waitFor();
    // The title and the server's detail sentence, not raw JSON.
    expect(await banner.textContent()).not.toContain("{");
    expect(await banner.locator("strong").textContent()).not.toBe("");
    await shot("23-upload-error.png");
  });

  it("asks for a token when the API answers 401 and sends it afterwards", { timeout: 60_000 }, async () => {
    const secured = await startServer("memory", { API_TOKENS: "viewer-test-token:write" });
    const tokenPage = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      await tokenPage.goto(`${secured.url}/`);
      const tokenBox = tokenPage.getByLabel("API token");
      await tokenBox.waitFor();
      await tokenPage.screenshot({ path: path.join(SHOTS, "24-token-needed.png") });
      await tokenBox.fill("viewer-test-token");
      await tokenPage.getByRole("button", { name: "Save token" }).click();
      await tokenPage.getByText("No datasets yet").waitFor();
      expect(await tokenPage.getByText("Token saved").count()).toBe(1);
      // A download with a token is fetched with it (a plain link could not carry it).
      const created = await upload(`${secured.url}/api/datasets/upload`, { name: "t.csv", content: "a,b\n1,2\n" }, {});
      expect(created.status).toBe(401);
      const withToken = await fetch(`${secured.url}/api/datasets/upload`, { method: "POST", headers: { Authorization: "Bearer viewer-test-token" }, body: (() => { const f = new FormData(); f.append("file", new Blob(["a,b\n1,2\n"]), "t.csv"); return f; })() });
      const id = ((await withToken.json()) as { dataset: { id: string } }).dataset.id;
      await tokenPage.goto(`${secured.url}/#/datasets/${id}/versions/1`);
      await tokenPage.locator(".data-view .download-menu > summary").click();
      const [dl] = await Promise.all([tokenPage.waitForEvent("download"), tokenPage.locator(".data-view .download-links a[data-format=csv]").click()]);
      expect(readFileSync((await dl.path())!, "utf8").trim().replaceAll('"', "")).toBe("a,b\n1,2");
      await tokenPage.screenshot({ path: path.join(SHOTS, "25-token-saved.png") });
    } finally {
      await tokenPage.close();
      await secured.close();
    }
  });
});
