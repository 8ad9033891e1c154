// Segmenting: the networks' map of the crop (chapter 2's Segment button, chapter 4's race of
// the dense and the patch-by-patch paths) and the cells the clean-up finds in it. The worker
// does the work; this asks for it, keeps the buttons off while it runs and says what it did.

import { median } from './sizes.js';

/** The page's segmentation (`deps`: the worker request `run`, the page's state and status
 *  lines, the drawing's parts the results go to, and the parts that follow the cells found). */
export function segmenting(deps) {
  const {
    run, $, state, setStatus, showError, enable, fetchBytes, cropRect, restyleCells,
    showProbability, sizes, own,
  } = deps;

  // The pretrained networks (models/, listed in models/index.json), fetched from this page's
  // own server the first time they are needed.
  async function loadPretrained() {
    if (state.ensembleSize > 0) return;
    const bar = $('segment-progress');
    setStatus('segment-status', 'Downloading the pretrained networks…');
    state.jobs += 1; // the downloads are part of the job: keep the buttons off
    enable();
    try {
      const index = JSON.parse(new TextDecoder().decode(await fetchBytes('models/index.json')));
      // the networks that segment, and the posts' networks that fine-tuning starts from
      const names = [...index.ensemble, ...(index.fine_tune ?? [])];
      const files = [];
      for (const name of names) {
        files.push(await fetchBytes(`models/${name}`));
        bar.value = files.length / names.length;
      }
      const starts = files.splice(index.ensemble.length);
      await run('setFineTuneStarts', { files: starts }, { transfer: starts });
      await run('setEnsemble', { files }, { transfer: files }); // its reply's session holds them
    } catch (e) {
      showError(`The pretrained networks could not be loaded: ${e.message}`);
      throw e;
    } finally {
      state.jobs = Math.max(0, state.jobs - 1);
      enable();
    }
  }

  // Which networks segment: 'pretrained' (the page's default, models/index.json's ensemble),
  // 'trained' (the network from step 2) or 'both' (averaged, as post 2 averages networks).
  async function segment(naive = false, networks = $('networks').value, bar = $('segment-progress'), status = 'segment-status') {
    const ensemble = networks !== 'trained';
    const withTrained = networks === 'both';
    if (ensemble) await loadPretrained();
    const rect = cropRect();
    bar.value = 0;
    const what = naive ? 'patch by patch' : 'densely';
    const pretrained = state.ensembleSize === 1 ? 'the pretrained network' : `${state.ensembleSize} pretrained networks`;
    const nets = withTrained ? `with ${pretrained} and yours`
      : ensemble ? `with ${pretrained}` : 'with the network from step 2';
    setStatus(status, `Segmenting ${rect.width} × ${rect.height} ${what} ${nets}…`);
    state.segmenting = true;
    try {
      const reply = await run('segment', { ...rect, naive, ensemble, withTrained }, {
        onProgress: ({ done, total, cancellable }) => {
          bar.value = done / total;
          if (cancellable && !state.cancellable) {
            state.cancellable = true; // a large map, in bands: it can stop between them
            enable();
          }
        },
      });
      return { probs: reply.probs, ms: reply.ms, rect, nets, scale: state.scale || 1 };
    } finally {
      state.segmenting = false;
      state.cancellable = false;
      enable();
    }
  }

  // Chapter 2's clean-up settings, as the worker's `cells` and `batchFile` take them.
  function cleanupSettings() {
    return {
      median: Number($('median').value),
      threshold: Number($('threshold').value),
      growTo: Number($('grow').value),
      minArea: Number($('min-area').value),
      rim: Number($('rim').value),
      minContrast: Number($('min-contrast').value),
      minShare: Number($('min-share').value),
    };
  }

  // Cells from the last map with the clean-up settings on the page (the networks do not rerun).
  async function findCells() {
    const { rect } = state.lastProbs;
    const settings = cleanupSettings();
    const { labels, areas, centroids, lengths, doubt, blur } = await run('cells', settings);
    state.lastCells = { labels, areas, centroids, lengths, rect, settings, doubt };
    // a doubtful result (no halos, texture, networks unsure: pipeline::doubt): said beside it, as a warning
    $('cells-doubt').textContent = doubt ? `Doubtful: ${doubt}.` : '';
    $('cells-doubt').hidden = !doubt;
    // drawn once here, not on every redraw of the overlay (mouse moves redraw it)
    restyleCells();
    own.showCells(state.lastCells, Number($('pixel-size').value));
    enable(); // the downloads need cells
    state.sizes = await sizes.compare(areas).catch(() => null);
    // a noisy image the networks saw smoothed when this map was made (crate/src/io/denoise.rs)
    const seen = blur ? `the networks saw it smoothed (σ ${blur.toFixed(2)} px: noisier than they learned); ` : '';
    return `${seen}${areas.length} cells, median area ${areas.length ? median(areas) : 0} px`;
  }

  // "W × H with N networks in T ms (R px/s)": the status line's account of a map.
  function timing({ rect, nets, ms }) {
    const n = rect.width * rect.height;
    return `${rect.width} × ${rect.height} ${nets} in ${ms.toFixed(0)} ms (${(n / ms * 1000).toFixed(0)} px/s)`;
  }

  // `rethrow`: for callers that must know it failed (the error is shown either way);
  // `checkScale`: the Segment button's run, where the cells found check an automatic scale
  // and the crop is segmented again where they move it (not while fine-tuning resegments).
  async function segmentCrop({ rethrow = false, checkScale = false } = {}) {
    let again = false;
    try {
      do {
        const result = await segment(false);
        state.lastProbs = result;
        state.lastCells = null;
        state.smoothed = null;
        if ($('prob-class').value === 'smoothed') await showProbability();
        state.segmentSummary = timing(result);
        const found = await findCells();
        again = checkScale && await own.checkScale();
        // "Dense: …" once the scale stands (what waits for a result waits for that)
        setStatus('segment-status', again
          ? `${found} at × ${result.scale.toFixed(3)}; the cells found move the scale: segmenting again…`
          : `Dense: ${state.segmentSummary}; ${found}.`);
      } while (again);
    } catch (e) {
      // stopped on the way to the scale the cells found asked for: say so, not "segmenting again"
      if (again) {
        const how = $('scale-status').textContent.replace(/: segmenting again at .*…$/, '');
        setStatus('scale-status', `${how}: stopped before the cells found there could check it; Segment goes on from there.`);
      }
      if (rethrow) throw e; // shown already
    }
  }

  async function refreshCells() {
    if (!state.lastProbs) return;
    if ($('prob-class').value === 'smoothed' && state.jobs === 0 && !state.training) await showProbability();
    if (state.jobs > 0 || state.training) {
      state.cellsDirty = true; // enable() redoes it when the worker is free
      return;
    }
    try {
      setStatus('segment-status', `Dense: ${state.segmentSummary}; ${await findCells()}.`);
    } catch { /* shown */ }
  }

  // Chapter 4's race: the same crop densely and patch by patch, their times and how far apart
  // their maps are.
  async function compare() {
    state.jobs += 1; // one job of two requests: keep the buttons off in between
    try {
      // One network is enough to race the two paths, and patch by patch is slow: the race
      // always runs the network from step 2.
      const dense = await segment(false, 'trained', $('race-progress'), 'race-status');
      const naive = await segment(true, 'trained', $('race-progress'), 'race-status');
      let maxDiff = 0;
      for (let i = 0; i < dense.probs.length; i++) maxDiff = Math.max(maxDiff, Math.abs(dense.probs[i] - naive.probs[i]));
      // Both scale with the pixel count, so the crop's rates project to the whole image.
      const { width, height } = state.image;
      const scale = (width * height) / (dense.rect.width * dense.rect.height);
      const minutes = (ms) => (ms * scale / 60_000).toFixed(1);
      setStatus('race-status', `Patch by patch ${naive.ms.toFixed(0)} ms, dense ${dense.ms.toFixed(0)} ms: ` +
        `${(naive.ms / dense.ms).toFixed(1)}× faster; max |difference| ${maxDiff.toExponential(2)}. ` +
        `The whole ${width} × ${height} image would take ${minutes(naive.ms)} min patch by patch, ` +
        `${minutes(dense.ms)} min densely.`);
      state.lastProbs = dense;
      state.smoothed = null;
      if ($('prob-class').value === 'smoothed') await showProbability();
      state.segmentSummary = timing(dense);
      await findCells();
      setStatus('segment-status', `Dense: ${state.segmentSummary}; from the race in chapter 4.`);
      // last: the tests wait for it, and by now every status is written
      state.compare = { denseMs: dense.ms, naiveMs: naive.ms, maxDiff };
    } catch { /* shown */ } finally {
      state.jobs = Math.max(0, state.jobs - 1);
      enable();
    }
  }

  return { loadPretrained, cleanupSettings, segmentCrop, refreshCells, compare };
}
