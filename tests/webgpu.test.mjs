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

  await page.selectOption('#networks', 'trained');
  await page.selectOption('#crop', '64');
  await page.click('#overlay', { position: { x: 300, y: 200 } });
  await page.click('#compare');
  await page.waitForFunction(() => window.cellseg.compare || !document.getElementById('error').hidden, null, { timeout: 600_000 });
  const compare = await page.evaluate(() => window.cellseg.compare);
  assert.ok(compare, await page.textContent('#error'));
  assert.ok(compare.maxDiff <= 1e-5, `max |dense - naive| = ${compare.maxDiff}`);
  assert.match(await page.textContent('#race-status'), /whole 1392 × 1040 image would take [\d.]+ min patch by patch, [\d.]+ min densely/);
  console.log(`WebGPU 64x64: dense ${compare.denseMs.toFixed(0)} ms, naive ${compare.naiveMs.toFixed(0)} ms`);

  // The pretrained networks (stored in f16) load onto the GPU and find cells.
  await page.selectOption('#networks', 'pretrained');
  await page.click('#segment');
  await page.waitForFunction(() => /^Dense.*with the pretrained network/.test(document.getElementById('segment-status').textContent) ||
    !document.getElementById('error').hidden, null, { timeout: 600_000 });
  assert.equal(await page.isHidden('#error'), true, await page.textContent('#error'));
  console.log(`WebGPU: ${await page.textContent('#segment-status')}`);
  assert.ok(await page.evaluate(() => window.cellseg.lastCells.areas.length) > 0);
  assert.deepEqual(await page.evaluate(() => window.cspViolations), [], 'WebGPU works under the CSP');
});

test('auto picks the CPU when the only WebGPU adapter is a software one, and says why', async () => {
  const page = await browser.open('?data=/data/');
  assert.equal(await page.getAttribute('#backend', 'data-backend'), 'cpu');
  assert.match(await page.textContent('#backend'), /software \(fallback\) adapter/);
});

// Same seed, same backend: on the CPU the weights match bit for bit (a native test); on WebGPU
// the documented tolerance is 1e-4 in any class probability (the GPU may sum in another order).
test('WebGPU: the same seed trains the same network, within 1e-4 in every probability', async () => {
  const page = await browser.open('?colony=3&backend=webgpu&arch=network2&seed=7');
  assert.equal(await page.getAttribute('#backend', 'data-backend'), 'webgpu');
  await page.click('#load-colony');
  await page.waitForFunction(() => window.cellseg.labelled, null, { timeout: 120_000 }); // SwiftShader is slow under load
  await page.selectOption('#networks', 'trained');
  await page.selectOption('#crop', '64');
  const run = async () => {
    await page.click('#reset');
    await page.waitForFunction(() => /^New network/.test(document.getElementById('train-status').textContent));
    await train(page, { steps: 2, batch: 8, lr: 0.001, evalEvery: 2 });
    await page.click('#segment');
    await page.waitForFunction(() => /^Dense/.test(document.getElementById('segment-status').textContent), null, { timeout: 300_000 });
    const probs = await page.evaluate(() => Array.from(window.cellseg.lastProbs.probs));
    await page.evaluate(() => { document.getElementById('segment-status').textContent = ''; });
    return probs;
  };
  const first = await run();
  const second = await run();
  const diff = Math.max(...first.map((v, i) => Math.abs(v - second[i])));
  console.log(`WebGPU, same seed twice: max |difference| ${diff.toExponential(2)}`);
  assert.ok(diff <= 1e-4, `max |difference| ${diff}`);
});

test('WebGPU: a lost device restarts the page on the CPU with its image, labels and network', async () => {
  const page = await browser.open('?colony=3&backend=webgpu&arch=network2&testhooks=1');
  assert.equal(await page.getAttribute('#backend', 'data-backend'), 'webgpu');
  await page.click('#load-colony');
  await page.waitForFunction(() => window.cellseg.labelled, null, { timeout: 120_000 }); // SwiftShader is slow under load
  const image = await page.evaluate(() => window.cellseg.image.name);
  await train(page, { steps: 2, batch: 8, lr: 0.001, evalEvery: 2 });
  await page.waitForFunction(() => window.cellseg.checkpoint);
  const saved = await page.evaluate(() => window.cellseg.checkpoint.steps);
  // what device.destroy() does is what a driver reset or a GPU unplugged does to the page
  await page.evaluate(() => window.cellsegClient.signal('testLoseDevice'));
  await page.waitForFunction(() => /Now running on the CPU|could not take over/.test(document.getElementById('error').textContent),
    null, { timeout: 120_000 });
  assert.match(await page.textContent('#error'),
    new RegExp(`^The GPU was lost \\(.*\\)\\. Now running on the CPU with image and labels, the network as of step ${saved}\\.$`));
  assert.equal(await page.getAttribute('#backend', 'data-backend'), 'cpu');
  assert.equal(await page.evaluate(() => window.cellseg.image.name), image);
  // the restored network segments, now on the CPU
  await page.selectOption('#networks', 'trained');
  await page.selectOption('#crop', '64');
  await page.click('#segment');
  await page.waitForFunction(() => /^Dense/.test(document.getElementById('segment-status').textContent), null, { timeout: 120_000 });
  await page.click('#train');
  await page.waitForFunction(() => /^(Done|Training failed)/.test(document.getElementById('train-status').textContent), null, { timeout: 120_000 });
  assert.match(await page.textContent('#train-status'), /^Done after 2 steps/, 'training goes on, on the CPU');
});
