// The in-page benchmark (bench.html) with its smallest plan: cellseg on the CPU and WebGPU
// and TF.js's wasm (threaded and not), webgpu and cpu backends each report their figures,
// the peers' dense twins equal their patch networks, the ratios show, and nothing leaves the
// page's origin.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { foreignRequests, launch } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('the bench page measures cellseg and TF.js side by side and shows the ratios', async () => {
  const page = await browser.open('?quick', { path: 'bench.html', ready: false });
  await page.waitForFunction(() => !document.getElementById('start').disabled);
  assert.match(await page.textContent('#adapter'), /WebGPU adapter: .* software adapter/);
  await page.click('#start');
  await page.waitForFunction(() => window.bench.state === 'done', null, { timeout: 600_000 });
  const runs = await page.evaluate(() => window.bench.runs);
  // the page is cross-origin isolated: both CPUs run on every core (TF.js's on at most 8),
  // then on one thread
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  assert.deepEqual(Object.keys(runs), ['cellseg-cpu', 'cellseg-cpu-1', 'cellseg-webgpu',
    ...(cores > 1 ? ['tfjs-wasm-threads'] : []), 'tfjs-wasm', 'tfjs-webgpu', 'tfjs-cpu']);
  if (cores > 1) {
    assert.match(runs['cellseg-cpu'].peer, new RegExp(`${cores} threads`));
    assert.match(runs['tfjs-wasm-threads'].peer, new RegExp(`wasm, ${Math.min(8, cores)} threads`));
  }
  assert.doesNotMatch(runs['cellseg-cpu-1'].peer, /threads/);
  for (const [id, run] of Object.entries(runs)) {
    assert.equal(run.error, undefined, `${id}: ${run.error}`);
    for (const key of ['dense_32_px_per_s', 'naive_px_per_s']) {
      assert.ok(run.figures[key] > 0 && Number.isFinite(run.figures[key]), `${id} ${key}: ${run.figures[key]}`);
    }
    if (id.startsWith('tfjs')) assert.ok(run.figures.dense_equals_patchwise_max_diff <= 1e-4, `${id} dense twin`);
    console.log(`${id}: ${JSON.stringify(run.figures)}`);
  }
  // training: cellseg everywhere, TF.js wherever it has the kernels (not on wasm)
  for (const id of ['cellseg-cpu', 'cellseg-cpu-1', 'cellseg-webgpu', 'tfjs-webgpu', 'tfjs-cpu']) assert.ok(runs[id].figures.train_4_patches_per_s > 0, id);
  assert.match(runs['tfjs-wasm'].errors.train_4_error, /Conv2DBackpropFilter/);
  assert.match(runs['tfjs-wasm'].peer, /wasm, 1 thread/);
  const ratios = await page.$$eval('#ratios tbody tr', (rows) => rows.map((r) => r.textContent));
  assert.ok(ratios.some((r) => /dense 32×32.*cellseg, CPU.*TF\.js, wasm.*\d×/.test(r)), ratios.join('\n'));
  if (cores > 1) assert.ok(ratios.some((r) => /cellseg, CPU(?!, 1).*TF\.js, wasm \(\d threads\)/.test(r)), ratios.join('\n'));
  assert.ok(ratios.some((r) => /cellseg, CPU, 1 thread.*TF\.js, wasm \(1 thread\)/.test(r)), ratios.join('\n'));
  assert.ok(ratios.some((r) => /fastest of each/.test(r)), ratios.join('\n'));
  assert.equal(await page.isDisabled('#download'), false);
  assert.deepEqual(await page.evaluate(() => window.cspViolations), [], 'the bench works under its CSP');
  assert.deepEqual(foreignRequests(browser), []);
});
