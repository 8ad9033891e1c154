// Hostile files dropped on the page: each gets a specific message, the page stays responsive,
// and what was there before (image, labels, trained network, paint) survives. The network and
// the paint also survive a reload (autosave in IndexedDB).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { foreignRequests, launch, npy, png as pngOf, pngClaiming, tiff16 } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// What the page holds, to check nothing was lost.
const snapshot = (page) => page.evaluate(() => ({
  image: window.cellseg.image.name,
  size: [window.cellseg.image.width, window.cellseg.image.height],
  labelled: window.cellseg.labelled,
  steps: window.cellseg.trainedSteps,
  paint: document.getElementById('paint-status').textContent,
}));

test('hostile files get specific messages and lose nothing already loaded', async () => {
  const page = await browser.open('?colony=3&backend=cpu&batch=8&steps=2');
  await page.click('#load-colony');
  await page.waitForFunction(() => window.cellseg.labelled);
  await page.click('#train');
  await page.waitForFunction(() => /^Done/.test(document.getElementById('train-status').textContent));
  await page.selectOption('#brush', '1');
  await page.click('#overlay', { position: { x: 100, y: 80 } });
  await page.selectOption('#brush', 'off');
  const before = await snapshot(page);
  assert.match(before.paint, /^painted: \d+ cell/);

  const tiff = tiff16([{ width: 64, height: 48, value: (x, y) => (x * 97 + y * 31) % 4096 }]);
  const png = (name, buffer) => ({ name, mimeType: 'image/png', buffer });
  const goodPng = pngOf(64, 48, 16, (x, y) => (x * 997 + y * 31) % 65536);
  const jpeg = Buffer.from(await page.evaluate(async () => {
    const canvas = new OffscreenCanvas(64, 48);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = '#777';
    ctx.fillRect(0, 0, 64, 48);
    ctx.fillStyle = '#222';
    ctx.fillRect(10, 10, 20, 30);
    return Array.from(new Uint8Array(await (await canvas.convertToBlob({ type: 'image/jpeg' })).arrayBuffer()));
  }));
  const tiny = (claim) => tiff16([{ width: 2, height: 2, value: () => 1, claim }]);
  const cases = [
    [png('cut.png', goodPng.subarray(0, goodPng.length / 2)), /could not decode the image/],
    [{ name: 'cut.jpg', mimeType: 'image/jpeg', buffer: jpeg.subarray(0, jpeg.length / 2) }, /could not decode the image/],
    [{ name: 'zero.tif', mimeType: 'image/tiff', buffer: tiny([0, 5]) }, /the image is empty \(0 pixels\)/],
    [{ name: 'bomb.tif', mimeType: 'image/tiff', buffer: tiny([100000, 100000]) }, /the limit is 64 megapixels/],
    [{ name: 'liar.tif', mimeType: 'image/tiff', buffer: tiny([4000, 4000]) }, /could not decode the image/],
    [{ name: 'magic.tif', mimeType: 'image/tiff', buffer: Buffer.from('II*\0') }, /could not decode the image/],
    [{ name: 'notes.tif', mimeType: 'image/tiff', buffer: Buffer.from('Dear reviewer, this is not a TIFF.') }, /not an image we can read/],
    [{ name: 'empty.png', mimeType: 'image/png', buffer: Buffer.alloc(0) }, /not an image we can read/],
    [{ name: 'cut.tif', mimeType: 'image/tiff', buffer: tiff.subarray(0, tiff.length / 2) }, /could not decode the image/],
    [png('bomb.png', pngClaiming(100000, 100000)), /100000x100000 pixels; the limit is 64 megapixels/],
    [png('nothing.png', pngClaiming(0, 0)), /the image is empty \(0 pixels\)/],
    [png('junk.png', Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.from('0123456789')])), /could not decode the image/],
    [png('labels.png', pngClaiming(10, 10)), /could not decode the image/],
    [{ name: 'random.cellseg', mimeType: 'application/octet-stream', buffer: Buffer.from([7, 1, 2, 3, 4, 5]) }, /not a cellseg weights file/],
    [{ name: 'cut.cellseg', mimeType: 'application/octet-stream', buffer: Buffer.from('cellseg weights 1\nnetwork2\nconv6x10 pool') }, /weights file/],
  ];
  for (const [file, message] of cases) {
    await page.evaluate(() => { document.getElementById('error').hidden = true; });
    await page.setInputFiles('#file', file);
    await page.waitForSelector('#error:not([hidden])');
    const text = await page.textContent('#error');
    assert.match(text, message, file.name);
    assert.deepEqual(await snapshot(page), before, `${file.name}: nothing lost`);
  }
  // labels: the wrong size, a value that is no class, and .npy masks of the wrong type
  const classPng = async (w, h, value) => page.evaluate(async ({ w, h, value }) => {
    const canvas = new OffscreenCanvas(w, h);
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = `rgb(${value},${value},${value})`;
    ctx.fillRect(0, 0, w, h);
    return Array.from(new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer()));
  }, { w, h, value });
  const labelCases = [
    [[png('wrong_size_labels.png', Buffer.from(await classPng(100, 50, 1)))], /the labels are 100x50 pixels but the image is 512x384/],
    [[png('seven_labels.png', Buffer.from(await classPng(512, 384, 7)))], /has value 7 at \(0, 0\); classes are 0 = other, 1 = cell, 2 = edge/],
    [['cells', 'edges', 'other'].map((m) => ({ name: `x_mask_${m}.npy`, mimeType: 'application/octet-stream', buffer: npy('<f4', [384, 512], Buffer.alloc(4 * 384 * 512)) })),
      /expected a 2-D uint8 mask, found shape \[384, 512\], dtype <f4/],
    [[{ name: 'x_mask_cells.npy', mimeType: 'application/octet-stream', buffer: npy('|u1', [384, 512], Buffer.alloc(384 * 512)) }],
      /Drop all three .npy masks together/],
  ];
  for (const [files, message] of labelCases) {
    await page.evaluate(() => { document.getElementById('error').hidden = true; });
    await page.setInputFiles('#file', files);
    await page.waitForSelector('#error:not([hidden])');
    assert.match(await page.textContent('#error'), message, files[0].name);
    assert.deepEqual(await snapshot(page), before, `${files[0].name}: nothing lost`);
  }
  // a two-page TIFF whose second page points past the end of the file: page 1 loads, page 2
  // is refused by name, and page 1 stays
  const broken = tiff16([{ width: 40, height: 30, value: (x) => 1000 + 30 * x },
    { width: 40, height: 30, value: () => 5, stripAt: 10_000_000 }]);
  await page.setInputFiles('#file', { name: 'stack.tif', mimeType: 'image/tiff', buffer: broken });
  await page.waitForFunction(() => window.cellseg.image.name === 'stack.tif');
  assert.match(await page.textContent('#data-status'), /page 1 of 2/);
  await page.evaluate(() => { document.getElementById('error').hidden = true; });
  await page.selectOption('#page', '1');
  await page.waitForSelector('#error:not([hidden])');
  assert.match(await page.textContent('#error'), /^page 2 of the TIFF could not be read: /);
  assert.equal(await page.inputValue('#page'), '0', 'the menu shows the page still loaded');
  assert.match(await page.textContent('#data-status'), /^stack\.tif: 40 × 30 pixels, 16-bit, page 1 of 2/);

  // still working: a colony segments with the network trained before
  await page.click('#load-colony');
  await page.waitForFunction(() => window.cellseg.labelled);
  await page.selectOption('#crop', '64');
  await page.selectOption('#networks', 'trained');
  await page.click('#segment');
  await page.waitForFunction(() => /^Dense/.test(document.getElementById('segment-status').textContent), null, { timeout: 120_000 });
  assert.deepEqual(await page.evaluate(() => window.cspViolations), []);
});

test('the trained network and the paint survive a reload', async () => {
  const page = await browser.open('?colony=3&backend=cpu&batch=8&steps=3&arch=network2');
  const file = { name: 'mine.tif', mimeType: 'image/tiff', buffer: tiff16([{ width: 80, height: 60, value: (x, y) => ((x % 12 < 5) ? 900 : 1400) + y }]) };
  await page.setInputFiles('#file', file);
  await page.waitForFunction(() => window.cellseg.image?.name === 'mine.tif');
  await page.selectOption('#brush', '2');
  await page.click('#overlay', { position: { x: 50, y: 40 } });
  await page.waitForFunction(() => window.cellseg.paintSaved);
  const painted = await page.textContent('#paint-status');
  await page.click('#load-colony');
  await page.waitForFunction(() => window.cellseg.labelled);
  await page.click('#train');
  // training starts once the colony's scale is set and ends with the network saved
  await page.waitForFunction(() => window.cellseg.networkSaved, null, { timeout: 120_000 });

  await page.reload();
  await page.waitForFunction(() => document.getElementById('backend').dataset.state === 'ready');
  await page.waitForSelector('#restore:not([hidden])');
  assert.match(await page.textContent('#restore'), /^Restore the network saved .* \(3 steps\)$/);
  await page.click('#restore');
  await page.waitForFunction(() => /^Restored the network from your last visit: network2/.test(document.getElementById('train-status').textContent));
  assert.equal(await page.inputValue('#arch'), 'network2');
  // the same image again: its paint comes back
  await page.setInputFiles('#file', file);
  await page.waitForFunction(() => /restored from your last visit/.test(document.getElementById('paint-status').textContent));
  assert.equal(await page.textContent('#paint-status'), `${painted} (restored from your last visit)`);
});

test('privacy: in all of the above, nothing was requested from anywhere but the page', () => {
  assert.ok(browser.requests.length > 0);
  assert.deepEqual(foreignRequests(browser), []);
});
