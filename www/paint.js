// Painted corrections: a class per pixel (0 other, 1 cell, 2 edge, 255 unpainted) drawn
// with round brushes over the image, an undo per stroke, and a translucent layer to show
// them. The worker gets the classes to fine-tune on; nothing here is model math.

export const UNPAINTED = 255;
const COLOURS = { 0: [70, 130, 255, 200], 1: [40, 230, 90, 200], 2: [240, 60, 60, 200] };

export class Painter {
  constructor(onChange) {
    this.onChange = onChange; // after every stroke, undo and clear
    this.reset(0, 0);
  }

  /** A new image: nothing painted. */
  reset(width, height) {
    this.width = width;
    this.height = height;
    this.classes = new Uint8Array(width * height).fill(UNPAINTED);
    this.strokes = []; // per stroke: Map(pixel index → class before)
    this.stroke = null;
    this.layer = null;
    if (width > 0) {
      this.layer = document.createElement('canvas');
      Object.assign(this.layer, { width, height });
      this.pixels = new ImageData(width, height);
    }
  }

  /** Pixels painted per class: [other, cell, edge]. */
  counts() {
    const n = [0, 0, 0];
    for (const c of this.classes) if (c < 3) n[c] += 1;
    return n;
  }

  get painted() {
    return this.counts().some((n) => n > 0);
  }

  /** Paint saved earlier for this image (same size); returns whether it was taken. */
  restore(classes) {
    if (classes?.length !== this.classes.length) return false;
    classes.forEach((c, i) => { if (c !== UNPAINTED) this.set(i, c); });
    this.flush(0, 0, this.width, this.height);
    this.onChange();
    return true;
  }

  begin(x, y, value, radius) {
    this.stroke = new Map();
    this.stamp(x, y, value, radius);
  }

  /** Continues the stroke to (x, y), filling the gap since the last point. */
  extend(x, y, value, radius) {
    if (!this.stroke) return;
    const [px, py] = this.last;
    const steps = Math.max(1, Math.ceil(Math.hypot(x - px, y - py) / Math.max(1, radius / 2)));
    for (let i = 1; i <= steps; i++) {
      this.stamp(Math.round(px + (x - px) * i / steps), Math.round(py + (y - py) * i / steps), value, radius);
    }
  }

  end() {
    if (this.stroke?.size) this.strokes.push(this.stroke);
    this.stroke = null;
    this.onChange();
  }

  undo() {
    const stroke = this.strokes.pop();
    if (!stroke) return;
    for (const [i, before] of stroke) this.set(i, before);
    this.flush(0, 0, this.width, this.height);
    this.onChange();
  }

  clear() {
    const all = new Map();
    this.classes.forEach((c, i) => { if (c !== UNPAINTED) all.set(i, c); });
    if (all.size) this.strokes.push(all); // clearing can be undone too
    this.classes.fill(UNPAINTED);
    this.pixels.data.fill(0);
    this.flush(0, 0, this.width, this.height);
    this.onChange();
  }

  stamp(cx, cy, value, radius) {
    this.last = [cx, cy];
    const r = Math.max(0, radius - 1);
    const x0 = Math.max(0, cx - r);
    const x1 = Math.min(this.width - 1, cx + r);
    const y0 = Math.max(0, cy - r);
    const y1 = Math.min(this.height - 1, cy + r);
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        if ((x - cx) ** 2 + (y - cy) ** 2 > r * r + r) continue;
        const i = y * this.width + x;
        if (this.classes[i] === value) continue;
        if (!this.stroke.has(i)) this.stroke.set(i, this.classes[i]);
        this.set(i, value);
      }
    }
    // only the brush's box is copied to the layer: cheap even on a 2048 x 2048 image
    if (x1 >= x0 && y1 >= y0) this.flush(x0, y0, x1 - x0 + 1, y1 - y0 + 1);
  }

  set(i, value) {
    this.classes[i] = value;
    this.pixels.data.set(COLOURS[value] ?? [0, 0, 0, 0], 4 * i);
  }

  flush(x, y, w, h) {
    this.layer.getContext('2d').putImageData(this.pixels, 0, 0, x, y, w, h);
  }
}
