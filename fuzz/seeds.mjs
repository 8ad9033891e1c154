// Writes the fuzzers' seed corpora (small valid files of every kind they read) into
// fuzz/corpus/<target>/. Run by `make fuzz` after building the CLI; the seeds are committed.
// usage: node fuzz/seeds.mjs PATH_TO_CELLSEG_CLI

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { npy, png, tiff16 } from '../tests/harness.mjs';

const cli = process.argv[2];
const here = new URL('.', import.meta.url).pathname;
const dir = (target) => {
  const d = join(here, 'corpus', target);
  mkdirSync(d, { recursive: true });
  return d;
};

const rods = (x, y) => ((x % 6 < 3) ? 900 : 1800) + y;
const decode = dir('decode');
// the first byte picks page and channel (see fuzz_targets/decode.rs)
const seed = (name, bytes, pick = 3) => writeFileSync(join(decode, name), Buffer.concat([Buffer.from([pick]), bytes]));
seed('gray8.png', png(8, 6, 8, (x, y) => (x * 30 + y) & 255));
seed('gray16.png', png(8, 6, 16, rods));
seed('gray16.tif', tiff16([{ width: 8, height: 6, value: rods }]));
seed('two-pages.tif', tiff16([{ width: 8, height: 6, value: rods }, { width: 5, height: 4, value: (x) => x }]), 7);

const labels = dir('labels');
writeFileSync(join(labels, 'classes.png'), png(8, 6, 8, (x, y) => (x + y) % 3));
writeFileSync(join(labels, 'instances.png'), png(8, 6, 16, (x, y) => (x < 4 ? 1 : 2) * (y > 1 ? 1 : 0)));
const mask = (f) => npy('|u1', [3, 4], Array.from({ length: 12 }, (_, i) => (f(i) ? 255 : 0)));
writeFileSync(join(labels, 'masks.npy3'), Buffer.concat([mask((i) => i % 3 === 1), mask((i) => i % 3 === 2), mask((i) => i % 3 === 0)]));

// a small trained network, from the CLI
const tmp = join(tmpdir(), `cellseg-seeds-${process.pid}`);
mkdirSync(tmp, { recursive: true });
try {
  execFileSync(cli, ['colony', '--width', '192', '--height', '128', '--out-image', join(tmp, 'i.png'), '--out-labels', join(tmp, 'l.png')]);
  execFileSync(cli, ['train', '--image', join(tmp, 'i.png'), '--labels', join(tmp, 'l.png'), '--arch',
    'conv4x2 pool conv3x2 conv3x2 pool conv3x2 conv3x2 fc4', '--steps', '1', '--batch', '3', '--out', join(tmp, 'w.cellseg')]);
  writeFileSync(join(dir('weights'), 'tiny.cellseg'), readFileSync(join(tmp, 'w.cellseg')));
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
console.log('seeds written to fuzz/corpus/');
