// Renders docs/screenshot.png for the README: the page on the CPU backend after a short
// training run, with a held-out crop of the tutorial image segmented by the pretrained networks
// (the window at chapter 2's segmentation, the image beside it).
// usage: node tools/screenshot.mjs   (after `make pkg`)

import { launch, loadTutorial, train } from '../tests/harness.mjs';

const browser = await launch();
try {
  const page = await browser.open('?backend=cpu&data=/data/');
  await loadTutorial(page);
  await train(page, { steps: 400, batch: 32, lr: 0.001, evalEvery: 50 });
  await page.selectOption('#crop', '256');
  await page.evaluate(() => { window.cellseg.crop = { x: 1000, y: 380 }; });
  await page.selectOption('#networks', 'pretrained');
  await page.click('#segment');
  await page.waitForFunction(() => /^Dense/.test(document.getElementById('segment-status').textContent), null, { timeout: 300_000 });
  // the image beside chapter 2's results: what a reader sees there
  await page.setViewportSize({ width: 1400, height: 1000 });
  await page.evaluate(() => document.getElementById('segment-section').scrollIntoView());
  await page.waitForTimeout(500);
  await page.screenshot({ path: new URL('../docs/screenshot.png', import.meta.url).pathname });
  console.log(await page.textContent('#train-status'));
  console.log(await page.textContent('#segment-status'));
} finally {
  await browser.close();
}
