// "Why patches" (post 1): intensity histograms per class, and the 31x31 patch around a
// clicked pixel next to a look-alike pixel of the other kind. The numbers come from the crate
// (worker requests 'histograms' and 'patch'); this module only draws them.

import uPlot from '../node_modules/uplot/dist/uPlot.esm.js';

const BINS = 64;
const CLASS_NAMES = ['other', 'cell', 'edge'];
const COLOURS = ['#6b7280', '#2e9d4f', '#d9480f'];

export class Patches {
  /** `run(type, payload)` sends a request to the worker; `$` finds elements by id. */
  constructor({ run, $ }) {
    this.run = run;
    this.$ = $;
    this.plot = null;
  }

  /** Forgets the previous image's figures (a new image has no labels yet). */
  reset() {
    this.plot?.destroy();
    this.plot = null;
    this.$('histogram-status').textContent = 'Load labels for this image to see its histograms.';
    for (const id of ['patch', 'twin']) this.$(id).getContext('2d').clearRect(0, 0, 31 * ZOOM, 31 * ZOOM);
    this.$('patch-caption').textContent = 'Click the image to see the patch around a pixel.';
    this.$('twin-caption').textContent = '';
  }

  /** Draws the per-class histograms of the labelled image, each as % of its class. */
  async showHistograms() {
    const { counts, overlap } = await this.run('histograms', { bins: BINS });
    const x = Array.from({ length: BINS }, (_, i) => (i + 0.5) / BINS);
    const series = CLASS_NAMES.map((_, c) => {
      const part = counts.slice(c * BINS, (c + 1) * BINS);
      const total = part.reduce((a, b) => a + b, 0) || 1;
      return part.map((n) => (100 * n) / total);
    });
    const data = [x, ...series];
    if (!this.plot) {
      this.plot = new uPlot({
        width: this.$('histogram').clientWidth || 600,
        height: 200,
        scales: { x: { time: false, range: [0, 1] } },
        axes: [{ label: 'normalised intensity (1st → 99th percentile)' }, { label: '% of the class' }],
        series: [{ label: 'intensity' }, ...CLASS_NAMES.map((name, c) => ({
          label: name, stroke: COLOURS[c], width: 2, points: { show: false }, paths: uPlot.paths.stepped({ align: 0 }),
        }))],
      }, data, this.$('histogram'));
    } else {
      this.plot.setData(data);
    }
    this.$('histogram-status').textContent = `Cell and background (other) intensities overlap by ` +
      `${(100 * overlap).toFixed(0)}%: no brightness threshold separates them.`;
    return overlap;
  }

  /** Shows the patch around (x, y) and, with labels, a look-alike: a background pixel as bright
   *  as a clicked cell pixel, or a cell pixel as bright as anything else. */
  async showPatch(x, y) {
    const { clicked, twin } = await this.run('patch', { x, y });
    draw(this.$('patch'), clicked.values);
    this.$('patch-caption').textContent = describe(clicked);
    if (twin) {
      draw(this.$('twin'), twin.values);
      const brightness = (p) => p.values[15 * 31 + 15].toFixed(2);
      this.$('twin-caption').textContent = `${describe(twin)} — centre ${brightness(twin)} vs ` +
        `${brightness(clicked)}: as bright, yet the patches differ.`;
    } else {
      this.$('twin').getContext('2d').clearRect(0, 0, 31 * ZOOM, 31 * ZOOM);
      this.$('twin-caption').textContent = clicked.label < 0
        ? 'Load labels to find a pixel of the other kind that is just as bright.'
        : 'No pixel of the other kind is this bright.';
    }
    return { clicked, twin };
  }
}

function describe({ x, y, label }) {
  const kind = label < 0 ? 'unlabelled' : CLASS_NAMES[label];
  return `(${x}, ${y}): ${kind}`;
}

const ZOOM = 8;

// Normalised values (0..1 for the 1st–99th percentile) in gray, each pixel a ZOOM-sized block,
// with the centre pixel (the one being classified) outlined.
function draw(canvas, values) {
  const image = new ImageData(31, 31);
  values.forEach((v, i) => {
    const g = Math.round(255 * Math.min(1, Math.max(0, v)));
    image.data.set([g, g, g, 255], 4 * i);
  });
  const small = new OffscreenCanvas(31, 31);
  small.getContext('2d').putImageData(image, 0, 0);
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, 31 * ZOOM, 31 * ZOOM);
  ctx.strokeStyle = '#ffd400';
  ctx.lineWidth = 2;
  ctx.strokeRect(15 * ZOOM, 15 * ZOOM, ZOOM, ZOOM);
}
