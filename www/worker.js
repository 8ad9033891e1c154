// The Web Worker that owns the wasm module, the model and everything loaded. The page never
// runs model work: it sends requests here and draws the replies.
//
// Protocol (see client.js): the page sends {id, type, ...}; replies carry the same id:
// {id, type: 'progress', ...} any number of times, then {id, type: 'done', ...} or
// {id, type: 'error', message}. Jobs run one at a time, in order; 'pause', 'resume' and
// 'stop' act at once on the running training job.

// Two builds of the same crate: pkg/ with WebGPU (burn's wgpu backend: 3.2 MB gzipped, most
// of it GPU kernels) and pkg-cpu/ without (a fraction of that). The one to load is known only
// once WebGPU has been probed, so it is imported then.
// A third, pkg-threads/, is the CPU package on several threads (rayon in Web Workers sharing
// the wasm memory), possible only when the page is cross-origin isolated.
const PACKAGES = { webgpu: '../pkg/cellseg.js', cpu: '../pkg-cpu/cellseg.js', threads: '../pkg-threads/cellseg.js' };
import { probeWebGpu } from './webgpu.js';

let Engine = null; // the loaded package's Engine class
let engine = null;
let wasm = null; // the module's exports, for its memory size
// Set when the wasm module traps (a Rust panic): its state can no longer be trusted.
let crashed = false;
let queue = Promise.resolve();
const control = { paused: false, stopped: false, cancelled: false, wake: null };
// The bytes of the image file last loaded, to decode another page or channel of it.
let imageFile = null;
// Crops larger than this are segmented in bands of rows, so a large image shows progress
// and can be cancelled between bands.
const BAND_PIXELS = 512 * 512;

const post = (msg, transfer = []) => self.postMessage(msg, transfer);

// Loads one package and starts its engine on `backend`.
async function load(backend, threads = 1) {
  const name = backend === 'cpu' && threads > 1 ? 'threads' : backend;
  const pkg = await import(PACKAGES[name]);
  wasm = await pkg.default();
  if (name === 'threads') {
    // before the engine, which asks rayon for its threads; a browser that will not start
    // them leaves the promise pending for ever, hence the time limit
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error('the thread workers did not start')), THREADS_START_MS);
    });
    try {
      await Promise.race([pkg.initThreadPool(threads), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
  Engine = pkg.Engine;
  engine = await Engine.create(backend);
}

const THREADS_START_MS = 20_000;

// Threads for the CPU: every core (up to 16: more starts slowly and gains little on this
// network) when the page may share memory with workers, else one.
const MAX_THREADS = 16;
function cpuThreads(asked) {
  if (!self.crossOriginIsolated) return 1;
  const cores = Math.min(navigator.hardwareConcurrency ?? 1, MAX_THREADS);
  return Math.max(1, Math.min(asked ?? cores, cores));
}

async function startCpu(asked) {
  const threads = cpuThreads(asked);
  if (threads > 1) {
    try {
      return await load('cpu', threads);
    } catch (e) {
      console.warn(`threads unavailable (${e.message}): one thread`);
    }
  }
  await load('cpu');
}

async function start({ backend, testHooks, threads }) {
  hooks = Boolean(testHooks);
  watchDevices();
  let choice = backend;
  let note = '';
  if (backend !== 'cpu') {
    const gpu = await probeWebGpu();
    if (backend === 'auto') {
      const usable = gpu.adapter && !gpu.software;
      choice = usable ? 'webgpu' : 'cpu';
      note = usable ? '' : `CPU chosen: ${gpu.note}`;
    }
  }
  try {
    await (choice === 'cpu' ? startCpu(threads) : load(choice));
  } catch (e) {
    if (choice !== 'webgpu') throw e;
    note = `WebGPU failed (${e.message}); running on the CPU instead`;
    await startCpu(threads);
  }
  return { backend: engine.backend, adapter: engine.adapter, note };
}

const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

// WebGPU devices burn asked for, so that their loss can be reported (and, for the tests,
// caused with `testLoseDevice`, honoured only when the page was opened with ?testhooks).
const devices = [];
let hooks = false;
function watchDevices() {
  if (!self.GPUAdapter || GPUAdapter.prototype.requestDevice.watched) return;
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function watched(...args) {
    const device = await requestDevice.apply(this, args);
    devices.push(device);
    device.lost.then((info) => post({ type: 'event', event: 'deviceLost', message: info.message || info.reason || 'unknown reason' }));
    return device;
  };
  GPUAdapter.prototype.requestDevice.watched = true;
}

// While training on a GPU, the weights come back to the page now and then: if the device is
// lost, the page restarts on the CPU from the last of these.
const CHECKPOINT_MS = 20_000;
let lastCheckpoint = -Infinity; // the first step sends one
async function checkpoint(steps, force = false) {
  if (engine.backend !== 'webgpu' || (!force && performance.now() - lastCheckpoint < CHECKPOINT_MS)) return;
  lastCheckpoint = performance.now();
  const bytes = await engine.saveWeights();
  post({ type: 'event', event: 'checkpoint', bytes, steps }, [bytes.buffer]);
}

// While paused: says so, and waits for Resume or Stop. Returns whether it waited.
async function pausedFor(progress) {
  if (!control.paused) return false;
  progress({ paused: true });
  await new Promise((resolve) => { control.wake = resolve; });
  control.wake = null;
  return true;
}

async function train(msg, progress) {
  const { steps, learningRate, batch, seed, augment, evalEvery, restart } = msg;
  // Cleared before any await, so a Pause or Stop sent while the run starts is kept.
  control.paused = false;
  control.stopped = false;
  // The run in the session goes on only if it learns from what is asked, with the seed
  // asked; the session ends it when the image, scale, labels, paint or network change.
  const run = engine.trainer;
  const learnsFrom = msg.fineTune ? 'paint' : 'labels';
  // (the engine takes the seed as a u32, as wasm-bindgen converts a JavaScript number)
  if (restart || !run || run.learnsFrom !== learnsFrom || run.seed !== seed >>> 0) {
    if (msg.fineTune) engine.startFineTuning(learningRate, batch, seed, augment);
    else engine.startTraining(learningRate, batch, seed, augment);
    progress({ initial: true, step: 0, heldoutMistakes: await engine.heldoutMistakes() });
  } else {
    engine.adjustTraining(learningRate, batch, augment);
  }
  let done = 0;
  let last = null;
  let stepMs = 0; // time inside the steps only: pauses and held-out checks excluded
  while (done < steps && !control.stopped) {
    if (await pausedFor(progress)) continue;
    const t0 = performance.now();
    last = await engine.trainSteps(1);
    stepMs += performance.now() - t0;
    done += 1;
    const update = { ...last, done, of: steps, msPerStep: stepMs / done };
    if (done % evalEvery === 0 || done === steps) update.heldoutMistakes = await engine.heldoutMistakes();
    progress(update);
    await checkpoint(last.step);
    await nextTask(); // let pause/stop messages in
  }
  if (last) await checkpoint(last.step, true); // the end of every run too
  return { stopped: control.stopped, done, last };
}

// Post 3's comparison: several fresh networks, one step each on every shared batch.
async function compareTrain(msg, progress) {
  const { archs, steps, learningRate, batch, seed, augment, evalEvery } = msg;
  control.paused = false;
  control.stopped = false;
  const texts = engine.startComparison(archs, learningRate, batch, seed, augment);
  progress({ initial: true, texts, heldoutMistakes: Array.from(await engine.comparisonHeldout()) });
  let done = 0;
  let stepMs = 0;
  while (done < steps && !control.stopped) {
    if (await pausedFor(progress)) continue;
    const t0 = performance.now();
    const { loss, batchMistakes } = await engine.comparisonStep();
    stepMs += performance.now() - t0;
    done += 1;
    const update = { step: done, done, of: steps, msPerStep: stepMs / done, loss, batchMistakes };
    if (done % evalEvery === 0 || done === steps) update.heldoutMistakes = Array.from(await engine.comparisonHeldout());
    progress(update);
    await nextTask();
  }
  return { stopped: control.stopped, done, texts };
}

// The image decoded from `bytes` (a page and a channel of it), with what the file holds and
// how it is shown.
function loadImage(bytes, page = 0, channel = -1) {
  const info = engine.loadImage(bytes, page, channel);
  imageFile = bytes;
  const rgba = engine.imageRgba(NaN, NaN);
  return [{ ...info, rgba, page, channel }, [rgba.buffer]];
}

// Dense maps of large crops come in bands: progress over the whole, and a cancel between bands.
async function segmentInBands(msg, progress) {
  const { x, y, width, height, ensemble, withTrained } = msg;
  const rows = Math.max(1, Math.floor(BAND_PIXELS / width));
  engine.beginMap(x, y, width, height);
  for (let top = 0; top < height; top += rows) {
    const h = Math.min(rows, height - top);
    await engine.segmentPart(x, y + top, width, h, ensemble, withTrained,
      (done, total) => progress({ done: top * total + done * h, total: height * total, cancellable: true }));
    await nextTask(); // let a cancel in
    if (control.cancelled) throw new Error('Segmentation cancelled; the map before it is kept.');
  }
  return engine.finishMap();
}

async function handle(msg) {
  const { id, type } = msg;
  if (!engine && type !== 'init') throw new Error('the engine has not started');
  // a new network's first step sends a checkpoint at once
  if (['newNetwork', 'loadWeights', 'usePretrained'].includes(type)) lastCheckpoint = -Infinity;
  const progress = (data) => post({ id, type: 'progress', ...data });
  if (!Object.hasOwn(REQUESTS, type)) throw new Error(`unknown request '${type}'`);
  return REQUESTS[type](msg, progress);
}

// The requests the page may send, by name: each takes the message and a progress callback
// and returns its reply (or [reply, transferables]). A request named as an Engine method
// calls that method and passes its typed reply on (crate/src/api.rs); the others (init,
// train, segment, patch, histograms, batchFile, ...) are a few calls of the engine together.
const REQUESTS = {
  init: (msg) => start(msg),
  loadImage: (msg) => loadImage(new Uint8Array(msg.bytes), msg.page ?? 0, msg.channel ?? -1),
  reloadImage: (msg) => {
    if (!imageFile) throw new Error('no image file loaded');
    return loadImage(imageFile, msg.page, msg.channel);
  },
  imageRgba: (msg) => {
    const rgba = engine.imageRgba(msg.low, msg.high);
    return [{ rgba }, [rgba.buffer]];
  },
  displayHistogram: (msg) => ({ counts: Array.from(engine.displayHistogram(msg.bins)) }),
  setScale: (msg) => engine.setScale(msg.factor),
  // No estimate is an answer too (cells out of range), not an error.
  estimateScale: () => {
    try {
      return engine.estimateScale();
    } catch (e) {
      return { factor: null, why: e.message ?? String(e) };
    }
  },
  checkScale: () => ({ check: engine.checkScale() }),
  typicalWidth: () => engine.typicalWidth(),
  typicalLength: () => engine.typicalLength(),
  // How much memory the wasm module holds (it grows, never shrinks): for the soak test.
  memory: () => ({ wasmBytes: wasm.memory.buffer.byteLength }),
  factorFor: (msg) => ({ factor: Engine.factorFor(msg.length) }),
  setPaint: (msg) => ({ counts: Array.from(engine.setPaint(new Uint8Array(msg.classes))) }),
  usePretrained: (msg) => ({ text: engine.usePretrained(msg.index) }),
  evaluateTruth: (msg) => engine.evaluateTruth(new Uint8Array(msg.bytes), msg.kind),
  loadColony: (msg) => {
    const info = engine.loadColony(msg.width, msg.height, msg.seed, msg.size ?? 1);
    imageFile = null;
    const rgba = engine.imageRgba(NaN, NaN);
    return [{ ...info, rgba }, [rgba.buffer]];
  },
  bench: async (msg, progress) => {
    const figures = await engine.bench(msg.width, msg.height, msg.plan, (figure) => progress({ figure }));
    return { figures };
  },
  loadClassLabels: (msg) => ({ counts: Array.from(engine.loadClassLabels(new Uint8Array(msg.bytes))) }),
  loadNpyLabels: (msg) => {
    const [c, e, o] = msg.masks.map((b) => new Uint8Array(b));
    return { counts: Array.from(engine.loadNpyLabels(c, e, o)) };
  },
  classMap: () => {
    const classes = engine.classMap();
    return [{ classes }, [classes.buffer]];
  },
  histograms: (msg) => {
    const bins = msg.bins;
    return { counts: Array.from(engine.classHistograms(bins)), overlap: engine.intensityOverlap(bins) };
  },
  patch: (msg) => {
    const at = (x, y) => ({ x, y, values: engine.patchAt(x, y), label: engine.classAt(x, y) });
    const clicked = at(msg.x, msg.y);
    const twin = clicked.label >= 0 ? engine.lookalike(msg.x, msg.y) : null;
    return { clicked, twin: twin ? at(twin.x, twin.y) : null };
  },
  describe: (msg) => ({ spec: Engine.describe(msg.arch) }),
  smoothedCellProbability: (msg) => {
    const p = engine.smoothedCellProbability(msg.radius);
    return [{ p }, [p.buffer]];
  },
  labelledCellAreas: () => ({ areas: Array.from(engine.labelledCellAreas()) }),
  ksTest: (msg) => Engine.ksTest(new Uint32Array(msg.a), new Uint32Array(msg.b)),
  newNetwork: (msg) => ({ text: engine.newNetwork(msg.arch, msg.seed) }),
  defaults: () => Engine.defaults(),
  train: (msg, progress) => train(msg, progress),
  compareTrain: (msg, progress) => compareTrain(msg, progress),
  segment: async (msg, progress) => {
    const t0 = performance.now();
    control.cancelled = false;
    if (!msg.naive && msg.width * msg.height > BAND_PIXELS) {
      const probs = await segmentInBands(msg, progress);
      return [{ probs, ms: performance.now() - t0 }, [probs.buffer]];
    }
    const naiveBatch = msg.naive ? (msg.batch || 256) : 0;
    const probs = await engine.segment(msg.x, msg.y, msg.width, msg.height, Boolean(msg.ensemble),
      Boolean(msg.withTrained), naiveBatch, (done, total) => progress({ done, total }));
    return [{ probs, ms: performance.now() - t0 }, [probs.buffer]];
  },
  cells: (msg) => {
    const found = engine.cells(msg);
    const { labels, areas, centroids, lengths, doubt, blur } = found;
    found.free();
    return [{ labels, areas, centroids, lengths, doubt: doubt ?? null, blur: blur ?? null }, [labels.buffer, areas.buffer, centroids.buffer, lengths.buffer]];
  },
  exportCells: (msg) => {
    const bytes = engine.exportCells(msg.what, msg.format);
    return [{ bytes }, [bytes.buffer]];
  },
  cellsCsv: (msg) => ({ csv: engine.cellsCsv(msg.file, msg.page, msg.micron) }),
  cellsGeojson: () => ({ text: engine.cellsGeojson() }),
  // what this worker fetched (its package, the networks), for the page to keep offline
  loadedUrls: () => ({ urls: performance.getEntriesByType('resource').map((e) => e.name) }),
  sessionPack: (msg) => {
    const bytes = Engine.sessionPack(msg.meta, new Uint8Array(msg.paint ?? 0), new Uint8Array(msg.network ?? 0));
    return [{ bytes }, [bytes.buffer]];
  },
  sessionUnpack: (msg) => {
    const file = Engine.sessionUnpack(new Uint8Array(msg.bytes));
    const [meta, paint, network] = [file.meta, file.paint, file.network];
    file.free();
    return [{ meta, paint, network }, [paint.buffer, network.buffer]];
  },
  batchBegin: () => engine.batchBegin(),
  // Between pages the engine awaits this callback's promise: a task later, a Stop (the
  // 'cancel' signal) has come in or not, and the file ends there if it has.
  batchFile: async (msg, progress) => {
    control.cancelled = false;
    let stoppedAt = null;
    const betweenPages = async (done, total) => {
      progress({ done, total });
      await nextTask();
      if (control.cancelled && done < total) stoppedAt = { done, total };
      return stoppedAt === null;
    };
    const rows = await engine.batchFile(new Uint8Array(msg.bytes), msg.name, msg.channel ?? -1, msg.ensemble ?? true, Boolean(msg.withTrained), msg.factor,
      msg.settings, msg.micron, betweenPages);
    return { rows, stoppedAt };
  },
  batchFinish: () => {
    const zip = engine.batchFinish();
    return [{ zip }, [zip.buffer]];
  },
  cellsRoiZip: () => {
    const zip = engine.cellsRoiZip();
    return [{ zip }, [zip.buffer]];
  },
  setFineTuneStarts: (msg) => ({ texts: engine.setFineTuneStarts(msg.files.map((b) => new Uint8Array(b))) }),
  setEnsemble: (msg) => {
    const texts = engine.setEnsemble(msg.files.map((b) => new Uint8Array(b)));
    return { texts, size: engine.ensembleSize };
  },
  saveWeights: async () => {
    const bytes = await engine.saveWeights();
    return [{ bytes }, [bytes.buffer]];
  },
  loadWeights: (msg) => ({ text: engine.loadWeights(new Uint8Array(msg.bytes)) }),

};

let inFlight = null;

// A Rust panic traps the module; inside an async call the trap surfaces here, not as a
// rejected promise, so answer the request in flight and refuse the rest.
function crash(reason) {
  crashed = true;
  const message = `Internal error in the engine (${reason}); details are in the browser console. Reload the page to continue.`;
  if (inFlight !== null) post({ id: inFlight, type: 'error', message });
  inFlight = null;
}
self.addEventListener('error', (e) => crash(e.message));
self.addEventListener('unhandledrejection', (e) => crash(e.reason?.message ?? String(e.reason)));

// The session's state after a request (the crate's Session::status): the page applies it in
// one place rather than tracking what each request changed.
const snapshot = () => {
  try {
    return engine?.status() ?? null;
  } catch {
    return null;
  }
};

self.onmessage = ({ data: msg }) => {
  if (msg.type === 'pause') { control.paused = true; return; }
  if (msg.type === 'resume') { control.paused = false; control.wake?.(); return; }
  if (msg.type === 'cancel') { control.cancelled = true; return; }
  if (msg.type === 'testLoseDevice' && hooks) { devices.forEach((d) => d.destroy()); return; }
  if (msg.type === 'stop') { control.stopped = true; control.paused = false; control.wake?.(); return; }
  // Describing a network touches no state and takes microseconds: answer at once, even while
  // training runs, so the architecture editor keeps up with typing.
  if (msg.type === 'describe' && engine && !crashed) {
    post({ id: msg.id, type: 'done', spec: Engine.describe(msg.arch) });
    return;
  }
  if (crashed) {
    post({ id: msg.id, type: 'error', message: 'The engine stopped after an internal error: reload the page to continue.' });
    return;
  }
  queue = queue.then(async () => {
    inFlight = msg.id;
    try {
      let result = await handle(msg);
      let transfer = [];
      if (Array.isArray(result)) [result, transfer] = result;
      post({ id: msg.id, type: 'done', ...result, status: snapshot() }, transfer);
    } catch (e) {
      if (e instanceof WebAssembly.RuntimeError) return crash(e.message);
      post({ id: msg.id, type: 'error', message: e?.message ?? String(e), status: snapshot() });
    } finally {
      inFlight = null;
    }
  });
};

post({ type: 'ready' });
