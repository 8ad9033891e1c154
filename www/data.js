// Data in: the tutorial's image and masks (from upstream, on request), its test images, a
// synthetic colony, and files picked or dropped (images, labels, weights, true labels,
// sessions, folders), each sorted to where it goes. What an image loaded resets on the page
// is here too; the worker's session resets the rest (crate/src/session.rs).

/** The loaders over the page's parts (`deps`: the worker request `run`, the page's state and
 *  status lines, and the parts an image or labels touch). */
export function dataLoading(deps) {
  const {
    run, $, state, setStatus, showError, enable, keepSource, sizes, painter, autosave, display,
    patches, drawImage, showLabels, sessions, batch, own, networkReplaced, refreshCells, dataPrefix,
    colonySeed,
  } = deps;
  // `?colony=N` draws colony N, then N + 1, …: a link (or a test) shows the same cells again
  // (a colony's seed is a u32 in the crate)
  let nextColony = Number.isSafeInteger(colonySeed) && colonySeed >= 0 && colonySeed < 2 ** 32 ? colonySeed : null;

  async function fetchBytes(url) {
    let response;
    try {
      response = await fetch(url);
    } catch (e) {
      throw new Error(`Could not download ${url}: network error (${e.message}). Check the connection, or point ?data= at a copy.`);
    }
    if (!response.ok) throw new Error(`Could not download ${url}: HTTP ${response.status} ${response.statusText}`);
    return response.arrayBuffer();
  }

  async function loadTutorial() {
    $('data-progress').hidden = false;
    $('data-progress').removeAttribute('value');
    setStatus('data-status', 'Downloading phase_027 and its masks…');
    try {
      const names = ['Images/phase_027.tif', ...['cells', 'edges', 'other'].map((m) => `Masks/image_027_mask_${m}.npy`)];
      // allSettled, not all: when several files fail, name them in a fixed order (image
      // first) rather than whichever request happened to fail first.
      const results = await Promise.allSettled(names.map((n) => fetchBytes(dataPrefix + n)));
      const failed = results.filter((r) => r.status === 'rejected');
      if (failed.length > 0) {
        const more = failed.length > 1 ? ` (and ${failed.length - 1} more of the ${names.length} files)` : '';
        throw new Error(failed[0].reason.message + more);
      }
      const [image, ...masks] = results.map((r) => r.value);
      await loadImage(image, 'phase_027.tif');
      const copies = masks.map((m) => m.slice(0));
      const { counts } = await run('loadNpyLabels', { masks }, { transfer: masks });
      keepSource('labels', { npy: copies });
      labelsLoaded(counts);
      await sizes.setReference('phase_027');
    } catch (e) {
      showError(e.message);
      setStatus('data-status', state.image ? 'Kept the image loaded before.' : 'No image yet.');
    } finally {
      $('data-progress').hidden = true;
    }
  }

  // The posts' unlabelled test images, for segmenting with the networks trained on phase_027.
  async function loadTestImage(name) {
    $('data-progress').hidden = false;
    $('data-progress').removeAttribute('value');
    setStatus('data-status', `Downloading ${name}…`);
    try {
      await loadImage(await fetchBytes(`${dataPrefix}Images/${name}`), name);
    } catch (e) {
      showError(e.message);
      setStatus('data-status', state.image ? 'Kept the image loaded before.' : 'No image yet.');
    } finally {
      $('data-progress').hidden = true;
    }
  }

  async function loadImage(bytes, name) {
    const copy = bytes.slice(0); // kept (on WebGPU) once the worker has taken the file
    imageLoaded(await run('loadImage', { bytes }, { transfer: [bytes] }), name);
    keepSource('image', { bytes: copy, name });
  }

  // A synthetic colony with exact labels, drawn by the crate: nothing to download.
  async function loadColony() {
    try {
      const seed = nextColony ?? Math.floor(Math.random() * 1e6);
      if (nextColony !== null) nextColony += 1;
      const size = Number($('colony-size').value) || 1;
      const reply = await run('loadColony', { width: 512, height: 384, seed, size });
      const name = `synthetic colony ${seed}${size === 1 ? '' : `, cells × ${size}`}`;
      keepSource('image', { colony: seed, size, name });
      imageLoaded(reply, name);
      labelsLoaded(reply.counts);
    } catch { /* shown */ }
  }

  function imageLoaded(reply, name) {
    const { width, height, heldoutFrom } = reply;
    state.image = { width, height, heldoutFrom, rgba: new Uint8ClampedArray(reply.rgba.buffer), name, page: reply.page, channel: reply.channel };
    painter.reset(width, height);
    state.paintSaved = false;
    const loaded = state.image;
    autosave.loadPaint(loaded).then((classes) => {
      if (loaded !== state.image) return; // another image came meanwhile
      if (classes && painter.restore(classes)) setStatus('paint-status', `${$('paint-status').textContent} (restored from your last visit)`);
    }).catch((e) => console.warn('paint autosave:', e));
    state.imageFile = { pages: reply.pages, channels: reply.channels, page: reply.page, channel: reply.channel };
    // a size the file states (ImageJ or OME metadata) fills the field; a typed one stays otherwise
    if (reply.micron > 0) $('pixel-size').value = String(Number(reply.micron.toPrecision(6)));
    showFileOptions(reply);
    display.show(reply.display).catch(() => { /* shown */ });
    $('paint-tools').hidden = false;
    if (state.scale && state.scale !== 1) setStatus('scale-status', `Scale × ${state.scale} applies to this image too.`);
    state.lastProbs = null;
    state.lastCells = null;
    $('cells-doubt').hidden = true;
    state.compare = null;
    state.segmentSummary = null;
    state.patch = null;
    state.labelLayer = null;
    patches.reset();
    state.crop = { x: Math.max(0, (reply.width >> 1) - 128), y: Math.max(0, (reply.height >> 1) - 128) };
    drawImage();
    const depth = reply.bits ? `, ${reply.bits}-bit${reply.channels >= 3 ? ' colour' : ''}` : '';
    const page = reply.pages > 1 ? `, page ${reply.page + 1} of ${reply.pages}` : '';
    const size = reply.micron > 0 ? `, ${$('pixel-size').value} µm a pixel (from the file)` : '';
    // padding (crate/src/io/padding.rs): said, as it changes what the networks see
    const frame = reply.padding > 0 ? `, a flat frame over ${Math.max(1, Math.round(100 * reply.padding))}% of it left out of the picture` : '';
    // uneven light (crate/src/io/light.rs): said too, for the same reason
    const light = reply.light ? `, its brightest part lit ${reply.light.toFixed(1)} times as brightly as its darkest, evened out` : '';
    // a field stop's noisy dark outside (crate/src/io/field_stop.rs)
    const outside = reply.outside > 0 ? `, a field stop's dark outside over ${Math.max(1, Math.round(100 * reply.outside))}% of it left out of the picture` : '';
    // burnt-in marks (crate/src/io/marks.rs): a timestamp's box, a scale bar
    const marks = reply.marks > 0 ? `, marks burnt into it (a timestamp's box, a scale bar) left out of the picture` : '';
    setStatus('data-status', `${name}: ${reply.width} × ${reply.height} pixels${depth}${page}${size}${frame}${outside}${marks}${light}, no labels (segmentation only).`);
    setStatus('train-status', 'Training needs labels for this image.');
    enable();
    // the image a loaded session was waiting for: its paint and scale come back
    sessions.imageLoaded();
  }

  function labelsLoaded(counts) {
    const total = counts.reduce((a, b) => a + b, 0);
    const pct = (n) => `${(100 * n / total).toFixed(0)}%`;
    setStatus('data-status', `${state.image.name}: ${state.image.width} × ${state.image.height} pixels, labelled: ` +
      `${pct(counts[1])} cell, ${pct(counts[2])} edge, ${pct(counts[0])} other.`);
    setStatus('train-status', 'Ready to train.');
    setStatus('compare-status', 'Ready to compare networks.');
    state.labelLayer = null;
    showLabels();
    enable();
    patches.showHistograms().catch(() => { /* shown */ });
  }

  // A multi-page TIFF offers its pages, a colour image its channels.
  function showFileOptions({ pages = 1, channels = 1, page = 0, channel = -1 }) {
    $('page').replaceChildren(...Array.from({ length: pages }, (_, i) => new Option(`${i + 1} of ${pages}`, i)));
    $('page').value = page;
    $('channel').value = channel;
    $('page-choice').hidden = pages <= 1;
    $('channel-choice').hidden = channels < 3;
    $('file-options').hidden = pages <= 1 && channels < 3;
  }

  async function reloadImage() {
    const name = state.image?.name;
    try {
      const choice = { page: Number($('page').value), channel: Number($('channel').value) };
      imageLoaded(await run('reloadImage', choice), name);
      if (state.sources?.image) Object.assign(state.sources.image, choice);
      delete state.sources?.labels; // the labels went with the page they were for
    } catch {
      showFileOptions({ ...state.imageFile }); // the choice that is still loaded
    }
  }

  // Sorts dropped or picked files into image, labels and weights by name and type.
  async function loadFiles(files) {
    files = [...files];
    // checked before reading: a huge file is refused without filling the memory
    const tooBig = files.find((f) => state.limits && f.size > state.limits.maxFileBytes);
    if (tooBig) {
      showError(`${tooBig.name} is ${(tooBig.size / 2 ** 20).toFixed(0)} MiB; the limit is ${state.limits.maxFileBytes / 2 ** 20} MiB. Nothing was loaded.`);
      return;
    }
    const npy = files.filter((f) => f.name.toLowerCase().endsWith('.npy'));
    const weights = files.filter((f) => f.name.toLowerCase().endsWith('.cellseg'));
    const sessionFiles = files.filter((f) => f.name.toLowerCase().endsWith('.cellseg-session'));
    const isTruth = (f) => /truth|ground|_gt\b/i.test(f.name);
    const isLabels = (f) => !isTruth(f) && /class|label|mask/i.test(f.name);
    const truth = files.filter(isTruth);
    const other = (f) => npy.includes(f) || weights.includes(f) || sessionFiles.includes(f);
    const images = files.filter((f) => !other(f) && !isLabels(f) && !truth.includes(f));
    const labels = files.filter((f) => !other(f) && isLabels(f));
    if (images.length > 1) {
      // several images are a batch, not one image replaced by the next: they wait under
      // "Many files" for the networks and settings to be chosen
      batch.choose(images);
      if (labels.length || npy.length || truth.length) showError('Labels go with one image: drop them with it alone. The images wait under "Many files".');
      setStatus('data-status', `${images.length} images dropped: they wait under "Many files" (Your own images); press Segment all there.`);
      $('batch-files').closest('.form').scrollIntoView({ block: 'center' });
      images.length = labels.length = npy.length = truth.length = 0;
    }
    try {
      for (const f of images) {
        state.imageSource = f; // for "Segment every page"
        await loadImage(await f.arrayBuffer(), f.name);
        if (state.sessionApplied) await state.sessionApplied; // the session's scale, not a new estimate
        else await own.autoScale();
      }
      for (const f of labels) {
        const bytes = await f.arrayBuffer();
        const copy = bytes.slice(0);
        labelsLoaded((await run('loadClassLabels', { bytes }, { transfer: [bytes] })).counts);
        keepSource('labels', { classes: copy });
      }
      if (npy.length) {
        const pick = (k) => npy.find((f) => f.name.toLowerCase().includes(k));
        const found = ['cells', 'edges', 'other'].map(pick);
        if (found.some((f) => !f)) throw new Error('Drop all three .npy masks together (names containing cells, edges and other).');
        const masks = await Promise.all(found.map((f) => f.arrayBuffer()));
        const copies = masks.map((m) => m.slice(0));
        labelsLoaded((await run('loadNpyLabels', { masks }, { transfer: masks })).counts);
        keepSource('labels', { npy: copies });
      }
      for (const f of weights) {
        const bytes = await f.arrayBuffer();
        const copy = bytes.slice(0);
        const { text } = await run('loadWeights', { bytes }, { transfer: [bytes] });
        networkReplaced(text, copy);
        setStatus('train-status', `Loaded weights: ${text}`);
      }
      for (const f of truth) await own.evaluate(f);
      for (const f of sessionFiles) {
        await sessions.load(f);
        refreshCells();
      }
    } catch (e) {
      showError(`${e.message}`);
    }
  }

  // The files of a drop, with the contents of dropped folders (and their folders) in place of
  // the folders themselves.
  async function droppedFiles(transfer) {
    const entries = [...transfer.items].map((item) => item.webkitGetAsEntry?.());
    if (!entries.some((e) => e?.isDirectory)) return [...transfer.files];
    const files = [];
    const walk = async (entry) => {
      if (entry.isFile) {
        const file = await new Promise((ok, fail) => entry.file(ok, fail));
        // a dropped folder's files know only their own names: keep the path within the drop,
        // as a picked folder's webkitRelativePath does, so same-named files stay apart
        files.push(Object.assign(file, { relativePath: entry.fullPath.replace(/^\//, '') }));
      }
      else if (entry.isDirectory) {
        const reader = entry.createReader();
        for (;;) {
          const chunk = await new Promise((ok, fail) => reader.readEntries(ok, fail));
          if (!chunk.length) break;
          for (const child of chunk) await walk(child);
        }
      }
    };
    for (const entry of entries) if (entry) await walk(entry);
    return files;
  }

  return {
    fetchBytes, loadTutorial, loadTestImage, loadImage, loadColony, imageLoaded, labelsLoaded,
    showFileOptions, reloadImage, loadFiles, droppedFiles,
  };
}
