// Offline after the first visit: the service worker (sw.js) keeps the page, the worker's
// package and the pretrained networks; with the server gone, a reload still segments.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('installable and offline: load once, cut the server, reload, segment', async () => {
  // colony 7's middle 64 × 64 holds cells (a random colony's may not)
  const page = await browser.open('?backend=cpu&colony=7');
  await page.waitForFunction(() => window.cellseg.offline > 0, null, { timeout: 120_000 });
  const kept = await page.evaluate(async () => {
    const cache = await caches.open('cellseg-v1');
    return (await cache.keys()).map((r) => new URL(r.url).pathname);
  });
  for (const path of ['/', '/www/app.js', '/www/worker.js', '/www/style.css', '/models/index.json', '/models/unet-2.cellseg', '/models/looks-1.cellseg']) {
    assert.ok(kept.includes(path), `${path} is kept (${kept.length} files)`);
  }
  assert.ok(kept.some((p) => /^\/pkg(-cpu|-threads)?\/cellseg_bg\.wasm$/.test(p)), 'the package this page runs on is kept');
  // installable: a manifest with a start page and an icon
  const manifest = await page.evaluate(async () => (await fetch(document.querySelector('link[rel=manifest]').href)).json());
  assert.equal(manifest.start_url, './');
  assert.equal(manifest.display, 'standalone');
  assert.ok(manifest.icons.some((i) => i.src === 'www/icon.svg'));

  await browser.stopServer();
  // (a file this visit never loaded is not there: the server is really gone)
  assert.equal(await page.evaluate(() => fetch('bench.html').then(() => 'online', () => 'offline')), 'offline');
  await page.reload();
  await page.waitForFunction(() => ['ready', 'failed'].includes(document.getElementById('backend').dataset.state), null, { timeout: 120_000 });
  assert.equal(await page.evaluate(() => document.getElementById('backend').dataset.state), 'ready');
  // a colony drawn in the browser, segmented with the kept pretrained networks
  await page.click('#load-colony');
  await page.waitForFunction(() => window.cellseg.labelled);
  await page.selectOption('#crop', '64');
  await page.selectOption('#networks', 'pretrained');
  await page.click('#segment');
  await page.waitForFunction(() => /^Dense/.test(document.getElementById('segment-status').textContent) || !document.getElementById('error').hidden, null, { timeout: 120_000 });
  assert.equal(await page.isVisible('#error'), false, await page.textContent('#error'));
  const status = await page.textContent('#segment-status');
  console.log(`offline: ${status}`);
  assert.match(status, /with the pretrained network/);
  assert.ok(await page.evaluate(() => window.cellseg.lastCells.areas.length) > 0, 'cells found offline');
});
