// Your own files: a dropped image segments; bad files and failed downloads give readable
// messages and keep what was loaded; no WebGPU means CPU with a reason.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// Draws a synthetic phase-contrast-like image in the page and drops it as a PNG file.
async function dropGeneratedPng(page, name) {
  await page.evaluate(async (name) => {
    const canvas = new OffscreenCanvas(96, 80);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#777';
    ctx.fillRect(0, 0, 96, 80);
    ctx.fillStyle = '#333';
    for (let i = 0; i < 6; i++) ctx.fillRect(10 + 14 * i, 20 + 5 * (i % 3), 8, 30);
    const blob = await canvas.convertToBlob({ type: 'image/png' });
    const transfer = new DataTransfer();
    transfer.items.add(new File([blob], name, { type: 'image/png' }));
    document.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true }));
  }, name);
}

// Drops a PNG of gray noise (a field without cells), 8-bit as cheap cameras write it.
async function dropNoisePng(page, name) {
  await page.evaluate(async (name) => {
    const [w, h] = [128, 128];
    const canvas = new OffscreenCanvas(w, h);
    const ctx = canvas.getContext('2d');
    const pixels = ctx.createImageData(w, h);
    let state = 7;
    const uniform = () => { state = (state * 1103515245 + 12345) % 2147483648; return state / 2147483648; };
    for (let i = 0; i < w * h; i++) {
      const v = 120 + 12 * (uniform() + uniform() + uniform() - 1.5);
      pixels.data.set([v, v, v, 255], 4 * i);
    }
    ctx.putImageData(pixels, 0, 0);
    const blob = await canvas.convertToBlob({ type: 'image/png' });
    const transfer = new DataTransfer();
    transfer.items.add(new File([blob], name, { type: 'image/png' }));
    document.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true }));
  }, name);
}

test('a dropped image segments; a bad file is refused and the image stays', async () => {
  const page = await browser.open('?backend=cpu');
  await dropGeneratedPng(page, 'colony <b>1</b>.png');
  await page.waitForFunction(() => window.cellseg.image?.width === 96);
  assert.match(await page.textContent('#data-status'), /colony <b>1<\/b>\.png: 96 × 80 pixels/);
  // the scale of a dropped image is measured from the image, and the page says so
  await page.waitForFunction(() => /^Scale × /.test(document.getElementById('scale-status').textContent));
  assert.match(await page.textContent('#scale-status'), /^Scale × [\d.]+(, measured from the image: its cells answer best at σ [\d.]+ px|: .+\.)/);

  await page.setInputFiles('#file', { name: 'notes.tif', mimeType: 'image/tiff', buffer: Buffer.from('this is not a TIFF') });
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.textContent('#error'), /not an image we can read/);
  assert.equal(await page.evaluate(() => window.cellseg.image.width), 96, 'the previous image is kept');

  await page.selectOption('#crop', '64');
  await page.click('#segment');
  await page.waitForFunction(() => /^Dense/.test(document.getElementById('segment-status').textContent), null, { timeout: 120_000 });
  const size = await page.evaluate(() => window.cellseg.lastProbs.probs.length);
  assert.equal(size, 3 * 64 * 64);
  assert.match(await page.textContent('#segment-status'), /with the pretrained network/);
  assert.match(await page.textContent('#segment-status'), /; \d+ cells, median area \d+ px\.$/);
  assert.deepEqual(await page.evaluate(() => window.cspViolations), [], 'the page works under its CSP');
});

test('a dropped field of noise has no scale to measure and no cells', async () => {
  const page = await browser.open('?backend=cpu');
  await dropNoisePng(page, 'empty field.png');
  await page.waitForFunction(() => window.cellseg.image?.width === 128);
  await page.waitForFunction(() => /^Scale × 1: no cells stand out from the noise/.test(document.getElementById('scale-status').textContent));
  await page.selectOption('#crop', '128');
  await page.click('#segment');
  await page.waitForFunction(() => /^Dense/.test(document.getElementById('segment-status').textContent), null, { timeout: 120_000 });
  assert.match(await page.textContent('#segment-status'), /; 0 cells, median area 0 px\.$/);
});

test('weights save as a file and load back; a foreign file is refused', async () => {
  const page = await browser.open('?backend=cpu');
  await page.selectOption('#arch', 'network3');
  await page.waitForFunction(() => /New network/.test(document.getElementById('train-status').textContent));
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#save')]);
  assert.match(download.suggestedFilename(), /^network3-0steps\.cellseg$/);
  const bytes = await (await download.createReadStream()).toArray().then(Buffer.concat);
  assert.ok(bytes.subarray(0, 17).toString() === 'cellseg weights 1', 'a weights file');

  await page.setInputFiles('#file', { name: 'random.cellseg', mimeType: 'application/octet-stream', buffer: Buffer.from([1, 2, 3, 4]) });
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.textContent('#error'), /not a cellseg weights file/);

  await page.setInputFiles('#file', { name: 'saved.cellseg', mimeType: 'application/octet-stream', buffer: bytes });
  await page.waitForFunction(() => /^Loaded weights: network3/.test(document.getElementById('train-status').textContent));
});

test('a failed download says what failed', async () => {
  const page = await browser.open('?backend=cpu&data=/nowhere/');
  await page.click('#load-tutorial');
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.textContent('#error'), /Could not download .*phase_027\.tif: HTTP 404 .*\(and 3 more of the 4 files\)/);
});

test('only the page’s own origin is contacted', async () => {
  const origin = new URL(browser.base).origin;
  const foreign = browser.requests.filter((u) => !u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:'));
  assert.deepEqual(foreign, []);
});

test('without WebGPU the page runs on the CPU and says so', async () => {
  const plain = await launch({ webgpu: false });
  try {
    const page = await plain.open('');
    assert.equal(await page.getAttribute('#backend', 'data-backend'), 'cpu');
    assert.match(await page.textContent('#backend'), /CPU chosen: (this browser has no WebGPU|WebGPU is present but offers no adapter)/);
  } finally {
    await plain.close();
  }
});
