// The page: starts the worker, wires the chapters' modules to it and to each other, keeps
// the buttons to what can run now, and moves to the CPU when the GPU is lost. What is drawn
// is in drawing.js, the maps and the cells found in segmenting.js. No model math here.

import { WorkerClient } from './client.js';
import { Patches } from './patches.js';
import { Architectures, layerRows } from './architectures.js';
import { Dilation } from './dilation.js';
import { applyLink, followChapters, followSettings } from './link.js';
import { Sizes } from './sizes.js';
import { Comparison } from './comparison.js';
import { ImageView } from './view.js';
import { Painter, UNPAINTED } from './paint.js';
import { DisplayWindow } from './display.js';
import { OwnImages } from './own.js';
import { Batch } from './batch.js';
import { autosave } from './autosave.js';
import { Training } from './training.js';
import { Sessions } from './sessions.js';
import { state, applyStatus } from './store.js';
import { dataLoading } from './data.js';
import { drawing } from './drawing.js';
import { segmenting } from './segmenting.js';
import { download, wireDownloads } from './downloads.js';

const UPSTREAM = 'https://raw.githubusercontent.com/levinejh/simple-cell-seg-demo/master/';
const params = new URLSearchParams(location.search);
const dataPrefix = params.get('data') || UPSTREAM;
const backendWanted = ['webgpu', 'cpu'].includes(params.get('backend')) ? params.get('backend') : 'auto';
// ?threads=N caps the CPU's threads (1: the single-threaded package); all cores by default
const threadsWanted = params.has('threads') ? Math.max(1, Math.floor(Number(params.get('threads'))) || 1) : undefined;

const $ = (id) => document.getElementById(id);
let client = newClient();
function newClient() {
  const c = new WorkerClient(new URL('./worker.js', import.meta.url));
  c.onEvent = (e) => onWorkerEvent(e);
  c.onStatus = applyStatus;
  return c;
}

window.cellseg = state;
window.cellsegClient = client; // for tools/soak.mjs (memory figures)

function showError(message) {
  const box = $('error');
  box.textContent = message; // text only: file names never become HTML
  box.hidden = !message;
}

// (a new line is no longer the warning the old one may have been)
function setStatus(id, text) {
  $(id).textContent = text;
  $(id).classList.remove('bad');
}

let batch = null; // the many-files run (set up below, once the page's parts exist)

// Buttons reflect what can run now: one job at a time (training and a many-files run count as one).
function enable() {
  const ready = $('backend').dataset.state === 'ready';
  const idle = ready && !state.training && !state.batching && state.jobs === 0 && !state.recovering;
  for (const id of ['load-tutorial', 'load-colony', 'load-test', 'file', 'arch', 'reset', 'save', 'restore', 'save-session']) $(id).disabled = !idle;
  $('train').disabled = !idle || !state.labelled;
  $('segment').disabled = $('compare').disabled = !idle || !state.image;
  for (const id of ['pause', 'resume', 'stop']) $(id).disabled = !state.training || state.comparing;
  $('compare-train').disabled = !idle || !state.labelled;
  $('compare-stop').disabled = !state.comparing;
  $('arch-use').disabled = !idle || !architectures.valid;
  $('download-csv').disabled = !state.lastCells;
  $('download-rois').disabled = !state.lastCells;
  $('download-geojson').disabled = !state.lastCells;
  batch?.enable(idle);
  const stack = state.imageFile?.pages > 1 && state.imageSource?.name === state.image?.name;
  $('segment-pages').hidden = !stack;
  $('segment-pages').disabled = !idle || !stack;
  $('export').disabled = !idle || !state.lastCells;
  $('fine-tune').disabled = !idle || !state.image || !painter.painted;
  $('measure-length').disabled = !idle || !state.lastCells;
  $('measure-image').disabled = !idle || !state.image;
  $('undo').disabled = painter.strokes.length === 0;
  $('clear-paint').disabled = !painter.painted;
  $('cancel').disabled = !state.cancellable;
  for (const id of ['page', 'channel', 'scale', 'cell-length', 'truth-file']) $(id).disabled = !idle;
  // clean-up settings changed while the worker was busy: apply them now that it is free
  if (idle && state.cellsDirty) {
    state.cellsDirty = false;
    setTimeout(() => refreshCells(), 0);
  }
}

// Runs a request, showing its error (if any) without losing what was loaded before.
async function run(type, payload, options) {
  state.jobs += 1;
  enable();
  try {
    showError('');
    return await client.request(type, payload, options);
  } catch (e) {
    showError(e.message);
    throw e;
  } finally {
    state.jobs = Math.max(0, state.jobs - 1);
    enable();
  }
}

// Writes the page's settings into the URL (set once the settings are in place).
let syncLink = null;

const patches = new Patches({ run: (type, payload) => run(type, payload), $ });
const dilation = new Dilation({ $ });
const sizes = new Sizes({ request: (type, payload) => client.request(type, payload), $ });
// The layer table of chapter 2 and the dilation diagrams follow the network in training.
async function showTaps(arch) {
  const { spec } = await client.request('describe', { arch });
  if (spec.error) return;
  dilation.showTaps(spec);
  $('net-table').tBodies[0].replaceChildren(...layerRows(spec));
}
const comparison = new Comparison({
  run,
  $,
  settings: () => ({
    learningRate: Number($('lr').value),
    batch: Number($('batch').value),
    seed: Number($('seed').value),
    augment: $('augment').checked,
  }),
  busy: (on) => {
    state.training = state.comparing = on;
    enable();
  },
  edited: () => (architectures.valid ? $('arch-text').value : null),
  signal: (type) => client.signal(type),
});
state.comparison = comparison; // its curves, for the tests
// Painted corrections (chapter "Your own images"), drawn with the image view's brush.
let paintSave = null;
const painter = new Painter(() => {
  const [other, cell, edge] = painter.counts();
  setStatus('paint-status', painter.painted ? `painted: ${cell} cell, ${edge} edge, ${other} other px` : '');
  drawOverlay();
  enable();
  // saved a moment after the last change, not on every stroke
  clearTimeout(paintSave);
  const image = state.image;
  paintSave = setTimeout(() => {
    if (image === state.image) {
      autosave.savePaint(image, painter.classes.slice(), painter.painted)
        .then(() => { state.paintSaved = painter.painted; })
        .catch((e) => console.warn('paint autosave:', e));
    }
  }, 300);
});
const brushTool = {
  value: () => Number($('brush').value),
  radius: () => Math.max(1, Number($('brush-size').value) || 1),
  down(p) { painter.begin(p.x, p.y, this.value(), this.radius()); drawOverlay(); },
  move(p) { painter.extend(p.x, p.y, this.value(), this.radius()); hoverRedraw(); },
  up() { painter.end(); },
};
const display = new DisplayWindow({
  run,
  $,
  onPixels: (rgba) => {
    state.image.rgba = rgba;
    const { width, height } = state.image;
    $('image').getContext('2d').putImageData(new ImageData(rgba, width, height), 0, 0);
    if (state.lastProbs) drawResults();
  },
});
const view = new ImageView({
  $,
  brush: () => ($('brush').value !== 'off' && state.image ? brushTool : null),
  onPick: (x, y) => pick(x, y),
  onHover: (point) => {
    state.hover = point;
    hoverRedraw();
  },
});
const {
  drawImage, cropRect, drawOverlay, hoverRedraw, restyleCells, drawResults, showLabels, showProbability,
} = drawing({ run, $, state, painter, view });
const architectures = new Architectures({
  request: (type, payload) => client.request(type, payload),
  $,
  onUse: (text) => newNetwork(text).catch(() => {}),
  onChange: () => enable(),
});
const training = new Training({
  run,
  request: (type, payload) => client.request(type, payload),
  $,
  state,
  enable,
  setStatus,
  onNewNetwork: (arch) => {
    state.checkpoint = null;
    delete state.sources?.weights;
    syncLink?.();
    showTaps(arch).catch(() => {});
  },
  onReplaced: (text, bytes) => networkReplaced(text, bytes),
});
const newNetwork = (arch) => training.newNetwork(arch);
batch = new Batch({
  run,
  $,
  loadPretrained: () => loadPretrained(),
  settings: () => cleanupSettings(),
  networks: () => $('networks').value,
  scale: () => state.scale || 1,
  micron: () => Number($('pixel-size').value),
  busy: (on) => {
    state.batching = on;
    enable();
  },
  download,
  signal: (type) => client.signal(type),
});
window.cellseg.batch = batch;

const own = new OwnImages({
  run,
  $,
  state,
  painter,
  loadPretrained: () => loadPretrained(),
  resegment: () => segmentCrop({ rethrow: true }),
  settings: () => ({ batch: Number($('batch').value), seed: Number($('seed').value), augment: $('augment').checked }),
  busy: (on) => {
    state.training = on;
    enable();
  },
  saved: () => training.autosaveNetwork(), // the fine-tuned network survives a reload too
  replaced: (text) => networkReplaced(text),
});

const sessions = new Sessions({
  run,
  $,
  state,
  painter,
  own,
  setStatus,
  showError,
  download,
  networkReplaced: (text, bytes) => networkReplaced(text, bytes),
  settingsApplied: () => {
    $('threshold-slider').value = $('threshold').value;
    syncLink?.();
  },
  applyLink,
});

const {
  fetchBytes, loadTutorial, loadTestImage, loadImage, loadColony, imageLoaded, labelsLoaded,
  showFileOptions, reloadImage, loadFiles, droppedFiles,
} = dataLoading({
  run, $, state, setStatus, showError, enable, keepSource, sizes, painter, autosave, display,
  patches, drawImage, showLabels, sessions, batch, own, networkReplaced, dataPrefix,
  refreshCells: () => refreshCells(),
  colonySeed: params.has('colony') ? Number(params.get('colony')) : undefined,
});

const { loadPretrained, cleanupSettings, segmentCrop, refreshCells, compare } = segmenting({
  run, $, state, setStatus, showError, enable, fetchBytes, cropRect, restyleCells, showProbability,
  sizes, own,
});

// ---- backend -------------------------------------------------------------------------

// Offline after the first visit (sw.js): once the page runs, the service worker is told what
// this visit loaded — the page's files and the worker's package — and keeps a copy. Service
// workers need a secure context (https, or localhost); elsewhere the page simply stays online.
async function keepForOffline() {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  await navigator.serviceWorker.register('sw.js');
  const registration = await navigator.serviceWorker.ready;
  const { urls } = await client.request('loadedUrls');
  const own = performance.getEntriesByType('resource').map((e) => e.name);
  const kept = new Promise((resolve) => {
    navigator.serviceWorker.addEventListener('message', function done({ data }) {
      if (data?.type !== 'kept') return;
      navigator.serviceWorker.removeEventListener('message', done);
      resolve(data.count);
    });
  });
  registration.active.postMessage({ type: 'keep', urls: [location.href, ...own, ...urls] });
  state.offline = await kept; // how many files are kept (the tests wait for it)
}

async function start() {
  try {
    await client.ready;
    const info = await client.request('init', { backend: backendWanted, testHooks: params.has('testhooks'), threads: threadsWanted });
    const el = $('backend');
    el.dataset.backend = info.backend;
    // the CPU's adapter text says how many threads, e.g. "CPU (burn flex, 8 threads)"
    const where = info.backend === 'webgpu' ? `WebGPU: ${info.adapter}` : `the ${info.adapter}, in the worker`;
    el.textContent = `Running on ${where}${info.note ? ` — ${info.note}` : ''}`;
    const { presets, post, limits } = await client.request('defaults');
    state.limits = limits;
    // The clean-up's defaults come from the library, so page and CLI agree.
    $('median').value = post.median;
    $('threshold').value = $('threshold-slider').value = post.threshold.toFixed(2);
    $('grow').value = post.growTo.toFixed(2);
    $('min-area').value = post.minArea;
    $('rim').value = post.rim;
    $('min-contrast').value = post.minContrast;
    $('min-share').value = post.minShare;
    $('arch').replaceChildren(...presets.map(({ name, about, params }) => {
      const option = document.createElement('option');
      option.value = name;
      option.textContent = `${name} (${params.toLocaleString()} parameters)`;
      option.title = about;
      return option;
    }));
    await architectures.showPresets(presets);
    comparison.showChoices(presets);
    // a shared link's settings, then the URL follows every change
    const arch = applyLink($);
    $('threshold-slider').value = $('threshold').value;
    $('crop').dispatchEvent(new Event('change')); // chapter 4's menu follows
    syncLink = followSettings($);
    followChapters(['patches-section', 'train-section', 'arch-section', 'dense-section', 'own-section']);
    await training.offerSavedNetwork();
    if (arch && arch !== $('arch').value) await newNetwork(arch).catch(() => { /* shown */ });
    else await showTaps($('arch').value);
    // Ready only now: until here the set-up's own requests would make the buttons flicker
    // on and off, and a click in such a gap would be lost.
    el.dataset.state = 'ready';
    if (state.lostWhileStarting) recoverOnCpu(state.lostWhileStarting);
    keepForOffline().catch((e) => console.warn('offline copy:', e));
  } catch (e) {
    $('backend').dataset.state = 'failed';
    $('backend').textContent = 'The engine failed to start.';
    showError(`Could not start: ${e.message}`);
  }
  enable();
}

// Another network took the place of the one in training (from a file, the autosave or a
// pretrained one): the menu, the taps and the link follow it; the curve and the GPU
// checkpoint belonged to the one before.
function networkReplaced(text, bytes = null) {
  const name = text.split(' ')[0];
  if ([...$('arch').options].some((o) => o.value === name)) $('arch').value = name;
  Object.assign(state, { trainedSteps: 0, lastHeldout: undefined, checkpoint: null });
  state.curve = { step: [], batch: [], heldout: [], loss: [] };
  training.plotCurve();
  if (bytes) keepSource('weights', { bytes });
  else delete state.sources?.weights;
  syncLink?.();
  showTaps(text.match(/\((.*)\)$/)?.[1] ?? name).catch(() => {});
}

// ---- a lost GPU ----------------------------------------------------------------------

// On WebGPU the page keeps copies of what it gave the worker (image, labels) and the weights
// the worker sends back now and then, so that a lost device costs a restart on the CPU, not
// the session. (The CPU backend cannot lose its device: nothing is kept there.)
function keepSource(kind, source) {
  if ($('backend').dataset.backend !== 'webgpu') return;
  state.sources ??= {};
  state.sources[kind] = source;
  if (kind === 'image') delete state.sources.labels; // labels belong to their image
}

function onWorkerEvent(e) {
  if (e.event === 'checkpoint') state.checkpoint = { bytes: e.bytes, steps: e.steps };
  if (e.event !== 'deviceLost' || $('backend').dataset.backend !== 'webgpu' || state.recovering) return;
  const { state: phase } = $('backend').dataset;
  if (phase === 'ready') recoverOnCpu(e.message);
  else if (phase === 'starting') state.lostWhileStarting = e.message; // recovered once started
}

async function recoverOnCpu(reason) {
  state.recovering = true;
  state.lostWhileStarting = null;
  showError(`The GPU was lost (${reason}). Restarting on the CPU with your image, labels and network…`);
  client.terminate(`the GPU was lost (${reason})`);
  client = newClient();
  window.cellsegClient = client;
  // jobs in flight fail with the old worker and undo their own counts; what lived in the
  // worker is gone: pretrained networks, the prepared run, the last map
  Object.assign(state, { session: null, lastProbs: null, lastCells: null, smoothed: null });
  if (state.image) drawOverlay();
  const el = $('backend');
  el.dataset.state = 'starting';
  enable();
  const kept = [];
  try {
    await client.ready;
    const info = await client.request('init', { backend: 'cpu', threads: threadsWanted });
    el.dataset.backend = info.backend;
    el.textContent = `Running on the ${info.adapter}, in the worker — the GPU was lost`;
    const { image, labels } = state.sources ?? {};
    const arch = $('arch').value;
    if (image?.colony !== undefined) {
      await client.request('loadColony', { width: 512, height: 384, seed: image.colony, size: image.size ?? 1 });
      kept.push('image and labels');
    } else if (image) {
      const bytes = image.bytes.slice(0);
      await client.request('loadImage', { bytes, page: image.page, channel: image.channel }, { transfer: [bytes] });
      kept.push('image');
      if (labels?.classes) await client.request('loadClassLabels', { bytes: labels.classes.slice(0) });
      if (labels?.npy) await client.request('loadNpyLabels', { masks: labels.npy.map((m) => m.slice(0)) });
      if (labels) kept.push('labels');
    }
    if (state.scale && state.scale !== 1) await client.request('setScale', { factor: state.scale });
    const weights = state.checkpoint ?? state.sources?.weights;
    if (weights) {
      const bytes = new Uint8Array(weights.bytes).slice().buffer;
      await client.request('loadWeights', { bytes }, { transfer: [bytes] });
      kept.push(weights.steps === undefined ? 'the network loaded' : `the network as of step ${weights.steps}`);
    } else {
      await client.request('newNetwork', { arch, seed: Number($('seed').value) });
    }
    el.dataset.state = 'ready';
    showError(`The GPU was lost (${reason}). Now running on the CPU with ${kept.join(', ') || 'a fresh start'}.`);
    setStatus('train-status', weights ? 'Restored after the GPU was lost.' : 'The GPU was lost before any training was saved: a fresh network.');
  } catch (e) {
    el.dataset.state = 'failed';
    showError(`The GPU was lost (${reason}) and the CPU could not take over: ${e.message}. Reload the page; your network was autosaved after its last run.`);
  } finally {
    state.recovering = false;
    enable();
  }
}

// ---- events --------------------------------------------------------------------------

$('load-tutorial').addEventListener('click', loadTutorial);
$('load-colony').addEventListener('click', loadColony);
$('load-test').addEventListener('click', () => loadTestImage($('test-image').value));
$('file').addEventListener('change', (e) => loadFiles(e.target.files));
document.addEventListener('dragover', (e) => { e.preventDefault(); document.body.classList.add('dragging'); });
document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
document.addEventListener('drop', (e) => {
  e.preventDefault();
  document.body.classList.remove('dragging');
  if (!e.dataTransfer?.files?.length) return;
  if ($('backend').dataset.state !== 'ready' || state.recovering) {
    showError('The engine is not ready yet: drop the files again in a moment.');
    return;
  }
  if (state.training || state.jobs > 0) {
    showError('Busy: wait for the current job to finish (or stop training), then drop the files again.');
    return;
  }
  droppedFiles(e.dataTransfer).then(loadFiles, (err) => showError(`The dropped folder could not be read: ${err.message}`));
});

// A pixel was chosen (click or Enter): the crop centres on it and its patch is shown.
function pick(x, y) {
  if (!state.image) return;
  const size = Number($('crop').value) || 0;
  state.crop = { x: Math.round(x - size / 2), y: Math.round(y - size / 2) };
  drawOverlay();
  // The patch view answers at once unless the worker is busy (it runs one job at a time).
  if (!state.training && state.jobs === 0 && $('backend').dataset.state === 'ready' && !state.recovering) {
    patches.showPatch(x, y)
      .then((shown) => { state.patch = shown; })
      .catch(() => { /* shown */ });
  }
}
$('crop').addEventListener('change', () => state.image && drawOverlay());
// Chapter 4's crop menu is the same setting as chapter 2's, offered where the race is.
$('race-crop').addEventListener('change', () => {
  $('crop').value = $('race-crop').value;
  $('crop').dispatchEvent(new Event('change'));
});
$('crop').addEventListener('change', () => {
  if ([...$('race-crop').options].some((o) => o.value === $('crop').value)) $('race-crop').value = $('crop').value;
});
$('show-labels').addEventListener('change', showLabels);
$('cell-style').addEventListener('change', restyleCells);
$('opacity').addEventListener('input', restyleCells);
$('undo').addEventListener('click', () => painter.undo());
$('clear-paint').addEventListener('click', () => painter.clear());
$('cancel').addEventListener('click', () => client.signal('cancel'));
$('page').addEventListener('change', reloadImage);
$('channel').addEventListener('change', reloadImage);
$('pixel-size').addEventListener('change', () => state.lastCells && own.showCells(state.lastCells, Number($('pixel-size').value)));
for (const id of ['median', 'threshold', 'grow', 'min-area', 'rim', 'min-contrast', 'min-share']) $(id).addEventListener('change', refreshCells);
// The slider and the number field are one setting: the slider redoes the clean-up when let go.
$('threshold-slider').addEventListener('input', () => { $('threshold').value = Number($('threshold-slider').value).toFixed(2); });
$('threshold-slider').addEventListener('change', () => $('threshold').dispatchEvent(new Event('change')));
$('threshold').addEventListener('change', () => { $('threshold-slider').value = $('threshold').value; });
$('prob-class').addEventListener('change', showProbability);
$('train').addEventListener('click', () => training.train());
$('pause').addEventListener('click', () => client.signal('pause'));
$('resume').addEventListener('click', () => client.signal('resume'));
$('stop').addEventListener('click', () => client.signal('stop'));
$('reset').addEventListener('click', () => newNetwork().catch(() => {}));
$('arch').addEventListener('change', () => newNetwork().catch(() => {}));
$('segment').addEventListener('click', () => segmentCrop({ checkScale: true }));
$('compare').addEventListener('click', compare);
$('save-session').addEventListener('click', () => sessions.save());
// a stack's pages (a time-lapse, a z-stack) all at once, with the channel shown
$('segment-pages').addEventListener('click', () => {
  const done = batch.segmentAll([state.imageSource], state.imageFile?.channel ?? -1);
  $('batch-table').scrollIntoView({ block: 'center' }); // shown as the run starts
  return done;
});
wireDownloads({ run, $, state });

start();
