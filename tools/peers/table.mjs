// Merges `cellseg bench --json` and the peers' JSON into bench/results.json and a markdown
// table of cellseg/peer ratios (bench/results.md), dated and naming the machine.
// usage: node tools/peers/table.mjs CELLSEG_JSON PEER_JSON...

import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

const [ours, ...peers] = process.argv.slice(2).map((f) => JSON.parse(readFileSync(f, 'utf8')));
const ROWS = [
  ['dense_98_px_per_s', 'dense 98×98, px/s'],
  ['dense_256_px_per_s', 'dense 256×256, px/s'],
  ['dense_full_px_per_s', 'dense 1040×1392 (tiled), px/s'],
  ['naive_px_per_s', 'patch by patch (batch 256), px/s'],
  ['train_16_patches_per_s', 'Adam step, batch 16, patches/s'],
  ['train_256_patches_per_s', 'Adam step, batch 256, patches/s'],
];
const machine = `${cpus().length} × ${cpus()[0].model.trim()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
const date = new Date().toISOString().slice(0, 10);
const fmt = (v) => (v === undefined ? '–' : v >= 100 ? Math.round(v).toLocaleString('en') : v.toFixed(1));
const lines = [
  `Measured ${date} on ${machine}; the posts' original network with random weights. cellseg times one run after a warm-up; the peers take the median of their repeats.`,
  '',
  `| | cellseg (${ours.adapter}) | ${peers.map((p) => p.peer).join(' | ')} | ${peers.map((p) => `cellseg / ${p.peer.split(' (')[0]}`).join(' | ')} |`,
  `|---|---|${peers.map(() => '---|').join('')}${peers.map(() => '---|').join('')}`,
];
for (const [key, label] of ROWS) {
  const ratio = (p) => (ours[key] && p[key] ? `${(ours[key] / p[key]).toFixed(2)}×` : '–');
  lines.push(`| ${label} | ${fmt(ours[key])} | ${peers.map((p) => fmt(p[key])).join(' | ')} | ${peers.map(ratio).join(' | ')} |`);
}
for (const p of peers) {
  if (p.dense_equals_patchwise_max_diff !== undefined) {
    lines.push('', `${p.peer}: dense twin against patch by patch, max |difference| ${p.dense_equals_patchwise_max_diff.toExponential(1)}.`);
  }
}
mkdirSync('bench', { recursive: true });
writeFileSync('bench/results.json', `${JSON.stringify({ date, machine, cellseg: ours, peers }, null, 2)}\n`);
writeFileSync('bench/results.md', `${lines.join('\n')}\n`);
console.log(lines.join('\n'));
