// On the CPU backend in the worker: real training lowers the held-out mistake rate, a
// 256x256 crop segments, and the page stays responsive throughout.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { launch, loadTutorial, train, unzip } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('CPU: training lowers the held-out mistake rate; the main thread stays responsive', async () => {
  const page = await browser.open('?backend=cpu&data=/data/');
  assert.equal(await page.getAttribute('#backend', 'data-backend'), 'cpu');
  // the demo server isolates the page, so the CPU package runs on every core
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
  const cores = await page.evaluate(() => navigator.hardwareConcurrency);
  if (cores > 1) assert.match(await page.textContent('#backend'), new RegExp(`CPU \\(burn flex, ${cores} threads\\)`));
  await loadTutorial(page);
  // Responsiveness probe: a 10 ms timer on the main thread; a busy main thread shows up as a
  // gap between ticks. (Checked first on a deliberate 300 ms block.)
  const maxGap = () => page.evaluate(() => window.probe.maxGap);
  await page.evaluate(() => {
    window.probe = { last: performance.now(), maxGap: 0 };
    setInterval(() => {
      const now = performance.now();
      window.probe.maxGap = Math.max(window.probe.maxGap, now - window.probe.last);
      window.probe.last = now;
    }, 10);
  });
  await page.evaluate(() => { const end = performance.now() + 300; while (performance.now() < end); });
  await page.waitForTimeout(50);
  assert.ok((await maxGap()) >= 300, 'the probe sees a blocked main thread');
  await page.evaluate(() => { window.probe.maxGap = 0; window.probe.last = performance.now(); });
  const { status, curve } = await train(page, { steps: 300, batch: 32, lr: 0.001, evalEvery: 50 });
  assert.match(status, /^Done after 300 steps/);
  console.log(`CPU (wasm): ${status}`);
  const heldout = curve.heldout.filter((v) => v !== null);
  console.log(`held-out mistakes %: ${heldout.map((v) => v.toFixed(1)).join(' → ')}`);
  assert.ok(heldout.length >= 7, 'measured before training and every 50 steps');
  assert.ok(heldout[0] > 40, `an untrained network is near chance (${heldout[0]}%)`);
  assert.ok(heldout.at(-1) < 25, `after 300 steps: ${heldout.at(-1)}%`);
  const gap = await maxGap();
  console.log(`longest main-thread gap while training: ${gap.toFixed(0)} ms`);
  assert.ok(gap < 200, `the main thread was blocked for ${gap.toFixed(0)} ms`);

  await page.selectOption('#networks', 'trained');
  await page.selectOption('#crop', '256');
  await page.click('#segment');
  await page.waitForFunction(() => /^Dense/.test(document.getElementById('segment-status').textContent), null, { timeout: 300_000 });
  console.log(`CPU (wasm): ${await page.textContent('#segment-status')}`);
  const share = await page.evaluate(() => {
    const { probs, rect } = window.cellseg.lastProbs;
    const n = rect.width * rect.height;
    let cells = 0;
    for (let i = 0; i < n; i++) if (probs[n + i] > 0.8) cells++;
    return { n, cells: cells / n, w: rect.width, h: rect.height };
  });
  assert.equal(share.w, 256);
  assert.equal(share.h, 256);
  // Cells cover ~22% of the image; a trained network finds a plausible share.
  assert.ok(share.cells > 0.03 && share.cells < 0.6, `cell share ${share.cells}`);
});

// The held-out crop x 1100..1228, y 420..548 of phase_027 holds 19 labelled cells (counted in
// phase_027_cells_instances.png: 14 whole, 5 cut by the crop's border).
test('CPU: the pretrained networks segment a held-out crop right away; clean-up settings apply without rerunning', async () => {
  const page = await browser.open('?backend=cpu&data=/data/');
  await loadTutorial(page);
  assert.equal(await page.inputValue('#networks'), 'pretrained', 'the default');
  await page.selectOption('#crop', '128');
  await page.evaluate(() => { window.cellseg.crop = { x: 1100, y: 420 }; });
  await page.click('#segment');
  await page.waitForFunction(() => /^Dense/.test(document.getElementById('segment-status').textContent) ||
    !document.getElementById('error').hidden, null, { timeout: 300_000 });
  const status = await page.textContent('#segment-status');
  console.log(`CPU (wasm), pretrained: ${status}`);
  assert.match(status, /with the pretrained network/);
  const found = () => page.evaluate(() => ({
    count: window.cellseg.lastCells.areas.length,
    rect: window.cellseg.lastCells.rect,
    cellPixels: window.cellseg.lastCells.labels.filter((l) => l > 0).length,
  }));
  const first = await found();
  assert.deepEqual(first.rect, { x: 1100, y: 420, width: 128, height: 128 });
  assert.ok(first.count >= 15 && first.count <= 24, `${first.count} cells found, 19 labelled`);
  // post 2's size comparison against the 801 labelled cells of phase_027
  assert.match(await page.textContent('#sizes-status'),
    /^\d+ cells found \(median \d+ px\) vs 801 labelled in phase_027 \(median 377 px\): KS D = [\d.]+, p = /);
  const ks = await page.evaluate(() => window.cellseg.sizes);
  assert.ok(ks.d > 0 && ks.d < 1 && ks.p >= 0 && ks.p <= 1, JSON.stringify(ks));
  // A stricter threshold without growth keeps only the cores: fewer cell pixels, same map.
  const segmented = await page.evaluate(() => window.cellseg.lastProbs);
  await page.fill('#grow', '0.95');
  await page.fill('#threshold', '0.95');
  await page.locator('#threshold').blur(); // the change event, as leaving the field fires it (once)
  await page.waitForFunction(() => window.cellseg.lastCells.settings.threshold === 0.95 &&
    window.cellseg.lastCells.settings.growTo === 0.95);
  assert.ok(await page.evaluate(() => window.cellseg.lastCells.labels.filter((l) => l > 0).length) < first.cellPixels);
  assert.equal(await page.evaluate((p) => window.cellseg.lastProbs.ms === p.ms, segmented), true, 'the networks did not rerun');
  assert.match(await page.textContent('#segment-status'), /\d+ cells, median area \d+ px/);
  assert.deepEqual(await page.evaluate(() => window.cspViolations), [], 'the page works under its CSP');

  // the cells as a CSV: one row per cell, areas in µm² from the pixel size, image coordinates
  await page.fill('#pixel-size', '0.065');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-csv')]);
  assert.equal(download.suggestedFilename(), 'phase_027-cells.csv');
  const csv = (await readFile(await download.path(), 'utf8')).trim().split('\n');
  const cells = await page.evaluate(() => window.cellseg.lastCells.areas.length);
  const header = csv[0].split(',');
  assert.deepEqual(header.slice(0, 5), ['file', 'page', 'cell', 'area_px', 'area_um2']);
  assert.equal(csv.length, cells + 1);
  for (const line of csv.slice(1)) {
    const row = Object.fromEntries(line.split(',').map((v, i) => [header[i], v]));
    const [id, px, um2, x, y] = ['cell', 'area_px', 'area_um2', 'centroid_x', 'centroid_y'].map((k) => Number(row[k]));
    assert.equal(row.file, 'phase_027.tif');
    assert.ok(id >= 1 && px >= 1);
    assert.ok(Math.abs(um2 - px * 0.065 * 0.065) < 1e-3, line);
    assert.ok(x >= 1100 && x <= 1228 && y >= 420 && y <= 548, `centroid inside the crop: ${line}`);
    assert.ok(Number(row.mean_intensity) > 255, `16-bit file units: ${line}`);
    assert.ok(Number(row.length_um) >= Number(row.width_um), line);
  }

  // the ROI set for Fiji: one traced polygon per cell, named by id, inside the crop (read
  // here from the zip's central directory and ImageJ's header layout)
  const [rois] = await Promise.all([page.waitForEvent('download'), page.click('#download-rois')]);
  assert.equal(rois.suggestedFilename(), 'phase_027-rois.zip');
  const entries = unzip(await readFile(await rois.path()));
  assert.equal(entries.length, cells);
  entries.forEach(({ name, data }, k) => {
    assert.equal(name, `cell-${String(k + 1).padStart(4, '0')}.roi`);
    assert.equal(data.subarray(0, 4).toString('latin1'), 'Iout');
    assert.equal(data[6], 8, 'a traced polygon');
    const [top, left, bottom, right] = [8, 10, 12, 14].map((o) => data.readInt16BE(o));
    assert.ok(left >= 1100 && right <= 1228 && top >= 420 && bottom <= 548 && left < right && top < bottom, `${name}: ${[top, left, bottom, right]}`);
  });

  // the label image: a 16-bit TIFF of the crop, one id per cell
  await page.selectOption('#export-what', 'labels');
  await page.selectOption('#export-format', 'tiff');
  const [tiff] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  assert.equal(tiff.suggestedFilename(), 'phase_027-labels-x1100y420.tif');
  const bytes = await readFile(await tiff.path());
  assert.equal(bytes.subarray(0, 4).toString('latin1'), 'II*\0', 'a little-endian TIFF');
  assert.ok(bytes.length > 128 * 128 * 2, 'two bytes per pixel');

  // the three class probabilities as Fiji and napari read them: a float32 TIFF of three pages
  await page.selectOption('#export-what', 'probabilities');
  const [stack] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
  assert.equal(stack.suggestedFilename(), 'phase_027-probabilities-x1100y420.tif');
  const pages = tiffPages(await readFile(await stack.path()));
  assert.deepEqual(pages, Array(3).fill({ width: 128, height: 128, bits: 32, format: 3 }));
});

/** Each page's size and sample type, from a little-endian TIFF's directory chain. */
function tiffPages(bytes) {
  const pages = [];
  for (let at = bytes.readUInt32LE(4); at !== 0; at = bytes.readUInt32LE(at + 2 + 12 * bytes.readUInt16LE(at))) {
    const tag = (code) => {
      for (let i = 0; i < bytes.readUInt16LE(at); i++) {
        const o = at + 2 + 12 * i;
        if (bytes.readUInt16LE(o) === code) return bytes.readUInt16LE(o + 2) === 3 ? bytes.readUInt16LE(o + 8) : bytes.readUInt32LE(o + 8);
      }
      return undefined;
    };
    pages.push({ width: tag(256), height: tag(257), bits: tag(258), format: tag(339) });
  }
  return pages;
}

test('CPU: training pauses, resumes and stops between steps, keeping what it learned', async () => {
  const page = await browser.open('?backend=cpu&data=/data/');
  await loadTutorial(page);
  await page.fill('#steps', '100000');
  await page.fill('#batch', '16');
  await page.fill('#eval-every', '1000');
  await page.click('#train');
  await page.waitForFunction(() => window.cellseg.trainedSteps >= 3);
  await page.click('#pause');
  await page.waitForFunction(() => /^Paused at step/.test(document.getElementById('train-status').textContent));
  const paused = await page.evaluate(() => window.cellseg.trainedSteps);
  await page.waitForTimeout(1000);
  assert.equal(await page.evaluate(() => window.cellseg.trainedSteps), paused, 'no steps while paused');
  await page.click('#resume');
  await page.waitForFunction((n) => window.cellseg.trainedSteps >= n + 3, paused);
  await page.click('#stop');
  await page.waitForFunction(() => /^Stopped after \d+ steps/.test(document.getElementById('train-status').textContent));
  const stopped = await page.evaluate(() => window.cellseg.trainedSteps);
  assert.ok(stopped >= paused + 3 && stopped < 1000, `stopped at ${stopped}`);
  // Train again: it continues from the trained network (the step count goes on).
  assert.equal(await page.isEnabled('#train'), true);
  await page.fill('#steps', '2');
  await page.click('#train');
  await page.waitForFunction(() => /^Done after 2 steps/.test(document.getElementById('train-status').textContent));
  assert.equal(await page.evaluate(() => window.cellseg.trainedSteps), stopped + 2);
  // New labels drop the prepared run (the worker's session says so); Train starts a new one.
  assert.deepEqual(await page.evaluate(() => window.cellseg.session.trainer), { learnsFrom: 'labels', seed: 1 });
  await page.click('#load-tutorial');
  await page.waitForFunction(() => window.cellseg.session?.trainer === null && window.cellseg.labelled, null, { timeout: 120_000 });
  await page.fill('#steps', '1');
  await page.click('#train');
  await page.waitForFunction(() => /^(Done|Training failed)/.test(document.getElementById('train-status').textContent));
  assert.match(await page.textContent('#train-status'), /^Done after 1 steps/);
});

test('CPU: a test image segments with the pretrained networks and yours averaged; any class map shows', async () => {
  const page = await browser.open('?backend=cpu&data=/data/');
  await page.selectOption('#test-image', 'phase_033.tif');
  await page.click('#load-test');
  await page.waitForFunction(() => window.cellseg.image?.name === 'phase_033.tif');
  assert.match(await page.textContent('#data-status'), /^phase_033\.tif: 1392 × 1040 pixels, 16-bit, no labels/);
  await page.selectOption('#networks', 'both');
  await page.selectOption('#crop', '64');
  await page.click('#segment');
  await page.waitForFunction(() => /^Dense/.test(document.getElementById('segment-status').textContent) ||
    !document.getElementById('error').hidden, null, { timeout: 300_000 });
  assert.match(await page.textContent('#segment-status'), /with the pretrained network and yours/);
  assert.match(await page.textContent('#sizes-status'), /^(Load the tutorial labels|No cells)/);
  const shown = () => page.evaluate(() => {
    const c = document.getElementById('prob');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum += d[i];
    return sum;
  });
  const cell = await shown();
  await page.selectOption('#prob-class', '2');
  const edge = await shown();
  await page.selectOption('#prob-class', '0');
  const other = await shown();
  assert.ok(cell !== edge && edge !== other, `${cell} ${edge} ${other}`);
  // post 2's averaging over space: the median-filtered p(cell) differs from the raw one,
  // and with radius 0 it is the raw one
  await page.selectOption('#prob-class', 'smoothed');
  await page.waitForFunction(() => window.cellseg.smoothed);
  const smoothed = await shown();
  assert.notEqual(smoothed, cell);
  await page.fill('#median', '0');
  await page.locator('#median').blur(); // the change event, as leaving the field fires it (once)
  await page.waitForFunction(() => window.cellseg.lastCells.settings.median === 0);
  await page.waitForFunction((c) => {
    const canvas = document.getElementById('prob');
    const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let sum = 0;
    for (let i = 0; i < d.length; i += 4) sum += d[i];
    return Math.abs(sum - c) <= 64 * 64; // equal up to the 1/255 steps the filter works in
  }, cell);
  // the three maps are probabilities: per pixel they sum to one, so their images sum to ~255 each
  const pixels = 64 * 64;
  assert.ok(Math.abs((cell + edge + other) / pixels - 255) < 2, `${(cell + edge + other) / pixels}`);
});
