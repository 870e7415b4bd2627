/**
 * The admin dashboard in a real headless Chromium (Debian's `chromium` package): it must draw
 * charts from live data, with nothing loaded from outside the gateway.
 */
import { chromium, type Browser } from 'playwright-core';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startGateway, type Gateway } from '../../../test/observability/gateway.ts';

let gateway: Gateway;
let browser: Browser;

beforeAll(async () => {
  // Small tier so that traffic causes evictions: every chart has something to draw.
  gateway = await startGateway({ maxBytes: 16 * 1024, maxEntries: 6 });
  for (let round = 0; round < 3; round++) {
    for (const id of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1, 1, 2]) {
      await fetch(`${gateway.base}/products/${id}?size=${id * 100}`);
    }
  }
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await gateway?.close();
});

/** Pixels in a region that differ clearly from the white background. */
function inkedPixels(
  png: PNG,
  box: { x: number; y: number; width: number; height: number },
): number {
  let count = 0;
  const x0 = Math.max(0, Math.floor(box.x));
  const y0 = Math.max(0, Math.floor(box.y));
  const x1 = Math.min(png.width, Math.ceil(box.x + box.width));
  const y1 = Math.min(png.height, Math.ceil(box.y + box.height));
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = (y * png.width + x) * 4;
      const r = png.data[i]!;
      const g = png.data[i + 1]!;
      const b = png.data[i + 2]!;
      // Grid lines are light grey (#e4e7eb); data is saturated colour.
      if (Math.max(r, g, b) - Math.min(r, g, b) > 60) count++;
    }
  }
  return count;
}

describe('admin dashboard in Chromium', () => {
  it('draws hit ratio, memory, evictions and top keys from live data, loading nothing external', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1100 } });
    const page = await context.newPage();
    const external: string[] = [];
    const consoleErrors: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(gateway.base)) external.push(request.url());
    });
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    // The token travels in the fragment: never sent to the server, never in its logs.
    await page.goto(`${gateway.base}/_gatecache/#token=${ADMIN_TOKEN}`);
    await page.waitForFunction(() => Number(document.body.dataset['polls'] ?? 0) >= 1, undefined, {
      timeout: 15_000,
    });
    // More traffic between polls, then wait for a second point on the line charts.
    for (const id of [11, 12, 1, 1]) await fetch(`${gateway.base}/products/${id}?size=900`);
    await page.waitForFunction(() => Number(document.body.dataset['polls'] ?? 0) >= 2, undefined, {
      timeout: 15_000,
    });
    expect(page.url()).not.toContain(ADMIN_TOKEN);
    expect(await page.textContent('#hit-value')).toMatch(/^\d+\.\d%$/);
    expect(await page.textContent('#memory-value')).toMatch(/^\d+\.\d%$/);
    expect(await page.textContent('#evictions-value')).toMatch(/, [1-9]\d* total$/);
    expect(await page.locator('#chart-keys rect').count()).toBeGreaterThan(0);
    expect(await page.textContent('#chart-keys')).toContain('/products/1?size=100');
    expect(await page.locator('#largest tbody tr').count()).toBeGreaterThan(0);

    const png = PNG.sync.read(await page.screenshot({ fullPage: true }));
    for (const chart of [
      '#chart-hit',
      '#chart-memory',
      '#chart-evictions',
      '#chart-keys',
      '#chart-routes',
    ]) {
      const box = await page.locator(chart).boundingBox();
      expect(box, chart).not.toBeNull();
      expect(inkedPixels(png, box!), chart).toBeGreaterThan(200);
    }
    expect(external).toEqual([]);
    expect(consoleErrors).toEqual([]);
    await context.close();
  });

  it('asks for a token when none is given, and refuses a wrong one', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${gateway.base}/_gatecache/`);
    await page.waitForSelector('#login:not([hidden])');
    await page.fill('#token', 'wrong-token-wrong-token');
    await page.click('button[type=submit]');
    await page.waitForFunction(
      () => document.getElementById('status')?.textContent === 'token refused',
    );
    expect(await page.locator('#panels').isHidden()).toBe(true);
    await page.fill('#token', ADMIN_TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('#panels:not([hidden])');
    await context.close();
  });
});
