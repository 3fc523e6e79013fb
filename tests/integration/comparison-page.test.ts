/**
 * The comparison page (front/, served by the front service) and one mode's
 * landing page, in a real headless browser: Debian's chromium driven by
 * puppeteer-core (which never downloads a browser). The five modes and the
 * front run as compose runs them, under a non-root mount the front must pass
 * through. SCREENSHOT=docs/comparison-page.png also saves the page after a
 * batch to every mode (the README's picture).
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { buildFront, startFrontStack, type FrontStack } from './front-stack.ts';
import { MODES, MOUNTS, selectedModes } from './matrix.ts';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
/** The deepest mount of the matrix: the front has to carry it to every mode. */
const MOUNT = [...MOUNTS].sort((a, b) => b.length - a.length)[0]!;
/** The warm modes' pools (docs/design.md, section 1): 2 app processes each. */
const POOL_SIZE = 2;
const BATCH = 50;

const allModes = selectedModes().length === MODES.length;

describe.skipIf(!allModes)('the comparison page in a headless browser (all five modes + the front)', () => {
  let stack: FrontStack;
  let browser: Browser;
  const problems: string[] = [];

  /** A page that records console errors, uncaught exceptions and failed requests in `problems`. */
  async function watchedPage(): Promise<Page> {
    const page = await browser.newPage();
    await page.setViewport({ width: 1500, height: 1000 });
    page.on('console', (message) => { if (message.type() === 'error') problems.push(`console: ${message.text()}`); });
    page.on('pageerror', (error) => problems.push(`page error: ${(error as Error).message}`));
    page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`));
    page.on('response', (response) => { if (response.status() >= 400) problems.push(`HTTP ${response.status()}: ${response.url()}`); });
    return page;
  }

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install -y --no-install-recommends chromium (or set CHROMIUM_PATH)`);
    await buildFront();
    stack = await startFrontStack(MODES, MOUNT);
    // --no-sandbox: the tests may run as root (CI), where chromium's sandbox refuses to start.
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  }, 900_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  test('loads with no console errors and shows every mode\'s live facts', async () => {
    problems.length = 0;
    const page = await watchedPage();
    await page.goto(`${stack.url}/`, { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    const facts = await page.$$eval('section.mode', (sections) => sections.map((s) => ({
      mode: (s as HTMLElement).dataset.mode,
      ...Object.fromEntries([...s.querySelectorAll<HTMLElement>('[data-fact]')].map((dd) => [dd.dataset.fact, dd.textContent])),
    })));
    expect(facts.map((f) => f.mode)).toEqual([...MODES]);
    for (const f of facts) {
      expect(f, `${f.mode}'s panel`).toMatchObject({
        pid: expect.stringMatching(/^\d+$/),
        requests: expect.stringMatching(/^\d+$/),
        serverSoftware: expect.stringMatching(/\S/),
        scriptName: MOUNT,
        pathInfo: '/whoami',
      });
    }
    expect(problems).toEqual([]);
    await page.close();
  });

  test(`"send ${BATCH} requests to every mode" fills each chart; CGI answers from many pids, the others from their pool`, { timeout: 300_000 }, async () => {
    problems.length = 0;
    const page = await watchedPage();
    await page.goto(`${stack.url}/`, { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    await page.click('#send-all');
    await page.waitForFunction(
      (n: number) => [...document.querySelectorAll<HTMLElement>('section.mode .chart')].every((c) => c.dataset.count === String(n)),
      { timeout: 240_000, polling: 500 }, BATCH,
    );
    const results = await page.$$eval('section.mode', (sections) => sections.map((s) => ({
      mode: (s as HTMLElement).dataset.mode!,
      bars: s.querySelectorAll('.chart rect.bar').length,
      percentiles: s.querySelectorAll('.chart line.p50, .chart line.p95').length,
      summary: s.querySelector('.summary')!.textContent ?? '',
      distinctPids: Number(s.querySelector<HTMLElement>('.pids')!.dataset.distinct),
    })));
    for (const r of results) {
      expect({ mode: r.mode, bars: r.bars, percentiles: r.percentiles }).toEqual({ mode: r.mode, bars: BATCH, percentiles: 2 });
      expect(r.summary, r.mode).toMatch(new RegExp(`^${BATCH} requests: p50 \\d+\\.\\d ms, p95 \\d+\\.\\d ms$`));
      if (r.mode === 'apache-cgi') expect(r.distinctPids, 'apache-cgi: a process per request').toBeGreaterThan(1);
      else expect(r.distinctPids, `${r.mode}: a warm pool of at most ${POOL_SIZE}`).toBeGreaterThanOrEqual(1);
      if (r.mode !== 'apache-cgi') expect(r.distinctPids, `${r.mode}: a warm pool of at most ${POOL_SIZE}`).toBeLessThanOrEqual(POOL_SIZE);
    }
    expect(problems).toEqual([]);
    if (process.env.SCREENSHOT) await page.screenshot({ path: resolve(import.meta.dirname, '../..', process.env.SCREENSHOT), fullPage: true });
    await page.close();
  });

  test('a landing page through the front: styled, its facts, links that work under /<mode>/, and back to the comparison page', async () => {
    problems.length = 0;
    const page = await watchedPage();
    await page.goto(`${stack.url}/`, { waitUntil: 'load' });
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    await Promise.all([page.waitForNavigation(), page.click('section[data-mode="nginx-fcgi"] .links a:first-child')]);
    expect(page.url()).toBe(`${stack.url}/nginx-fcgi/`);
    const landing = await page.evaluate(() => ({
      title: document.title,
      styled: getComputedStyle(document.querySelector('table')!).borderCollapse,
      rows: Object.fromEntries([...document.querySelectorAll('tr')].filter((tr) => tr.querySelector('th'))
        .map((tr) => [tr.querySelector('th')!.textContent, tr.querySelector('td')!.textContent])),
      // The app wrote <mount>/hello; the front maps it into /nginx-fcgi/.
      hello: document.querySelectorAll('a[href="/nginx-fcgi/hello"]').length,
      unmapped: [...document.querySelectorAll('a')].map((a) => a.getAttribute('href')!).filter((href) => !href.startsWith('/nginx-fcgi/') && !href.startsWith('http')),
      back: document.querySelector('nav a')?.getAttribute('href'),
    }));
    expect(landing).toMatchObject({ title: 'yourapplication', styled: 'collapse', hello: 1, unmapped: [], back: `${stack.url}/` });
    expect(landing.rows).toMatchObject({ mode: 'nginx-fcgi', SCRIPT_NAME: MOUNT, PATH_INFO: '/', pid: expect.stringMatching(/^\d+$/) });

    await Promise.all([page.waitForNavigation(), page.click('a[href="/nginx-fcgi/hello"]')]);
    expect(page.url()).toBe(`${stack.url}/nginx-fcgi/hello`);
    expect(await page.evaluate(() => document.body.textContent)).toBe('Hello, World!\n');

    await page.goBack();
    await Promise.all([page.waitForNavigation(), page.click('nav a')]);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 30_000 });
    expect(page.url()).toBe(`${stack.url}/`);
    expect(problems).toEqual([]);
    await page.close();
  });
});
