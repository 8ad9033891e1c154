// Drawing: the image and what lies over it (the hand labels, the held-out line, the cells
// found, the paint, the crop and the patch under the pointer), and the map and mask of the
// last segmentation beside it. Everything here is drawn from the page's state; the worker
// is asked only for the hand labels' classes and the median-filtered map.

import { drawField } from './dilation.js';
import { cellsImage } from './cells.js';

/** The page's drawing (`deps`: the worker request `run`, the page's state, the painter and
 *  the image view). */
export function drawing({ run, $, state, painter, view }) {
  function drawImage() {
    const { width, height, rgba } = state.image;
    for (const id of ['image', 'overlay']) Object.assign($(id), { width, height });
    $('image').getContext('2d').putImageData(new ImageData(rgba, width, height), 0, 0);
    $('view').hidden = false;
    $('view-hint').hidden = false;
    view.reset(width, height);
    drawOverlay();
  }

  // The crop chapter 2 segments: the whole image, or a square around the pixel picked,
  // kept inside the image.
  function cropRect() {
    const size = Number($('crop').value);
    const { width, height } = state.image;
    if (size === 0) return { x: 0, y: 0, width, height };
    const w = Math.min(size, width);
    const h = Math.min(size, height);
    const x = Math.min(Math.max(0, state.crop.x), width - w);
    const y = Math.min(Math.max(0, state.crop.y), height - h);
    return { x, y, width: w, height: h };
  }

  function drawOverlay() {
    if (!state.image) return;
    const ctx = $('overlay').getContext('2d');
    const { width, height } = state.image;
    ctx.clearRect(0, 0, width, height);
    if (state.labelLayer && $('show-labels').checked) {
      ctx.globalAlpha = 0.4;
      ctx.drawImage(state.labelLayer, 0, 0);
      ctx.globalAlpha = 1;
    }
    const line = Math.max(1, width / 400);
    const split = state.image.heldoutFrom;
    ctx.setLineDash([8 * line, 6 * line]);
    ctx.strokeStyle = '#4aa3ff';
    ctx.lineWidth = line;
    ctx.beginPath();
    ctx.moveTo(split, 0);
    ctx.lineTo(split, height);
    ctx.stroke();
    ctx.setLineDash([]);
    const r = cropRect();
    const found = state.lastCells;
    if (found && found.rect.x === r.x && found.rect.y === r.y &&
        found.rect.width === r.width && found.rect.height === r.height) {
      ctx.drawImage(found.overlayCanvas, r.x, r.y); // blended over the labels layer
    }
    if (painter.layer && painter.painted) ctx.drawImage(painter.layer, 0, 0);
    ctx.strokeStyle = '#ffd400';
    ctx.lineWidth = 2 * line;
    ctx.strokeRect(r.x, r.y, r.width, r.height);
    if (state.hover) drawField(ctx, state.hover.x, state.hover.y, 31, line);
  }

  // Pointer moves come faster than frames: redraw at most once per frame.
  let hoverFrame = null;
  function hoverRedraw() {
    hoverFrame ??= requestAnimationFrame(() => { hoverFrame = null; drawOverlay(); });
  }

  // Redraws the cells after a change of style or opacity (no worker request).
  function restyleCells() {
    if (!state.lastCells) return;
    const alpha = Number($('opacity').value);
    const overlay = cellsImage(state.lastCells, alpha, $('cell-style').value);
    state.lastCells.overlayCanvas = document.createElement('canvas');
    Object.assign(state.lastCells.overlayCanvas, { width: overlay.width, height: overlay.height });
    state.lastCells.overlayCanvas.getContext('2d').putImageData(overlay, 0, 0);
    state.lastCells.maskImage = cellsImage(state.lastCells, alpha * 0.8, $('cell-style').value);
    drawResults();
  }

  function drawResults() {
    const { probs, rect } = state.lastProbs;
    const n = rect.width * rect.height;
    const prob = new ImageData(rect.width, rect.height);
    // 0 other, 1 cell, 2 edge, or p(cell) after the median filter (fetched by showProbability)
    const choice = $('prob-class').value;
    const values = choice === 'smoothed' && state.smoothed ? state.smoothed : probs.subarray(Number(choice === 'smoothed' ? 1 : choice) * n);
    for (let i = 0; i < n; i++) {
      const g = Math.round(255 * values[i]);
      prob.data.set([g, g, g, 255], 4 * i);
    }
    for (const id of ['prob', 'mask']) Object.assign($(id), { width: rect.width, height: rect.height });
    $('prob').getContext('2d').putImageData(prob, 0, 0);
    // The image crop, then the mask on top.
    const base = new ImageData(rect.width, rect.height);
    const { rgba, width } = state.image;
    for (let y = 0; y < rect.height; y++) {
      const start = 4 * ((rect.y + y) * width + rect.x);
      base.data.set(rgba.subarray(start, start + 4 * rect.width), 4 * y * rect.width);
    }
    const ctx = $('mask').getContext('2d');
    ctx.putImageData(base, 0, 0);
    const mask = document.createElement('canvas');
    Object.assign(mask, { width: rect.width, height: rect.height });
    if (state.lastCells) mask.getContext('2d').putImageData(state.lastCells.maskImage, 0, 0);
    ctx.drawImage(mask, 0, 0);
    drawOverlay();
  }

  // The hand labels as a translucent layer: cell green, edge red, other clear.
  async function showLabels() {
    if (!state.labelled) return drawOverlay();
    if (!state.labelLayer) {
      try {
        const { classes } = await run('classMap');
        const { width, height } = state.image;
        const layer = new ImageData(width, height);
        const colours = [null, [40, 230, 90, 255], [240, 60, 60, 255]];
        classes.forEach((c, i) => { if (colours[c]) layer.data.set(colours[c], 4 * i); });
        const canvas = document.createElement('canvas');
        Object.assign(canvas, { width, height });
        canvas.getContext('2d').putImageData(layer, 0, 0);
        state.labelLayer = canvas;
      } catch { return; /* shown */ }
    }
    drawOverlay();
  }

  // The median-filtered view comes from the crate (the same filter the clean-up uses).
  async function showProbability() {
    if (!state.lastProbs) return;
    state.smoothed = null;
    if ($('prob-class').value === 'smoothed') {
      try {
        state.smoothed = (await run('smoothedCellProbability', { radius: Number($('median').value) })).p;
      } catch { /* shown */ }
    }
    drawResults();
  }

  return { drawImage, cropRect, drawOverlay, hoverRedraw, restyleCells, drawResults, showLabels, showProbability };
}
