// Cell sizes (post 2): the found cells' area distribution against the hand-labelled cells of
// the tutorial image, with the two-sample Kolmogorov–Smirnov test from the crate.

import uPlot from '../node_modules/uplot/dist/uPlot.esm.js';

const BIN = 50; // px² per histogram bin

/** The middle value (the upper one of two) of a non-empty list of numbers. */
export const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];

export class Sizes {
  constructor({ request, $ }) {
    this.request = request;
    this.$ = $;
    this.reference = null; // {name, areas}
    this.plot = null;
  }

  /** Keeps the labelled cells of the image just labelled as the reference sample. */
  async setReference(name) {
    const { areas } = await this.request('labelledCellAreas');
    this.reference = { name, areas };
  }

  /** Histograms of `areas` and the reference, and their KS test. */
  async compare(areas) {
    const status = this.$('sizes-status');
    if (!this.reference || areas.length === 0) {
      status.textContent = this.reference ? 'No cells to compare.'
        : 'Load the tutorial labels to compare these sizes with hand-labelled cells.';
      return null;
    }
    const { d, p } = await this.request('ksTest', { a: Array.from(areas), b: this.reference.areas });
    const top = Math.max(...areas, ...this.reference.areas);
    const bins = Math.ceil((top + 1) / BIN);
    const x = Array.from({ length: bins }, (_, i) => (i + 0.5) * BIN);
    const share = (sample) => {
      const h = new Array(bins).fill(0);
      for (const a of sample) h[Math.floor(a / BIN)] += 100 / sample.length;
      return h;
    };
    const data = [x, share(areas), share(this.reference.areas)];
    if (!this.plot) {
      this.plot = new uPlot({
        width: this.$('sizes').clientWidth || 600,
        height: 180,
        scales: { x: { time: false } },
        axes: [{ label: 'cell area (px)' }, { label: '% of cells' }],
        series: [{ label: 'area' },
          { label: 'found', stroke: '#2e9d4f', width: 2, points: { show: false }, paths: uPlot.paths.stepped({ align: 0 }) },
          { label: 'labelled', stroke: '#4aa3ff', width: 2, points: { show: false }, paths: uPlot.paths.stepped({ align: 0 }) }],
      }, data, this.$('sizes'));
    } else {
      this.plot.setData(data);
    }
    status.textContent = `${areas.length} cells found (median ${median(areas)} px) vs ` +
      `${this.reference.areas.length} labelled in ${this.reference.name} (median ${median(this.reference.areas)} px): ` +
      `KS D = ${d.toFixed(3)}, p = ${p.toExponential(2)}. Cells cut by the crop's border count too.`;
    return { d, p };
  }
}
