import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/databases.js';
import { examplesProject } from './support/report-project.js';

/**
 * The report in a real headless Chromium (Debian's `chromium` package, driven
 * by playwright-core): what a person sees when they open the file from disk.
 * Without the browser these tests fail, never pass quietly, when
 * CAIRN_REQUIRE_BROWSER=1 or CI=true; elsewhere they skip and say why.
 */

const CHROMIUM = process.env.CAIRN_CHROMIUM ?? '/usr/bin/chromium';
const REQUIRE_BROWSER = process.env.CAIRN_REQUIRE_BROWSER === '1' || process.env.CI === 'true';
const missing = existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (CI's .ci/run must do so), or point CAIRN_CHROMIUM at a Chromium binary`;

describe('cairn report in Chromium', () => {
  let browser: Browser | undefined;
  let root = '';
  let url = '';

  beforeAll(async () => {
    if (missing && REQUIRE_BROWSER) throw new Error(`the browser tests need Chromium (CAIRN_REQUIRE_BROWSER=1 or CI=true): ${missing}`);
    if (missing) return console.warn(`skipping the browser tests: ${missing} (set CAIRN_REQUIRE_BROWSER=1 to fail instead)`);
    root = examplesProject({ staging: { database: 'postgres://postgres@127.0.0.1:1/nowhere' } });
    expect(runCli(['report'], { cwd: root }).status).toBe(0);
    url = pathToFileURL(join(root, 'cairn-report.html')).href;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
  });

  /** Opens the report and records what a person would not want: console errors, page errors, requests leaving the file. */
  async function open(options: { javaScriptEnabled?: boolean } = {}): Promise<{ page: Page; problems: string[]; requests: string[] }> {
    const context = await browser!.newContext({ viewport: { width: 1400, height: 1000 }, ...options });
    const page = await context.newPage();
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('request', (request) => {
      if (request.url() !== url) requests.push(request.url());
    });
    await page.goto(url);
    return { page, problems, requests };
  }

  it('renders the diagram, the environment columns and the pending migrations highlighted, with no error and no request', async (context) => {
    if (!browser) return context.skip();
    const { page, problems, requests } = await open();

    const screenshot = await page.screenshot({ path: join(root, 'report.png'), fullPage: true });
    expect(screenshot.subarray(1, 4).toString()).toBe('PNG');
    expect(readFileSync(join(root, 'report.png')).length).toBeGreaterThan(50_000);

    // The diagram: one visible box per table, with a real size on screen.
    const tables = page.locator('#schema g.box.table');
    await expect(tables.count()).resolves.toBe(7);
    for (const box of await tables.all()) {
      const bounds = await box.boundingBox();
      expect(bounds!.width).toBeGreaterThan(80);
      expect(bounds!.height).toBeGreaterThan(40);
    }
    await expect(page.locator('#schema g.box.view').getAttribute('data-name')).resolves.toBe('published_posts');
    const cascade = await page.locator('#schema g.edge.cascade path').first().evaluate((path) => getComputedStyle(path).stroke);
    expect(cascade).toBe('rgb(197, 48, 48)');

    // The environment columns, the unreachable one saying so.
    await expect(page.locator('table.history thead th.env .env-name').allInnerTexts()).resolves.toEqual(['qa', 'production', 'staging']);
    await expect(page.locator('th.env[data-env="staging"] .unreachable').innerText()).resolves.toMatch(/^unreachable: cannot connect to postgres:\/\/postgres@127\.0\.0\.1:1\/nowhere/);

    // Pending on production: highlighted, unlike the same migration applied on qa.
    const background = (version: string, env: string) => page.locator(`tr[data-version="${version}"] td.run[data-env="${env}"]`).evaluate((cell) => getComputedStyle(cell).backgroundColor);
    for (const version of ['0006', '0007', '0008']) {
      await expect(page.locator(`tr[data-version="${version}"] td.run[data-env="production"]`).innerText()).resolves.toBe('pending');
      await expect(background(version, 'production')).resolves.toBe('rgb(254, 252, 191)');
    }
    await expect(background('0006', 'qa')).resolves.toBe('rgb(240, 255, 244)');
    await expect(background('0005', 'production')).resolves.toBe('rgb(240, 255, 244)');

    expect(problems).toEqual([]);
    expect(requests).toEqual([]);
  });

  it('filters: by text, to the migrations not everywhere; the count follows', async (context) => {
    if (!browser) return context.skip();
    const { page, problems } = await open();
    const visible = () => page.locator('tr.migration:visible').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-version')));
    await expect(visible()).resolves.toHaveLength(8);
    await expect(page.locator('#filter-count').innerText()).resolves.toBe('8 of 8 shown');

    await page.locator('#filter-text').fill('comment');
    await expect(visible()).resolves.toEqual(['0004', '0006', '0007']);
    await expect(page.locator('#filter-count').innerText()).resolves.toBe('3 of 8 shown');

    await page.locator('#filter-text').fill('');
    await page.locator('#filter-gaps').check();
    await expect(visible()).resolves.toEqual(['0006', '0007', '0008']);

    await page.locator('#filter-findings').check();
    await expect(visible()).resolves.toEqual([]); // the examples lint clean
    await expect(page.locator('#filter-count').innerText()).resolves.toBe('0 of 8 shown');
    expect(problems).toEqual([]);
  });

  it('reads the same with JavaScript off: every row and the diagram are there', async (context) => {
    if (!browser) return context.skip();
    const { page, problems } = await open({ javaScriptEnabled: false });
    await expect(page.locator('tr.migration:visible').count()).resolves.toBe(8);
    await expect(page.locator('#schema g.box.table:visible').count()).resolves.toBe(7);
    await expect(page.locator('tr[data-version="0008"] td.run[data-env="production"]').innerText()).resolves.toBe('pending');
    expect(problems).toEqual([]);
  });
});
