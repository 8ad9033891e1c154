// "Why patches": the labelled image's intensity histograms overlap, and clicking a pixel shows
// its 31x31 patch beside a pixel of the other kind that is just as bright.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, loadTutorial } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('histograms per class overlap; a clicked pixel shows its patch and a look-alike of the other kind', async () => {
  const page = await browser.open('?backend=cpu&data=/data/');
  await loadTutorial(page);
  await page.waitForFunction(() => /overlap by \d+%/.test(document.getElementById('histogram-status').textContent));
  const overlap = Number((await page.textContent('#histogram-status')).match(/overlap by (\d+)%/)[1]);
  console.log(`cell/background intensity overlap: ${overlap}%`);
  assert.ok(overlap > 5 && overlap < 95, `${overlap}%`);
  assert.equal(await page.locator('#histogram .u-series').count(), 4, 'intensity axis + three classes');

  await page.click('#overlay', { position: { x: 300, y: 200 } });
  await page.waitForFunction(() => window.cellseg.patch);
  const { clicked, twin } = await page.evaluate(() => window.cellseg.patch);
  assert.equal(clicked.values.length, 31 * 31);
  assert.match(await page.textContent('#patch-caption'), /^\(\d+, \d+\): (other|cell|edge)$/);
  assert.ok(twin, 'phase_027 has a look-alike for every pixel');
  assert.equal(twin.label, clicked.label === 1 ? 0 : 1, 'a cell pixel gets a background twin, others a cell twin');
  const centre = (p) => p.values[15 * 31 + 15];
  assert.ok(Math.abs(centre(twin) - centre(clicked)) <= 0.01 + 1e-6);
  assert.match(await page.textContent('#twin-caption'), /as bright, yet the patches differ/);
});

test('a synthetic colony teaches with nothing downloaded: labelled, histograms, trainable', async () => {
  const page = await browser.open('?backend=cpu');
  const before = browser.requests.length;
  await page.click('#load-colony');
  await page.waitForFunction(() => window.cellseg.labelled);
  assert.match(await page.textContent('#data-status'), /^synthetic colony \d+: 512 × 384 pixels, labelled: \d+% cell, \d+% edge, \d+% other/);
  await page.waitForFunction(() => /overlap by \d+%/.test(document.getElementById('histogram-status').textContent));
  await page.fill('#steps', '2');
  await page.click('#train');
  await page.waitForFunction(() => /^(Done|Training failed)/.test(document.getElementById('train-status').textContent));
  assert.match(await page.textContent('#train-status'), /^Done after 2 steps/);
  const data = browser.requests.slice(before).filter((u) => /\/(data|models)\//.test(u) || !u.startsWith(browser.base));
  assert.deepEqual(data, [], 'no image, labels or weights were downloaded');
});
