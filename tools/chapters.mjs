// Screenshots of each chapter after a reader's steps, for reviewing the layout by eye:
// node tools/chapters.mjs OUTDIR [width]   (after `make pkg`)

import { launch, loadTutorial, train } from '../tests/harness.mjs';

const [out = '.', width = '1400'] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await browser.open('?backend=cpu&data=/data/');
  await page.setViewportSize({ width: Number(width), height: 900 });
  await loadTutorial(page);
  await page.check('#show-labels');
  await page.click('#overlay', { position: { x: 200, y: 150 } });
  await page.waitForFunction(() => window.cellseg.patch);
  const shot = async (id, name) => {
    await page.evaluate((i) => document.getElementById(i).scrollIntoView(), id);
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${out}/${name}.png` });
  };
  await shot('patches-section', '1-patches');
  await train(page, { steps: 40, batch: 16, lr: 0.001, evalEvery: 10 });
  await page.selectOption('#crop', '128');
  await page.click('#segment');
  await page.waitForFunction(() => /^Dense/.test(document.getElementById('segment-status').textContent), null, { timeout: 300_000 });
  await shot('train-section', '2-network');
  await shot('segment-section', '2b-segment');
  await page.fill('#batch', '8');
  await page.fill('#compare-steps', '20');
  await page.fill('#compare-every', '5');
  await page.check('#compare-nets input[value=network2]');
  await page.uncheck('#compare-nets input[value=original]');
  await page.click('#compare-train');
  await page.waitForFunction(() => /^Done/.test(document.getElementById('compare-status').textContent), null, { timeout: 300_000 });
  await page.click('#add-pool');
  await shot('arch-section', '3-architectures');
  await page.selectOption('#crop', '64');
  await page.click('#compare');
  await page.waitForFunction(() => window.cellseg.compare, null, { timeout: 300_000 });
  await page.mouse.move(300, 300);
  await shot('dense-section', '4-dense');
  // your own images: a test image, its display window, paint, a segmented crop, the cells
  await page.selectOption('#test-image', 'phase_033.tif');
  await page.click('#load-test');
  await page.waitForFunction(() => window.cellseg.image?.name === 'phase_033.tif', null, { timeout: 120_000 });
  await page.click('#display summary');
  await page.selectOption('#crop', '128');
  await page.selectOption('#networks', 'pretrained');
  await page.selectOption('#cell-style', 'instances');
  await page.click('#segment');
  await page.waitForFunction(() => /^Dense/.test(document.getElementById('segment-status').textContent), null, { timeout: 300_000 });
  await page.selectOption('#brush', '1');
  const box = await page.$eval('#overlay', (el) => JSON.parse(JSON.stringify(el.getBoundingClientRect())));
  await page.mouse.move(box.x + 60, box.y + 60);
  await page.mouse.down();
  await page.mouse.move(box.x + 120, box.y + 80, { steps: 6 });
  await page.mouse.up();
  await shot('own-section', '5-own');
} finally {
  await browser.close();
}
