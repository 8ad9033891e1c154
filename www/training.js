// Chapter 2, "A first network": the training run (settings, pause/resume/stop in the worker),
// its learning curve, fresh networks, and the autosave of what was trained.

import uPlot from '../node_modules/uplot/dist/uPlot.esm.js';
import { autosave } from './autosave.js';

export class Training {
  /** `run` asks the worker (errors shown by the page); `request` asks without showing errors;
   *  `onNewNetwork(arch)` follows a new network (link, taps). */
  constructor({ run, request, $, state, enable, setStatus, onNewNetwork, onReplaced }) {
    Object.assign(this, { run, request, $, state, enable, setStatus, onNewNetwork, onReplaced });
    this.plot = null;
  }

  plotCurve() {
    const { step, batch, heldout } = this.state.curve;
    const data = [step, batch, heldout];
    if (!this.plot) {
      this.plot = new uPlot({
        width: this.$('curve').clientWidth || 600,
        height: 220,
        scales: { x: { time: false }, y: { range: [0, 100] } },
        axes: [{ label: 'step' }, { label: 'mistakes %' }],
        series: [
          { label: 'step' },
          { label: 'batch mistakes %', stroke: '#9aa5b1', width: 1 },
          { label: 'held-out mistakes %', stroke: '#d9480f', width: 2, spanGaps: true, points: { show: true } },
        ],
      }, data, this.$('curve'));
    } else {
      this.plot.setData(data);
    }
  }

  async train() {
    const settings = {
      steps: Number(this.$('steps').value),
      learningRate: Number(this.$('lr').value),
      batch: Number(this.$('batch').value),
      seed: Number(this.$('seed').value),
      augment: this.$('augment').checked,
      evalEvery: Math.max(1, Number(this.$('eval-every').value)),
    };
    this.state.training = true;
    this.enable();
    this.$('train-progress').value = 0;
    this.setStatus('train-status', 'Training…');
    const started = this.state.trainedSteps;
    try {
      const result = await this.run('train', settings, {
        onProgress: (p) => {
          if (p.paused) return this.setStatus('train-status', `Paused at step ${this.state.trainedSteps}.`);
          if (p.initial) {
            this.state.curve.step.push(this.state.trainedSteps);
            this.state.curve.batch.push(null);
            this.state.curve.heldout.push(100 * p.heldoutMistakes);
            this.state.lastHeldout = p.heldoutMistakes;
            return this.plotCurve();
          }
          this.state.trainedSteps += 1; // the page's count survives restarts with new settings
          this.state.curve.step.push(this.state.trainedSteps);
          this.state.curve.batch.push(100 * p.batchMistakes);
          this.state.curve.loss.push(p.loss);
          this.state.curve.heldout.push(p.heldoutMistakes === undefined ? null : 100 * p.heldoutMistakes);
          if (p.heldoutMistakes !== undefined) this.state.lastHeldout = p.heldoutMistakes;
          this.$('train-progress').value = p.done / p.of;
          const held = this.state.lastHeldout === undefined ? '' : `, held-out mistakes ${(100 * this.state.lastHeldout).toFixed(1)}%`;
          this.state.summary = `loss ${p.loss.toFixed(3)}, batch mistakes ${(100 * p.batchMistakes).toFixed(1)}%${held} ` +
            `(${p.msPerStep.toFixed(0)} ms/step)`;
          this.setStatus('train-status', `Step ${this.state.trainedSteps}: ${this.state.summary}`);
          this.plotCurve();
        },
      });
      const verb = result.stopped ? 'Stopped' : 'Done';
      this.setStatus('train-status', `${verb} after ${this.state.trainedSteps - started} steps: ${this.state.summary ?? ''}`);
    } catch (e) {
      this.setStatus('train-status', 'Training failed.');
      return;
    } finally {
      this.state.training = false;
      this.enable();
    }
    // after the buttons are back: the save queues in the worker ahead of whatever comes next
    await this.autosaveNetwork();
  }

  // The network as trained so far, into this browser's storage (see autosave.js).
  async autosaveNetwork() {
    try {
      const { bytes } = await this.request('saveWeights');
      const text = this.$('arch').selectedOptions[0]?.textContent ?? this.$('arch').value;
      await autosave.saveNetwork(bytes, { text, steps: this.state.trainedSteps });
      this.state.networkSaved = true;
    } catch (e) {
      console.warn('network autosave:', e);
    }
  }

  // Offers the network saved on an earlier visit, if there is one.
  async offerSavedNetwork() {
    const saved = await autosave.loadNetwork().catch(() => null);
    if (!saved) return;
    const when = new Date(saved.savedAt).toLocaleString();
    this.$('restore').textContent = `Restore the network saved ${when} (${saved.steps} steps)`;
    this.$('restore').hidden = false;
    this.$('restore').onclick = async () => {
      try {
        const bytes = new Uint8Array(saved.bytes).slice().buffer; // a copy: the saved one stays
        const { text } = await this.run('loadWeights', { bytes }, { transfer: [bytes] });
        this.onReplaced(text, new Uint8Array(saved.bytes).slice().buffer);
        this.$('restore').hidden = true;
        this.setStatus('train-status', `Restored the network from your last visit: ${text}`);
      } catch { /* shown */ }
    };
  }

  // A fresh network: a preset from the menu, or the text form of an edited one.
  async newNetwork(arch = this.$('arch').value) {
    const { text } = await this.run('newNetwork', { arch, seed: Number(this.$('seed').value) });
    if (![...this.$('arch').options].some((o) => o.value === arch)) {
      // an edited network joins the menu as "custom" (replacing an earlier one)
      this.$('arch').querySelector('option[data-custom]')?.remove();
      const option = new Option(`custom: ${text}`, arch);
      option.dataset.custom = 'true';
      this.$('arch').append(option);
    }
    this.$('arch').value = arch;
    this.onNewNetwork(arch);
    this.state.trainedSteps = 0;
    this.state.curve = { step: [], batch: [], heldout: [], loss: [] };
    this.state.lastHeldout = undefined;
    this.plotCurve();
    this.setStatus('train-status', `New network: ${text}`);
  }
}
