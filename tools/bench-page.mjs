// Runs the page's benchmark (bench.html) headless in Debian's Chromium with WebGPU on, and
// prints its results as JSON: cellseg on the CPU and on WebGPU, TF.js's wasm, webgpu and cpu
// backends, in the same browser, one after another. For `make bench`.
//
// Then, on the CPU, the time from opening the page to the first segmented 256×256 crop with
// the default pretrained network (a test image served from DATA, as `make demo` serves it).
//
// usage: node tools/bench-page.mjs [--no-whole] [--quick] > bench/page.json

import { chromium } from 'playwright-core';
import { serve } from './serve.mjs';
import { FLAGS } from '../tests/harness.mjs';

const args = new Set(process.argv.slice(2));
const DEADLINE_MS = 120 * 60_000;
const DATA = process.env.CELLSEG_DATA || new URL('../../shared/data/bsubtilis', import.meta.url).pathname;
const server = await serve({ port: 0, data: `${DATA}/upstream` });
const base = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: [...FLAGS, '--enable-unsafe-webgpu'],
});
try {
  const page = await browser.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  const query = ['run', args.has('--quick') && 'quick', args.has('--no-whole') && 'whole=0'].filter(Boolean).join('&');
  await page.goto(`${base}bench.html?${query}`);
  let last = '';
  const started = Date.now();
  for (;;) {
    const { state, status } = await page.evaluate(() => ({ state: window.bench.state, status: document.getElementById('status').textContent }));
    if (status !== last) console.error(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${(last = status)}`);
    if (state === 'done') break;
    // each run gives up after 20 minutes on its own (www/bench.js); this is the backstop
    if (Date.now() - started > DEADLINE_MS) throw new Error(`the benchmark did not finish in ${DEADLINE_MS / 60_000} minutes`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const result = await page.evaluate(() => ({
    userAgent: navigator.userAgent,
    adapter: window.bench.adapter,
    runs: window.bench.runs,
    ratios: window.bench.ratios,
  }));
  await page.close();
  if (!args.has('--quick')) result.firstCrop = await firstCrop();
  console.log(JSON.stringify(result, null, 2));
} finally {
  await browser.close();
  server.close();
}

// Opening the page (nothing cached) → a test image → the default 256×256 crop segmented by
// the pretrained networks: milliseconds since navigation started, as a reader would wait.
async function firstCrop() {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}?backend=cpu&data=/data/`);
  await page.waitForFunction(() => document.getElementById('backend').dataset.state === 'ready', null, { timeout: 120_000 });
  await page.click('#load-test');
  await page.waitForFunction(() => window.cellseg.image, null, { timeout: 120_000 });
  await page.click('#segment');
  await page.waitForFunction(() => /^Dense/.test(document.getElementById('segment-status').textContent), null, { timeout: 300_000 });
  const ms = await page.evaluate(() => performance.now());
  const status = await page.textContent('#segment-status');
  const segmentMs = Number(status.match(/in (\d+) ms/)?.[1]);
  console.error(`first crop: ${(ms / 1000).toFixed(2)} s after opening the page; ${status}`);
  await context.close();
  return { ms, segmentMs, status };
}
