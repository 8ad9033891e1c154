// The display window: the image's histogram in the file's own units (0..65535 for 16-bit
// data, the values' own range for float and signed data) and the values shown as black and
// white. Auto-levels (1st–99th percentile) is where it starts, so dim 16-bit images never show as black. Only the display changes: the networks
// always see the 1–99% normalisation. The crate computes histogram and pixels.

import uPlot from '../node_modules/uplot/dist/uPlot.esm.js';

const BINS = 256;

export class DisplayWindow {
  /** `run(type, payload, options)` asks the worker; `onPixels(rgba)` gets the redrawn image. */
  constructor({ run, $, onPixels }) {
    Object.assign(this, { run, $, onPixels });
    this.range = null; // {low, high, floor, full}: auto-levels and the file's range
    this.plot = null;
    // errors are shown by `run`; the listeners only keep them from going unhandled
    const shown = () => {};
    const apply = () => this.apply(Number($('display-low').value), Number($('display-high').value)).catch(shown);
    $('display-low').addEventListener('change', apply);
    $('display-high').addEventListener('change', apply);
    $('display-auto').addEventListener('click', () => this.apply(this.range.low, this.range.high).catch(shown));
    $('display-full').addEventListener('click', () => this.apply(this.range.floor, this.range.full).catch(shown));
    $('display').addEventListener('toggle', () => { if ($('display').open) this.drawHistogram().catch(shown); });
  }

  /** A new image file (none for a synthetic colony). */
  async show(display) {
    this.range = display ?? null;
    this.counts = null;
    this.$('display').hidden = !display;
    if (!display) return;
    this.setInputs(display.low, display.high);
    if (this.$('display').open) await this.drawHistogram();
  }

  setInputs(low, high) {
    const digits = this.range.full - this.range.floor > 100 ? 0 : 3;
    this.$('display-low').value = low.toFixed(digits);
    this.$('display-high').value = high.toFixed(digits);
  }

  async apply(low, high) {
    if (!(high > low)) {
      this.$('display-high').setCustomValidity('white must be above black');
      this.$('display-high').reportValidity();
      return;
    }
    this.$('display-high').setCustomValidity('');
    this.setInputs(low, high);
    const { rgba } = await this.run('imageRgba', { low, high });
    this.onPixels(new Uint8ClampedArray(rgba.buffer));
    this.plot?.redraw(false, false); // moves the window's lines
  }

  async drawHistogram() {
    if (!this.range) return;
    this.counts ??= (await this.run('displayHistogram', { bins: BINS })).counts;
    const { floor, full } = this.range;
    const step = (full - floor) / BINS;
    const x = this.counts.map((_, i) => floor + (i + 0.5) * step);
    // log counts: a few saturated pixels and a huge background peak share one axis
    const y = this.counts.map((n) => (n > 0 ? Math.log10(n) : null));
    this.plot?.destroy();
    this.plot = new uPlot({
      width: this.$('display-histogram').clientWidth || 400,
      height: 140,
      scales: { x: { time: false, range: [floor, full] } },
      axes: [{ label: 'value in the file' }, { label: 'log₁₀ pixels', size: 50 }],
      series: [{ label: 'value' }, { label: 'pixels (log₁₀)', stroke: '#4b5563', fill: '#4b556333', paths: uPlot.paths.stepped({ align: 1 }) }],
      hooks: { draw: [() => this.drawWindow()] },
    }, [x, y], this.$('display-histogram'));
  }

  // The window as two vertical lines over the histogram.
  drawWindow() {
    if (!this.plot) return;
    const { ctx, bbox } = this.plot;
    const at = (v) => this.plot.valToPos(v, 'x', true);
    ctx.save();
    ctx.strokeStyle = '#d9480f';
    ctx.lineWidth = 2;
    for (const v of [Number(this.$('display-low').value), Number(this.$('display-high').value)]) {
      ctx.beginPath();
      ctx.moveTo(at(v), bbox.top);
      ctx.lineTo(at(v), bbox.top + bbox.height);
      ctx.stroke();
    }
    ctx.restore();
  }
}
