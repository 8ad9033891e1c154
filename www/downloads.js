// Downloads: the trained network, and the cells found as images (labels, outlines, the
// map), measurements (CSV), Fiji ROIs and QuPath objects. The crate writes every file (the
// CLI's formats); the page only names it and hands it to the browser.

/** Saves `blob` as `name` through the browser's download. */
export function download(blob, name) {
  const link = document.createElement('a');
  link.href = URL.createObjectURL(blob);
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

/** Wires the download buttons (`deps`: the worker request `run` and the page's state). */
export function wireDownloads({ run, $, state }) {
  // the image's name without its extension, which every export's name starts with
  const stem = () => (state.image?.name ?? 'image').replace(/\.[^.]*$/, '');

  $('save').addEventListener('click', async () => {
    try {
      const { bytes } = await run('saveWeights');
      // a custom network's name is its whole layer list: keep file names short and plain
      const arch = $('arch').selectedOptions[0]?.dataset.custom ? 'custom' : $('arch').value;
      download(new Blob([bytes], { type: 'application/octet-stream' }), `${arch}-${state.trainedSteps}steps.cellseg`);
    } catch { /* shown */ }
  });
  $('export').addEventListener('click', async () => {
    const what = $('export-what').value;
    const format = $('export-format').value;
    const name = stem();
    try {
      const { bytes } = await run('exportCells', { what, format });
      const { x, y } = state.lastCells.rect;
      const tiff = format === 'tiff' || what === 'probabilities'; // the float32 stack is TIFF only
      download(new Blob([bytes], { type: tiff ? 'image/tiff' : 'image/png' }), `${name}-${what}-x${x}y${y}.${tiff ? 'tif' : 'png'}`);
    } catch { /* shown */ }
  });
  // A button whose request's reply holds the file (at `key`), named after the image.
  const offer = (id, request, payload, key, type, suffix) => $(id).addEventListener('click', async () => {
    const name = stem();
    try {
      const reply = await run(request, payload());
      download(new Blob([reply[key]], { type }), `${name}-${suffix}`);
    } catch { /* shown */ }
  });
  // The measurements come from the crate (the CLI's `--out-cells` columns, intensities in the
  // file's units).
  offer('download-csv', 'cellsCsv', () => ({
    file: state.image?.name ?? 'image',
    page: (state.imageFile?.page ?? 0) + 1,
    micron: Number($('pixel-size').value),
  }), 'csv', 'text/csv', 'cells.csv');
  // Fiji opens the zip in its ROI Manager (drag it onto Fiji), each cell named by its id.
  offer('download-rois', 'cellsRoiZip', () => ({}), 'zip', 'application/zip', 'rois.zip');
  // QuPath imports the file (File → Import objects) as detections with their measurements.
  offer('download-geojson', 'cellsGeojson', () => ({}), 'text', 'application/geo+json', 'cells.geojson');
}
