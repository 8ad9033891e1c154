// Chapter 4, "Fast and fully convolutional": the race between patch-by-patch and dense
// inference on a small crop, on the CPU backend, with equal outputs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('the race on a 64×64 crop: dense is faster and its output equals patch by patch', async () => {
  const page = await browser.open('?colony=3&backend=cpu&arch=network2');
  await page.click('#load-colony');
  await page.waitForFunction(() => window.cellseg.labelled);
  await page.selectOption('#race-crop', '64');
  assert.equal(await page.inputValue('#crop'), '64', 'one crop setting, two menus');
  await page.click('#overlay', { position: { x: 100, y: 100 } });
  const progress = [];
  await page.click('#compare');
  // sample the bar while the race runs: it moves
  for (let i = 0; i < 40 && !(await page.evaluate(() => window.cellseg.compare)); i++) {
    progress.push(await page.$eval('#race-progress', (b) => b.value));
    await page.waitForTimeout(100);
  }
  await page.waitForFunction(() => window.cellseg.compare || !document.getElementById('error').hidden, null, { timeout: 300_000 });
  const race = await page.evaluate(() => window.cellseg.compare);
  assert.ok(race, await page.textContent('#error'));
  assert.ok(race.maxDiff <= 1e-5, `max |dense - naive| = ${race.maxDiff}`);
  assert.ok(race.naiveMs > race.denseMs, `naive ${race.naiveMs} ms, dense ${race.denseMs} ms`);
  assert.ok(progress.some((v) => v > 0 && v < 1), `the bar moved: ${progress.join(' ')}`);
  assert.match(await page.textContent('#race-status'),
    /^Patch by patch \d+ ms, dense \d+ ms: [\d.]+× faster; max \|difference\| [\d.e+-]+\. The whole 512 × 384 image would take/);
  console.log(`CPU race 64×64: ${await page.textContent('#race-status')}`);
});
