// Merges the benchmark's parts into bench/results.json and bench/results.md: natively,
// `cellseg bench --json` against TensorFlow (tools/peers/tf_bench.py); in the browser, the
// page's bench (tools/bench-page.mjs: cellseg and TF.js in the same Chromium); the wasm's
// gzip size; and the issue's targets, each with its measured ratio. Dated, naming the machine.
//
// usage: node tools/peers/table.mjs CELLSEG_JSON TENSORFLOW_JSON [PAGE_JSON]

import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { cpus, totalmem } from 'node:os';

const [oursFile, tfFile, pageFile] = process.argv.slice(2);
const read = (f) => JSON.parse(readFileSync(f, 'utf8'));
const ours = read(oursFile);
const tf = read(tfFile);
const page = pageFile ? read(pageFile) : null;

const NATIVE_ROWS = [
  ['dense_98_px_per_s', 'dense 98×98, px/s'],
  ['dense_256_px_per_s', 'dense 256×256, px/s'],
  ['dense_full_px_per_s', 'dense 1392×1040 (tiled), px/s'],
  ['naive_px_per_s', 'patch by patch (batches of 256), px/s'],
  ['train_16_patches_per_s', 'Adam step, batch 16, patches/s'],
  ['train_256_patches_per_s', 'Adam step, batch 256, patches/s'],
  ['unet_256_px_per_s', 'U-Net 256×256, px/s'],
  ['unet_full_px_per_s', 'U-Net 1392×1040 (tiled), px/s'],
];
const PAGE_ROWS = [
  ['dense_64_px_per_s', 'dense 64×64, px/s'],
  ...NATIVE_ROWS,
];
const machine = `${cpus().length} × ${cpus()[0].model.trim()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
const date = new Date().toISOString().slice(0, 10);
const fmt = (v) => (v === undefined || v === null ? '–' : v >= 100 ? Math.round(v).toLocaleString('en') : v.toFixed(1));
const times = (r) => `${r.toFixed(2)}×`;

const lines = [
  `Measured ${date} on ${machine}; the posts' original network with random weights; every figure is the median of ${ours.repeats ?? 3} timed runs after a warm-up (the whole image: one run).`,
  '',
  '**Natively (CPU)**',
  '',
  `| | cellseg (${ours.adapter}) | ${tf.peer} | cellseg / TensorFlow |`,
  '|---|---|---|---|',
];
for (const [key, label] of NATIVE_ROWS) {
  const ratio = ours[key] && tf[key] ? times(ours[key] / tf[key]) : '–';
  lines.push(`| ${label} | ${fmt(ours[key])} | ${fmt(tf[key])} | ${ratio} |`);
}
lines.push('', `${tf.peer}: dense twin against patch by patch, max |difference| ${tf.dense_equals_patchwise_max_diff.toExponential(1)}.`);

// the two wasm packages: with WebGPU, and CPU-only (what a browser without a hardware
// WebGPU adapter loads)
const wasmSize = {};
for (const [name, file] of [['webgpu', 'pkg/cellseg_bg.wasm'], ['cpu', 'pkg-cpu/cellseg_bg.wasm'], ['threads', 'pkg-threads/cellseg_bg.wasm']]) {
  if (!existsSync(file)) continue;
  const bytes = readFileSync(file);
  wasmSize[name] = { raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}

if (page) {
  const runs = Object.entries(page.runs);
  const adapter = page.adapter ? `${page.adapter.name}${page.adapter.software ? ' (software)' : ''}` : 'none';
  lines.push('', `**In the browser** (${page.userAgent.match(/(Headless)?Chrome\/[\d.]+/)?.[0] ?? 'Chromium'}, headless; WebGPU adapter: ${adapter}; \`node tools/bench-page.mjs\`, the page \`bench.html\`)`, '',
    `| | ${runs.map(([, r]) => r.label).join(' | ')} |`, `|---|${runs.map(() => '---|').join('')}`);
  for (const [key, label] of PAGE_ROWS) {
    const cells = runs.map(([, r]) => (r.errors?.[key] ? 'cannot' : fmt(r.figures[key])));
    if (cells.every((c) => c === '–')) continue;
    lines.push(`| ${label} | ${cells.join(' | ')} |`);
  }
  const failed = runs.filter(([, r]) => r.error);
  for (const [, r] of failed) lines.push('', `${r.label} failed: ${r.error}`);
  const checks = runs.filter(([, r]) => r.figures.dense_equals_patchwise_max_diff !== undefined)
    .map(([, r]) => `${r.label} ${r.figures.dense_equals_patchwise_max_diff.toExponential(1)}`);
  if (checks.length) lines.push('', `The peers' dense twins against their patch networks, max |difference|: ${checks.join('; ')}.`);
  if (page.firstCrop) {
    lines.push('', `Page load to the first segmented 256×256 crop with the default pretrained network (CPU, the tutorial image served locally): ${(page.firstCrop.ms / 1000).toFixed(2)} s, of which segmenting ${(page.firstCrop.segmentMs / 1000).toFixed(2)} s.`);
  }
}

// The performance issue's targets, each against what was measured above.
const targets = [];
const target = (what, value, goal, unit = '×') => {
  if (value === undefined || value === null || Number.isNaN(value)) return;
  const met = unit === 's' || unit === 'MB' ? value <= goal : value >= goal;
  const shown = unit === '×' ? times(value) : `${value.toFixed(2)} ${unit}`;
  const goalShown = unit === '×' ? `≥ ${goal}×` : `≤ ${goal} ${unit}`;
  targets.push({ what, value, goal, met });
  lines.push(`| ${what} | ${shown} | ${goalShown} | ${met ? 'met' : 'missed'} |`);
};
lines.push('', '**Targets**', '', '| target | measured | goal | |', '|---|---|---|---|');
const pageFig = (id, key) => page?.runs?.[id]?.figures?.[key];
// In the browser, the ratios the page itself computed (www/bench.js pairs like with like: the
// same threads, the same adapter; training against the fastest TF.js backend that trains).
const pageRatios = page?.ratios ?? [];
const peerName = (id) => page.runs[id].peer ?? page.runs[id].label;
for (const r of pageRatios.filter((r) => /^dense_(98|256)_/.test(r.key) && r.pair[1].startsWith('tfjs-wasm'))) {
  const side = r.key.split('_')[1];
  target(`browser CPU dense ${side}×${side}: ${peerName(r.pair[0])} vs ${peerName(r.pair[1])}`, r.ratio, 1.5);
}
for (const r of pageRatios.filter((r) => r.pair[0] === 'cellseg-webgpu' && /^(dense|train)_/.test(r.key))) {
  const [kind, size] = r.key.split('_');
  target(`browser WebGPU ${kind === 'dense' ? `dense ${size}` : `Adam step, batch ${size}`} vs TF.js webgpu`, r.ratio, 2);
}
target('native CPU dense 256×256 vs TensorFlow', ours.dense_256_px_per_s / tf.dense_256_px_per_s, 1);
target('native CPU dense, whole image vs TensorFlow', ours.dense_full_px_per_s / tf.dense_full_px_per_s, 1);
target('native CPU U-Net, whole image vs TensorFlow', ours.unet_full_px_per_s / tf.unet_full_px_per_s, 1);
const unetPage = pageFig('cellseg-cpu', 'unet_full_px_per_s');
if (unetPage) target('page CPU: U-Net segments the whole 1392×1040 image', (1392 * 1040) / unetPage, 30, 's');
const fastest = pageRatios.find((r) => r.key === 'train_16_patches_per_s' && /fastest of each/.test(r.what));
if (fastest) target('browser Adam step (batch 16), fastest cellseg vs fastest TF.js that trains', fastest.ratio, 10);
target('native dense vs patch by patch', ours.dense_256_px_per_s / ours.naive_px_per_s, 15);
target('browser CPU dense vs patch by patch', pageFig('cellseg-cpu', 'dense_98_px_per_s') / pageFig('cellseg-cpu', 'naive_px_per_s'), 15);
if (wasmSize.cpu) target('wasm, CPU-only package, gzip -9', wasmSize.cpu.gzip / 1e6, 2.5, 'MB');
if (wasmSize.threads) target('wasm, threaded CPU package, gzip -9', wasmSize.threads.gzip / 1e6, 2.5, 'MB');
if (wasmSize.webgpu) target('wasm, WebGPU package, gzip -9', wasmSize.webgpu.gzip / 1e6, 2.5, 'MB');
if (page?.firstCrop) target('page load → first segmented 256×256 crop (CPU)', page.firstCrop.ms / 1000, 3, 's');

mkdirSync('bench', { recursive: true });
writeFileSync('bench/results.json', `${JSON.stringify({ date, machine, native: { cellseg: ours, tensorflow: tf }, page, wasmSize, targets }, null, 2)}\n`);
writeFileSync('bench/results.md', `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
