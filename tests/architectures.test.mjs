// "Architectures": the presets table is computed from the specs, the editor's table follows
// the typing, an invalid network is refused with where it ends, and a valid one can be trained.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch } from './harness.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('presets side by side; the editor refuses a network that stops short and trains a valid one', async () => {
  const page = await browser.open('?backend=cpu');
  await page.waitForFunction(() => document.querySelectorAll('#presets-table tbody tr').length === 5);
  const original = await page.$$eval('#presets-table tbody tr:first-child td', (tds) => tds.map((td) => td.textContent));
  assert.deepEqual(original.slice(0, 3), ['original', 'conv4x20 pool conv3x40 conv3x80 pool conv3x120 conv3x240 fc1000',
    '31 → 28 → 14 → 12 → 10 → 5 → 3 → 1']);
  await page.waitForFunction(() => /^Reaches 1×1/.test(document.getElementById('arch-error').textContent));
  assert.match(await page.textContent('#arch-error'), /^Reaches 1×1: [\d,]+ parameters, receptive field 31×31/);
  assert.equal(await page.locator('#layer-table tbody tr').count(), 7);
  // the dense twin's taps, layer by layer: dilation doubles after each pool
  await page.waitForFunction(() => document.querySelectorAll('#taps figure').length === 7);
  const taps = await page.$$eval('#taps figcaption', (cs) => cs.map((c) => c.textContent.match(/d = (\d+)/)[1]));
  assert.deepEqual(taps, ['1', '1', '2', '2', '2', '4', '4']);
  assert.match(await page.textContent('#taps-status'), /sees a 31×31 field/);

  await page.fill('#arch-text', 'conv4x20 pool conv3x40');
  await page.waitForFunction(() => document.querySelectorAll('#layer-table tbody tr').length === 3);
  assert.equal(await page.textContent('#arch-error'),
    'a 31x31 patch ends at 12x12x40 after layer 3 (conv3x40), but the head needs 1x1: add layers that shrink it by 11 more');
  assert.equal(await page.isDisabled('#arch-use'), true);

  await page.fill('#arch-text', 'conv3x');
  await page.waitForFunction(() => /unknown layer 'conv3x'/.test(document.getElementById('arch-error').textContent));
  assert.equal(await page.locator('#layer-table tbody tr').count(), 0);

  const small = 'conv4x8 pool conv3x16 conv3x16 pool conv3x16 conv3x32 fc64';
  await page.fill('#arch-text', small);
  await page.waitForFunction(() => /^Reaches 1×1/.test(document.getElementById('arch-error').textContent));
  await page.click('#arch-use');
  await page.waitForFunction(() => /^New network: /.test(document.getElementById('train-status').textContent));
  assert.equal(await page.inputValue('#arch'), small);
  assert.match(await page.textContent('#train-status'), new RegExp(small));
});

test('a shared link opens with its network and settings, and the URL follows changes', async () => {
  const custom = 'conv4x8 pool conv3x16 conv3x16 pool conv3x16 conv3x32 fc64';
  const page = await browser.open(`?backend=cpu&arch=${encodeURIComponent(custom)}&lr=0.002&batch=32` +
    '&threshold=0.7&grow=0.3&nets=trained&augment=0&crop=128&median=99&rim=1&minContrast=2&minShare=0#arch-section');
  await page.waitForFunction(() => /^New network: /.test(document.getElementById('train-status').textContent));
  assert.equal(await page.inputValue('#arch'), custom);
  assert.equal(await page.inputValue('#lr'), '0.002');
  assert.equal(await page.inputValue('#batch'), '32');
  assert.equal(await page.inputValue('#threshold'), '0.7');
  assert.equal(await page.inputValue('#grow'), '0.3');
  assert.equal(await page.inputValue('#networks'), 'trained');
  assert.equal(await page.inputValue('#crop'), '128');
  assert.equal(await page.isChecked('#augment'), false);
  assert.equal(await page.inputValue('#median'), '2', 'out of range (max 7): ignored');
  assert.deepEqual(
    [await page.inputValue('#rim'), await page.inputValue('#min-contrast'), await page.inputValue('#min-share')],
    ['1', '2', '0'], 'the whole clean-up travels in the link');
  assert.equal(new URL(page.url()).hash, '#arch-section');
  await page.fill('#steps', '42'); // scrolls to chapter 2
  await page.locator('#steps').blur(); // the change event, as leaving the field fires it (once)
  const url = new URL(page.url());
  assert.equal(url.searchParams.get('steps'), '42');
  assert.equal(url.searchParams.get('arch'), custom);
  assert.equal(url.searchParams.get('backend'), 'cpu', 'other parameters are kept');
  await page.waitForFunction(() => location.hash === '#train-section');
  assert.equal(new URL(page.url()).hash, '#train-section', 'the link follows the chapter being read');
});

test('the editor rows add, move and remove layers; the table and the verdict follow', async () => {
  const page = await browser.open('?backend=cpu');
  await page.waitForFunction(() => /^Reaches 1×1/.test(document.getElementById('arch-error').textContent));
  assert.equal(await page.locator('#layer-list li').count(), 8, 'seven layers and the head');
  // a third pool shrinks the patch too far
  await page.click('#add-pool');
  assert.equal(await page.inputValue('#arch-text'), 'conv4x20 pool conv3x40 conv3x80 pool conv3x120 conv3x240 pool fc1000');
  await page.waitForFunction(() => document.getElementById('arch-error').classList.contains('bad'));
  assert.match(await page.textContent('#arch-error'), /^layer 8 \(pool\) receives a 1x1 map: too small for it$/);
  assert.equal(await page.isDisabled('#arch-use'), true);
  // moving it up one row changes where the patch runs out, not whether
  const verdict = await page.textContent('#arch-error');
  await page.click('[aria-label="move up layer 8"]');
  assert.equal(await page.inputValue('#arch-text'), 'conv4x20 pool conv3x40 conv3x80 pool conv3x120 pool conv3x240 fc1000');
  await page.waitForFunction((before) => document.getElementById('arch-error').textContent !== before, verdict);
  assert.match(await page.textContent('#arch-error'), /^layer 8 \(conv3x240\) receives a 1x1 map/);
  await page.click('[aria-label="remove layer 7"]');
  await page.waitForFunction(() => /^Reaches 1×1/.test(document.getElementById('arch-error').textContent));
  assert.equal(await page.inputValue('#arch-text'), 'conv4x20 pool conv3x40 conv3x80 pool conv3x120 conv3x240 fc1000');
  // a row's fields rewrite the text: a 5x5 first kernel leaves the last conv at 2x2
  await page.fill('[aria-label="layer 1 kernel"]', '5');
  await page.waitForFunction(() => document.getElementById('arch-error').classList.contains('bad'));
  assert.match(await page.inputValue('#arch-text'), /^conv5x20 /);
  await page.fill('[aria-label="layer 8 hidden units"]', '64');
  assert.match(await page.inputValue('#arch-text'), / fc64$/);
  // typing rebuilds the rows
  await page.fill('#arch-text', 'conv4x8 pool conv3x16 conv3x16 pool conv3x16 conv3x32 fc64');
  assert.equal(await page.locator('#layer-list li').count(), 8);
  assert.equal(await page.inputValue('[aria-label="layer 3 filters"]'), '16');
  await page.click('#add-conv');
  assert.equal(await page.locator('#layer-list li').count(), 9);
  assert.match(await page.inputValue('#arch-text'), /conv3x32 conv3x40 fc64$/);
});

test('networks trained side by side share batches and one chart', async () => {
  const page = await browser.open('?colony=3&backend=cpu');
  await page.click('#load-colony');
  await page.waitForFunction(() => window.cellseg.labelled);
  // one ticked network is refused
  await page.uncheck('#compare-nets input[value=network1]');
  await page.click('#compare-train');
  assert.equal(await page.textContent('#compare-status'), 'Tick at least two networks to compare.');
  await page.uncheck('#compare-nets input[value=original]');
  await page.check('#compare-nets input[value=network2]');
  await page.check('#compare-nets input[value=edited]');
  await page.fill('#arch-text', 'conv4x8 pool conv3x16 conv3x16 pool conv3x16 conv3x32 fc64');
  await page.fill('#batch', '8');
  await page.fill('#compare-steps', '6');
  await page.fill('#compare-every', '3');
  await page.click('#compare-train');
  await page.waitForFunction(() => /^(Done|The comparison failed)/.test(document.getElementById('compare-status').textContent),
    null, { timeout: 300_000 });
  assert.match(await page.textContent('#compare-status'), /^Done after 6 steps: network2 [\d.]+%, edited [\d.]+% held-out mistakes\.$/);
  const curves = await page.evaluate(() => window.cellseg.comparison.curves);
  assert.deepEqual(curves.names, ['network2', 'edited']);
  assert.deepEqual(curves.step, [0, 3, 6], 'held-out checks before training and every 3 steps');
  for (const curve of curves.heldout) {
    assert.equal(curve.length, 3);
    assert.ok(curve.every((v) => v >= 0 && v <= 100));
  }
  assert.notDeepEqual(curves.heldout[0], curves.heldout[1], 'two networks, two curves');
  assert.equal(await page.locator('#compare-curve .u-series').count(), 3, 'step axis + two networks');
  assert.equal(await page.isDisabled('#train'), false, 'chapter 2 is free again');
  console.log(`side by side: ${await page.textContent('#compare-status')}`);
});
