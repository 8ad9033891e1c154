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
  const page = await browser.open('?colony=3&backend=cpu');
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

test('the image view works by keyboard: move, pick, zoom; the labels show as a layer', async () => {
  const page = await browser.open('?colony=3&backend=cpu');
  await page.click('#load-colony');
  await page.waitForFunction(() => window.cellseg.labelled);
  await page.focus('#overlay');
  for (const key of ['ArrowRight', 'ArrowRight', 'ArrowRight', 'ArrowDown', 'Shift+ArrowDown']) await page.keyboard.press(key);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => window.cellseg.patch);
  const { clicked } = await page.evaluate(() => window.cellseg.patch);
  assert.deepEqual([clicked.x, clicked.y], [256 + 3, 192 + 11], 'the pointer starts mid-image; Shift moves by 10');
  assert.match(await page.textContent('#patch-caption'), /^\(259, 203\): (other|cell|edge)$/);
  assert.deepEqual(await page.evaluate(() => window.cellseg.crop), { x: 259 - 128, y: 203 - 128 });

  await page.keyboard.press('+');
  await page.keyboard.press('+');
  assert.equal(await page.textContent('#zoom-level'), '200%');
  assert.match(await page.$eval('#zoomed', (el) => el.style.transform), /scale\(2\)/);
  // the pointer stays put on screen while zooming, and a click still lands on its pixel
  const box = await page.$eval('#overlay', (el) => JSON.parse(JSON.stringify(el.getBoundingClientRect())));
  const scale = box.width / 512;
  await page.mouse.click(box.x + (250.5 * scale), box.y + (200.5 * scale));
  await page.waitForFunction(() => window.cellseg.patch?.clicked.x === 250);
  assert.equal(await page.evaluate(() => window.cellseg.patch.clicked.y), 200);
  await page.click('#zoom-fit');
  assert.equal(await page.textContent('#zoom-level'), '100%');

  const painted = () => page.$eval('#overlay', (c) => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n += 1;
    return n;
  });
  const without = await painted();
  await page.check('#show-labels');
  await page.waitForFunction(() => window.cellseg.labelLayer);
  const withLabels = await painted();
  assert.ok(withLabels > without + 0.1 * 512 * 384, `labels drawn: ${without} → ${withLabels} pixels`);
});
