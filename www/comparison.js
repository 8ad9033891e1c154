// Post 3's race between architectures: the networks ticked here train side by side in the
// worker, one Adam step each on every shared batch, and their held-out mistakes share one chart.

import uPlot from '../node_modules/uplot/dist/uPlot.esm.js';

const COLOURS = ['#d9480f', '#1971c2', '#2f9e44', '#ae3ec9', '#f08c00'];

export class Comparison {
  /** `run(type, payload, options)` asks the worker (errors shown by the page); `settings()`
   *  gives learning rate, batch, seed and augmentation; `busy(flag)` marks training on/off;
   *  `edited()` the editor's network text when it is valid, else null. */
  constructor({ run, $, settings, busy, edited, signal }) {
    Object.assign(this, { run, $, settings, busy, edited });
    this.curves = null; // {names, step: [], heldout: [[], ...]}, also read by the tests
    this.plot = null;
    $('compare-train').addEventListener('click', () => this.train());
    $('compare-stop').addEventListener('click', () => signal('stop'));
  }

  /** One checkbox per preset, the first two ticked, and one for the editor's network. */
  showChoices(presets) {
    const boxes = presets.map(({ name }, i) => choice(name, name, i < 2));
    boxes.push(choice('edited', 'the edited network', false));
    this.$('compare-nets').replaceChildren(...boxes);
  }

  chosen() {
    return [...this.$('compare-nets').querySelectorAll('input:checked')].map((box) => box.value);
  }

  async train() {
    const picked = this.chosen();
    const edited = this.edited();
    if (picked.includes('edited') && !edited) {
      this.status('The edited network does not reach 1×1: fix it or untick it.');
      return;
    }
    if (picked.length < 2) {
      this.status('Tick at least two networks to compare.');
      return;
    }
    const archs = picked.map((name) => (name === 'edited' ? edited : name));
    const names = picked.map((name) => (name === 'edited' ? 'edited' : name));
    const { steps, evalEvery } = {
      steps: Number(this.$('compare-steps').value),
      evalEvery: Math.max(1, Number(this.$('compare-every').value)),
    };
    this.curves = { names, step: [], heldout: names.map(() => []), msPerStep: 0 };
    this.plot?.destroy();
    this.plot = null;
    const bar = this.$('compare-progress');
    bar.value = 0;
    this.busy(true);
    this.status(`Training ${names.join(', ')} on the same batches…`);
    try {
      const result = await this.run('compareTrain', { archs, steps, evalEvery, ...this.settings() }, {
        onProgress: (p) => this.progress(p, bar),
      });
      this.status(`${result.stopped ? 'Stopped' : 'Done'} after ${result.done} steps: ${this.summary()}.`);
    } catch {
      this.status('The comparison failed.');
    } finally {
      this.busy(false);
    }
  }

  progress(p, bar) {
    if (p.paused) return;
    if (p.heldoutMistakes === undefined && !p.initial) {
      bar.value = p.done / p.of;
      return;
    }
    // The chart holds the held-out checks only: the batch mistakes are too noisy to compare.
    const c = this.curves;
    c.step.push(p.initial ? 0 : p.step);
    p.heldoutMistakes.forEach((rate, i) => c.heldout[i].push(100 * rate));
    if (!p.initial) {
      bar.value = p.done / p.of;
      c.msPerStep = p.msPerStep;
      this.status(`Step ${p.step} of ${p.of} (${p.msPerStep.toFixed(0)} ms for all ${c.names.length}): ${this.summary()}.`);
    }
    this.draw();
  }

  summary() {
    const c = this.curves;
    return c.names.map((name, i) => `${name} ${c.heldout[i].at(-1)?.toFixed(1) ?? '–'}%`).join(', ') + ' held-out mistakes';
  }

  draw() {
    const c = this.curves;
    const data = [c.step, ...c.heldout];
    if (this.plot) return this.plot.setData(data);
    this.plot = new uPlot({
      width: this.$('compare-curve').clientWidth || 600,
      height: 240,
      scales: { x: { time: false }, y: { range: [0, 100] } },
      axes: [{ label: 'step' }, { label: 'held-out mistakes %' }],
      series: [{ label: 'step' }, ...c.names.map((name, i) => ({
        label: name, stroke: COLOURS[i % COLOURS.length], width: 2, points: { show: true },
      }))],
    }, data, this.$('compare-curve'));
  }

  status(text) {
    this.$('compare-status').textContent = text;
  }
}

// A labelled checkbox; `value` is what the worker gets, `text` what the reader sees.
function choice(value, text, checked) {
  const label = document.createElement('label');
  const box = document.createElement('input');
  Object.assign(box, { type: 'checkbox', value, checked });
  label.append(box, ` ${text}`);
  return label;
}
