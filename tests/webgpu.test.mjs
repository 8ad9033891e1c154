// On WebGPU (SwiftShader here: tiny workloads only): the adapter is reported, Adam steps give
// finite losses, and the dense twin equals the patch-by-patch path.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, loadTutorial, train } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('WebGPU: adapter shown, training steps finite, dense equals naive on a 64x64 crop', async () => {
  const page = await browser.open('?backend=webgpu&data=/data/');
  assert.equal(await page.getAttribute('#backend', 'data-backend'), 'webgpu');
  const text = await page.textContent('#backend');
  assert.match(text, /Running on WebGPU: \S+/);
  await loadTutorial(page);

  // The smaller Network 2 keeps SwiftShader's work in seconds.
  await page.selectOption('#arch', 'network2');
  await page.waitForFunction(() => /New network/.test(document.getElementById('train-status').textContent));
  const { status, curve } = await train(page, { steps: 3, batch: 8, lr: 0.001, evalEvery: 3 });
  assert.match(status, /^Done after 3 steps/);
  console.log(`WebGPU: ${status}`);
  assert.equal(curve.loss.length, 3);
  for (const loss of curve.loss) assert.ok(Number.isFinite(loss) && loss > 0, `loss ${loss}`);

  await page.selectOption('#crop', '64');
  await page.click('#overlay', { position: { x: 300, y: 200 } });
  await page.click('#compare');
  await page.waitForFunction(() => window.cellseg.compare || !document.getElementById('error').hidden, null, { timeout: 600_000 });
  const compare = await page.evaluate(() => window.cellseg.compare);
  assert.ok(compare, await page.textContent('#error'));
  assert.ok(compare.maxDiff <= 1e-5, `max |dense - naive| = ${compare.maxDiff}`);
  console.log(`WebGPU 64x64: dense ${compare.denseMs.toFixed(0)} ms, naive ${compare.naiveMs.toFixed(0)} ms`);
});

test('auto picks the CPU when the only WebGPU adapter is a software one, and says why', async () => {
  const page = await browser.open('?data=/data/');
  assert.equal(await page.getAttribute('#backend', 'data-backend'), 'cpu');
  assert.match(await page.textContent('#backend'), /software \(fallback\) adapter/);
});
