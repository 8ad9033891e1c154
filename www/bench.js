// The in-page benchmark (bench.html): cellseg's own bench (crate/src/bench.rs, through the
// page's worker) on the CPU and on WebGPU, then TF.js's wasm, webgpu and cpu backends
// (www/peers/tfjs-worker.js) on the same plan, each in a fresh worker, one after another.
// tools/bench-page.mjs runs it headless for `make bench` (?run starts at once).
//
// window.bench = {state: 'idle' | 'running' | 'done', runs: {id: {label, figures, error}}}

import { WorkerClient } from './client.js';
import { probeWebGpu } from './webgpu.js';

const params = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);

// The whole image is the tutorial image's size; the crops sit in its middle.
const WIDTH = 1392;
const HEIGHT = 1040;
// What each run measures (the keys of crate/src/bench.rs's Plan). A software WebGPU adapter
// (SwiftShader) and TF.js's plain-JavaScript backend get the small plan: the full one would
// take them the better part of an hour.
const PLANS = {
  full: { dense: [98, 256], whole: true, naive: 32, train: [16, 256], repeats: 3, unet: true },
  small: { dense: [64], whole: false, naive: 16, train: [16], repeats: 3 },
  // ?quick: for the browser test, seconds in all
  quick: { dense: [32], whole: false, naive: 8, train: [4], repeats: 1 },
};

// Where the page is cross-origin isolated, cellseg runs the CPU on every core, and so does
// TF.js's threaded wasm (its pool holds at most 8 threads); both are also timed on one
// thread. TF.js 4.22 takes half of navigator.hardwareConcurrency threads at most, whatever
// setThreadsCount asks (it assumes two hardware threads per core); its worker is told the
// cores are twice as many, so that it gets the same threads as cellseg (tfjs-worker.js).
const isolated = self.crossOriginIsolated;
const cores = navigator.hardwareConcurrency || 1;
const TFJS_THREADS = Math.min(8, cores);
const RUNS = [
  { id: 'cellseg-cpu', engine: 'cellseg', backend: 'cpu', label: 'cellseg, CPU' },
  { id: 'cellseg-cpu-1', engine: 'cellseg', backend: 'cpu', label: 'cellseg, CPU, 1 thread', threads: 1, isolated: true },
  { id: 'cellseg-webgpu', engine: 'cellseg', backend: 'webgpu', label: 'cellseg, WebGPU', gpu: true },
  { id: 'tfjs-wasm-threads', engine: 'tfjs', backend: 'wasm', label: `TF.js, wasm (${TFJS_THREADS} threads)`, threads: TFJS_THREADS, isolated: true, multicore: true },
  { id: 'tfjs-wasm', engine: 'tfjs', backend: 'wasm', label: 'TF.js, wasm (1 thread)' },
  { id: 'tfjs-webgpu', engine: 'tfjs', backend: 'webgpu', label: 'TF.js, webgpu', gpu: true },
  { id: 'tfjs-cpu', engine: 'tfjs', backend: 'cpu', label: 'TF.js, cpu (JavaScript)', slow: true },
];

// cellseg against the peer it should be compared with: the same hardware, the same threads.
// (Where the page is not isolated, both CPUs run on one thread.)
const PAIRS = isolated
  ? [['cellseg-cpu', 'tfjs-wasm-threads'], ['cellseg-cpu-1', 'tfjs-wasm'], ['cellseg-webgpu', 'tfjs-webgpu']]
  : [['cellseg-cpu', 'tfjs-wasm'], ['cellseg-webgpu', 'tfjs-webgpu']];

const ROWS = [
  ['dense_equals_patchwise_max_diff', 'dense twin vs patch by patch, max |difference|'],
  ['dense_32_px_per_s', 'dense 32×32, px/s'],
  ['dense_64_px_per_s', 'dense 64×64, px/s'],
  ['dense_98_px_per_s', 'dense 98×98, px/s'],
  ['dense_256_px_per_s', 'dense 256×256, px/s'],
  ['dense_full_px_per_s', `dense ${WIDTH}×${HEIGHT} (tiled), px/s`],
  ['naive_px_per_s', 'patch by patch (batches of 256), px/s'],
  ['train_4_patches_per_s', 'Adam step, batch 4, patches/s'],
  ['train_16_patches_per_s', 'Adam step, batch 16, patches/s'],
  ['train_256_patches_per_s', 'Adam step, batch 256, patches/s'],
  ['unet_256_px_per_s', 'U-Net 256×256, px/s (cellseg only)'],
  ['unet_full_px_per_s', `U-Net ${WIDTH}×${HEIGHT} (tiled), px/s (cellseg only)`],
];

const bench = { state: 'idle', adapter: null, runs: {} };
window.bench = bench;

function planFor(run) {
  if (params.has('quick')) return PLANS.quick;
  const small = run.slow || (run.gpu && bench.adapter?.software);
  return { ...(small ? PLANS.small : PLANS.full), whole: !small && $('whole').checked };
}

// Figures a run reports: TF.js adds its dense-twin check; only cellseg runs the U-Net.
function expected(plan, run) {
  const unet = run.engine === 'cellseg' && plan.unet ? 1 + (plan.whole ? 1 : 0) : 0;
  return plan.dense.length + (plan.whole ? 1 : 0) + (plan.naive > 0 ? 1 : 0) + plan.train.length + (run.engine === 'tfjs' ? 1 : 0) + unet;
}

// A run that stops answering (TF.js's wasm can abort on running out of memory without a
// word) fails instead of holding up the rest; its worker is ended either way.
const RUN_TIMEOUT_MS = 20 * 60_000;

function withTimeout(promise) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${RUN_TIMEOUT_MS / 60_000} minutes`)), RUN_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function runCellseg(run, plan, onFigure) {
  const client = new WorkerClient(new URL('./worker.js', import.meta.url));
  try {
    return await withTimeout((async () => {
      await client.ready;
      const info = await client.request('init', { backend: run.backend, threads: run.threads });
      if (info.backend !== run.backend) throw new Error(`got ${info.backend}: ${info.note}`);
      const { figures } = await client.request('bench', { width: WIDTH, height: HEIGHT, plan },
        { onProgress: ({ figure }) => onFigure(figure) });
      return { peer: `cellseg (${info.adapter})`, figures };
    })());
  } finally {
    client.terminate('the benchmark moved on');
  }
}

function runTfjs(run, plan, onFigure) {
  const worker = new Worker(new URL('./peers/tfjs-worker.js', import.meta.url));
  const done = new Promise((resolve, reject) => {
    worker.onerror = (e) => reject(new Error(e.message || 'the TF.js worker failed'));
    worker.onmessage = ({ data }) => {
      if (data.figure) return onFigure(data.figure);
      if (data.error) reject(new Error(data.error));
      else resolve({ peer: data.result.peer });
    };
    worker.postMessage({ backend: run.backend, threads: run.threads ?? 1, plan, width: WIDTH, height: HEIGHT });
  });
  return withTimeout(done).finally(() => worker.terminate());
}

const fmt = (key, v) => {
  if (v === undefined || v === null) return '–';
  if (key.endsWith('max_diff')) return v.toExponential(1);
  return v >= 100 ? Math.round(v).toLocaleString('en') : v.toFixed(1);
};

function cell(text, tag = 'td') {
  const el = document.createElement(tag);
  el.textContent = text;
  return el;
}

function draw() {
  const runs = RUNS.filter((r) => bench.runs[r.id]);
  const head = document.createElement('tr');
  head.append(cell('', 'th'), ...runs.map((r) => cell(bench.runs[r.id].peer ?? r.label, 'th')));
  $('figures').tHead.replaceChildren(head);
  const rows = [];
  for (const [key, label] of ROWS) {
    const values = runs.map((r) => bench.runs[r.id].figures[key]);
    const errors = runs.map((r) => bench.runs[r.id].errors?.[key]);
    if (values.every((v) => v === undefined) && errors.every((e) => !e)) continue;
    const tr = document.createElement('tr');
    tr.append(cell(label), ...values.map((v, i) => cell(errors[i] ? 'cannot' : fmt(key, v))));
    rows.push(tr);
  }
  const failed = runs.filter((r) => bench.runs[r.id].error);
  if (failed.length) {
    const tr = document.createElement('tr');
    tr.append(cell('failed'), ...runs.map((r) => cell(bench.runs[r.id].error ?? '')));
    rows.push(tr);
  }
  $('figures').tBodies[0].replaceChildren(...rows);
  $('ratios').tBodies[0].replaceChildren(...ratios().map(({ what, ours, peer, ratio }) => {
    const tr = document.createElement('tr');
    tr.append(cell(what), cell(ours), cell(peer), cell(`${ratio.toFixed(2)}×`));
    return tr;
  }));
}

/** cellseg / peer for every figure both measured, and training against the fastest TF.js
 *  backend that can train at all. */
function ratios() {
  const out = [];
  const figures = (id) => bench.runs[id]?.figures ?? {};
  for (const [ours, peer] of PAIRS) {
    for (const [key, label] of ROWS) {
      const a = figures(ours)[key];
      const b = figures(peer)[key];
      if (key.endsWith('max_diff') || !a || !b) continue;
      out.push({ what: label, ours: bench.runs[ours].label, peer: bench.runs[peer].label, ratio: a / b, key, pair: [ours, peer] });
    }
  }
  for (const [key, label] of ROWS.filter(([k]) => k.startsWith('train_'))) {
    const best = (engine) => RUNS.filter((r) => r.engine === engine && figures(r.id)[key])
      .sort((x, y) => figures(y.id)[key] - figures(x.id)[key])[0];
    const ours = best('cellseg');
    const peer = best('tfjs');
    if (ours && peer) {
      out.push({ what: `${label}, fastest of each`, ours: ours.label, peer: peer.label,
        ratio: figures(ours.id)[key] / figures(peer.id)[key], key, pair: [ours.id, peer.id] });
    }
  }
  bench.ratios = out;
  return out;
}

async function start() {
  $('start').disabled = true;
  bench.state = 'running';
  bench.runs = {};
  const runs = RUNS.filter((r) => (!r.gpu || bench.adapter) && (!r.isolated || isolated) && (!r.multicore || cores > 1));
  const plans = new Map(runs.map((r) => [r.id, planFor(r)]));
  const total = runs.reduce((n, r) => n + expected(plans.get(r.id), r), 0);
  let done = 0;
  $('progress').value = 0;
  for (const run of runs) {
    const plan = plans.get(run.id);
    const entry = { label: run.label, plan, figures: {}, errors: {} };
    bench.runs[run.id] = entry;
    $('status').textContent = `${run.label}: starting…`;
    const onFigure = (f) => {
      if (f.value === null) entry.errors[f.key] = f.text;
      else entry.figures[f.key] = f.value;
      done += 1;
      $('progress').value = done / total;
      $('status').textContent = `${run.label}: ${f.text}`;
      draw();
    };
    try {
      const result = await (run.engine === 'cellseg' ? runCellseg(run, plan, onFigure) : runTfjs(run, plan, onFigure));
      entry.peer = result.peer;
    } catch (e) {
      entry.error = e.message;
    }
    draw();
  }
  $('progress').value = 1;
  $('status').textContent = `Done: ${runs.length} runs.`;
  bench.state = 'done';
  $('start').disabled = false;
  $('download').disabled = false;
}

$('start').addEventListener('click', start);
$('download').addEventListener('click', () => {
  const blob = new Blob([JSON.stringify({ date: new Date().toISOString(), userAgent: navigator.userAgent, ...bench }, null, 2)], { type: 'application/json' });
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = 'cellseg-bench.json';
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
});

const gpu = await probeWebGpu();
bench.adapter = gpu.adapter ? { name: gpu.adapter, software: gpu.software } : null;
$('adapter').textContent = bench.adapter
  ? `WebGPU adapter: ${bench.adapter.name}${bench.adapter.software ? ' — a software adapter: the WebGPU runs use the small plan' : ''}.`
  : 'No WebGPU adapter here: only the CPU runs.';
if (params.get('whole') === '0') $('whole').checked = false;
$('start').disabled = false;
if (params.has('run')) start();
