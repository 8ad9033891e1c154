// "Your own images": the scale the networks see the image at, fine-tuning on painted
// corrections round by round, scoring against true labels, and the table of cells.

const CLASS_NAMES = ['other', 'cell', 'edge'];
const MAX_ROWS = 500; // the table shows this many cells; the CSV has them all

export class OwnImages {
  /** `run` asks the worker; `painter` holds the paint; `loadPretrained()` fetches the
   *  pretrained networks; `resegment()` segments the crop again with the network in training;
   *  `settings()` gives chapter 2's batch, seed and augmentation; `busy(flag)` marks training. */
  constructor({ run, $, state, painter, loadPretrained, resegment, settings, busy, saved, replaced }) {
    Object.assign(this, { run, $, state, painter, loadPretrained, resegment, settings, busy, saved, replaced });
    $('scale').addEventListener('change', () => this.setScale(Number($('scale').value)).catch(() => {}));
    $('cell-length').addEventListener('change', () => this.fromLength(Number($('cell-length').value)).catch(() => { /* shown */ }));
    $('measure-length').addEventListener('click', () => this.measure().catch(() => {}));
    $('measure-image').addEventListener('click', () => this.autoScale().catch(() => {}));
    $('fine-tune').addEventListener('click', () => this.fineTune());
    $('truth-file').addEventListener('change', (e) => {
      if (e.target.files[0]) this.evaluate(e.target.files[0]);
      e.target.value = ''; // the same file can be picked again after a new segmentation
    });
  }

  // (a new line is no longer the warning the old one may have been)
  status(id, text) {
    this.$(id).textContent = text;
    this.$(id).classList.remove('bad');
  }

  // ---- scale ----

  async fromLength(length) {
    if (!(length > 0)) return;
    const { factor } = await this.run('factorFor', { length });
    this.$('scale').value = factor.toFixed(3);
    await this.setScale(factor).catch(() => {});
  }

  async setScale(factor) {
    const { width, height } = await this.run('setScale', { factor });
    this.state.scale = factor;
    // smoothed where noisier than the networks learned (the session's blur, crate/src/io/denoise.rs)
    const blur = this.state.session?.blur;
    const smoothed = blur ? `, smoothed (σ ${blur.toFixed(2)} px: noisier than they learned)` : '';
    this.status('scale-status', factor === 1
      ? (blur ? `The networks see the image${smoothed}.` : 'The networks see the image as it is.')
      : `The networks see the image at ${width} × ${height} (× ${factor.toFixed(3)})${smoothed}; results come back at full size. Segment again to use it.`);
  }

  // The automatic scale, as the CLI's `--scale auto` chooses it: measured from the image
  // itself (the crate's width estimate) — what a dropped image gets — and then checked
  // against the width of the cells found there (`checkScale`, after each Segment).
  async autoScale() {
    const { factor, reason, width, height, why } = await this.run('estimateScale');
    if (factor === null) {
      this.$('scale').value = '1.000';
      await this.setScale(1);
      this.status('scale-status', `Scale × 1: ${why}.`);
      return 1;
    }
    this.$('scale').value = factor.toFixed(3);
    this.state.scale = factor;
    const seen = factor === 1 ? '' : ` The networks see it at ${width} × ${height}; results come back at full size.`;
    this.status('scale-status', `Scale × ${factor === 1 ? 1 : factor.toFixed(3)}: ${reason}.${seen} Segment checks it against the width of the cells found.`);
    return factor;
  }

  // After a segmentation at the automatic scale, the cells found check it; true when the
  // image should be segmented again at the scale they gave (the crate says when to stop).
  async checkScale() {
    const { check } = await this.run('checkScale');
    if (!check) return false;
    this.$('scale').value = check.factor.toFixed(3);
    this.state.scale = check.factor;
    const how = check.how[0].toUpperCase() + check.how.slice(1);
    this.status('scale-status', check.again
      ? `${how}: segmenting again at ${check.width} × ${check.height}…`
      : `${how}.`);
    // a scale the cells could not confirm is said as a warning, not as an answer
    this.$('scale-status').classList.toggle('bad', Boolean(check.doubt));
    return check.again;
  }

  // The cells found measured across: a split cell's pieces are as wide as the cell, so the
  // width holds where their lengths would mislead.
  async measure() {
    const { width, factor, tutorial } = await this.run('typicalWidth');
    if (width === null) {
      this.status('scale-status', 'No cells were found in the last segmentation to measure.');
      return;
    }
    this.$('scale').value = factor.toFixed(3);
    await this.setScale(factor);
    this.status('scale-status', `The cells found are ${width.toFixed(1)} px wide (median); the tutorial's are ${tutorial.toFixed(1)} px: scale × ${factor.toFixed(3)} set. Segment again to use it.`);
  }

  // ---- correct and retrain ----

  async fineTune() {
    const counts = this.painter.counts();
    const missing = CLASS_NAMES.filter((_, c) => counts[c] === 0);
    if (missing.length) {
      this.status('tune-status', `Paint some ${missing.join(' and ')} pixels too: fine-tuning learns every class from your strokes.`);
      return;
    }
    const steps = Math.max(1, Number(this.$('tune-steps').value));
    const rounds = Math.max(1, Number(this.$('tune-rounds').value));
    const bar = this.$('tune-progress');
    bar.value = 0;
    this.busy(true);
    const record = { rounds: [], from: this.$('tune-from').value };
    this.state.fineTune = record;
    try {
      if (record.from === 'pretrained') {
        await this.loadPretrained();
        const { text } = await this.run('usePretrained', { index: 0 });
        record.start = text;
        this.replaced(text);
      }
      const classes = this.painter.classes.slice();
      await this.run('setPaint', { classes: classes.buffer }, { transfer: [classes.buffer] });
      this.$('networks').value = 'trained';
      let finished = true;
      for (let round = 1; round <= rounds; round++) {
        let fit = null;
        const result = await this.run('train', {
          ...this.settings(), fineTune: true, restart: round === 1, steps, evalEvery: steps,
          learningRate: Number(this.$('tune-lr').value),
        }, {
          onProgress: (p) => {
            if (p.initial && round === 1) record.initialMistakes = p.heldoutMistakes;
            if (p.heldoutMistakes !== undefined) fit = p.heldoutMistakes;
            if (p.done) bar.value = ((round - 1) * steps + p.done) / (rounds * steps);
            this.status('tune-status', `Round ${round} of ${rounds}: step ${p.done ?? 0} of ${steps}…`);
          },
        });
        if (result.stopped) {
          finished = false;
          this.status('tune-status', `Stopped in round ${round}; the network keeps what it learned so far.`);
          break;
        }
        const before = this.state.lastProbs?.probs.slice();
        await this.resegment(); // throws if segmenting failed (the error is shown)
        const after = this.state.lastProbs?.probs;
        let changed = null;
        if (before && after && before.length === after.length) {
          changed = 0;
          for (let i = 0; i < after.length; i++) changed = Math.max(changed, Math.abs(after[i] - before[i]));
        }
        record.rounds.push({ round, mistakesOnPaint: fit, changed });
        const misfit = fit === null ? '' : `${(100 * fit).toFixed(1)}% of patches on your paint misclassified; `;
        this.status('tune-status', `Round ${round} of ${rounds}: ${misfit}` +
          `the crop was segmented again${changed === null ? '' : ` (largest change in a probability ${changed.toFixed(3)})`}.`);
      }
      if (finished) {
        this.status('tune-status', `${this.$('tune-status').textContent} Done: "Networks: the network trained above" is now the fine-tuned one; save it with Save weights.`);
      }
    } catch (e) {
      this.status('tune-status', `Fine-tuning stopped: ${e.message}`);
      record.failed = true;
    } finally {
      this.busy(false);
    }
    if (!record.failed) await this.saved?.();
  }

  // ---- evaluate ----

  async evaluate(file) {
    try {
      const bytes = await file.arrayBuffer();
      const reply = await this.run('evaluateTruth', { bytes, kind: this.$('truth-kind').value }, { transfer: [bytes] });
      this.state.evaluation = reply;
      const r = reply.report;
      const [x, y, w, h] = reply.crop;
      const u = r.unmatched;
      this.status('eval-status', `${file.name} (${reply.kind === 'classes' ? 'class map' : 'instance ids'}) on the crop ` +
        `${w} × ${h} at (${x}, ${y}): ${r.cells_predicted} cells found, ${r.cells_true} true; ` +
        // instance ids carry no edge class, so only the cell class's pixels compare fairly
        (reply.kind === 'classes' ? `pixel accuracy ${r.pixel_accuracy.toFixed(3)}, ` : '') +
        `cell IoU ${r.class_iou[1].toFixed(3)}. Unmatched at IoU 0.5: ${u.missed} missed, ` +
        `${u.merged} merged, ${u.split} split, ${u.misshaped} misshapen; ${u.spurious} spurious.`);
      const rows = r.objects.map((o) => row([o.tau, o.precision.toFixed(3), o.recall.toFixed(3), o.f1.toFixed(3), o.ap.toFixed(3)]));
      this.$('eval-table').tBodies[0].replaceChildren(...rows);
      this.$('eval-table').hidden = false;
    } catch (e) {
      this.status('eval-status', `Could not score ${file.name}: ${e.message}`);
    }
  }

  // ---- cells ----

  /** The table of the cells found (the first MAX_ROWS; the CSV holds them all). */
  showCells({ areas, centroids, lengths, rect }, micron) {
    const rows = [];
    for (let i = 0; i < Math.min(areas.length, MAX_ROWS); i++) {
      rows.push(row([i + 1, areas[i], micron > 0 ? (areas[i] * micron * micron).toFixed(2) : '',
        lengths[i].toFixed(1), (rect.x + centroids[2 * i]).toFixed(1), (rect.y + centroids[2 * i + 1]).toFixed(1)]));
    }
    this.$('cells-table').tBodies[0].replaceChildren(...rows);
    this.$('cells-table').tFoot?.remove();
    if (areas.length > MAX_ROWS) {
      const foot = this.$('cells-table').createTFoot();
      foot.append(row([`… and ${areas.length - MAX_ROWS} more in the CSV`]));
    }
  }
}

function row(cells) {
  const tr = document.createElement('tr');
  for (const value of cells) {
    const td = document.createElement('td');
    td.textContent = String(value); // never HTML
    tr.append(td);
  }
  return tr;
}
