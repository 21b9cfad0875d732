// What the browser tests share: a static server for the repository (the page
// imports the package from bindings-wasm/npm/) and Debian's Chromium, driven
// by playwright-core.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import assert from 'node:assert/strict';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { root } from './helpers.mjs';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm', '.png': 'image/png' };

/** Screenshots land in target/screenshots/ (the README's copy is examples/web/screenshot.png). */
export const shot = (name) => path.join(root, 'target', 'screenshots', `${name}.png`);

/** Serves the repository on a free port; answers its origin and a close(). */
export async function serveRepository() {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://localhost');
    const file = path.normalize(path.join(root, decodeURIComponent(url.pathname)));
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** Headless Chromium, without the background traffic a test does not want. */
export async function launchChromium() {
  assert.ok(existsSync(CHROMIUM), `Chromium is not at ${CHROMIUM}; scripts/test.sh installs it`);
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/**
 * Opens `url` in a new page that records console errors, page errors and
 * failed requests in `problems`. `expected(message)` may excuse a console
 * error the test provokes on purpose (say, a refused request).
 */
export async function openPage(browser, url, options = {}, expected = () => false) {
  const page = await browser.newPage(options);
  const problems = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !expected(msg)) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  page.on('requestfailed', (req) => problems.push(`request failed: ${req.url()}`));
  await page.goto(url);
  return { page, problems };
}

/**
 * From a review with nothing in the way: on through feedback, confirm with
 * `phrase`, then cancel in the grace period; resolves on the cancelled view.
 */
export async function confirmThenCancel(page, phrase) {
  await page.click('#to-feedback');
  await page.click('#to-confirm');
  await page.fill('#confirm-input', phrase);
  await page.click('#confirm-button');
  await page.locator('[data-view="grace"]').waitFor();
  await page.click('#cancel-closure');
  await page.locator('[data-view="cancelled"]').waitFor();
}
