// A long session in the page, to see whether memory grows: train, then segment a crop many
// times, sampling the wasm module's memory (in the worker) and the page's JS heap.
// usage: node tools/soak.mjs [backend=cpu] [segments=50] [crop=64] [networks=pretrained]
// (networks: pretrained, trained or both, as in the page's menu; after `make pkg`)

import { launch } from '../tests/harness.mjs';

const [backend = 'cpu', segments = '50', crop = '64', networks = 'pretrained'] = process.argv.slice(2);
const browser = await launch();
try {
  const page = await browser.open(`?backend=${backend}&arch=network2&batch=16&steps=20`);
  const memory = async () => {
    const { wasmBytes } = await page.evaluate(() => window.cellsegClient.request('memory'));
    const heap = await page.evaluate(() => performance.memory?.usedJSHeapSize ?? 0);
    return { wasmMiB: +(wasmBytes / 2 ** 20).toFixed(1), heapMiB: +(heap / 2 ** 20).toFixed(1) };
  };
  await page.click('#load-colony');
  await page.waitForFunction(() => window.cellseg.labelled);
  console.log('loaded', await memory());
  await page.click('#train');
  await page.waitForFunction(() => /^Done/.test(document.getElementById('train-status').textContent), null, { timeout: 600_000 });
  console.log('trained 20 steps', await memory());
  await page.selectOption('#crop', crop);
  await page.selectOption('#networks', networks);
  const samples = [];
  for (let i = 1; i <= Number(segments); i++) {
    await page.evaluate(() => { document.getElementById('segment-status').textContent = ''; });
    await page.click('#segment');
    await page.waitForFunction(() => /^Dense/.test(document.getElementById('segment-status').textContent), null, { timeout: 600_000 });
    if (i === 1 || i % 10 === 0) samples.push({ segment: i, ...(await memory()) });
  }
  console.table(samples);
} finally {
  await browser.close();
}
