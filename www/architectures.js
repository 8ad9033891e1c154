// "Architectures" (post 3): the presets side by side, and an editor whose layer table follows
// the typing and says where a network fails to reduce 31x31 to 1x1. Every number comes from
// the crate's `describe` (spec.rs); this module lays them out.

import { LayerEditor } from './layer-editor.js';

export class Architectures {
  /** `request(type, payload)` asks the worker; `onUse(text)` trains the edited network;
   *  `onChange()` follows every table update (the page re-enables its buttons). */
  constructor({ request, $, onUse, onChange }) {
    this.request = request;
    this.$ = $;
    this.onChange = onChange;
    this.latest = 0; // answers to older keystrokes are dropped
    const follow = (text) => this.edit(text).catch((e) => { $('arch-error').textContent = e.message; });
    // Rows and text form stay in step: typing rebuilds the rows, the rows rewrite the text.
    this.layers = new LayerEditor($('layer-list'), (text) => {
      $('arch-text').value = text;
      follow(text);
    });
    $('arch-text').addEventListener('input', () => {
      this.layers.show($('arch-text').value);
      follow($('arch-text').value);
    });
    $('add-conv').addEventListener('click', () => this.layers.add({ kind: 'conv', kernel: 3, channels: 40 }));
    $('add-pool').addEventListener('click', () => this.layers.add({ kind: 'pool' }));
    $('arch-use').addEventListener('click', () => onUse($('arch-text').value));
  }

  /** Fills the presets table and starts the editor on the first preset. */
  async showPresets(presets) {
    const rows = [];
    for (const { name } of presets) {
      const { spec } = await this.request('describe', { arch: name });
      const sides = [31, ...spec.rows.map((r) => r.out)].join(' → ');
      rows.push(tr([name, spec.text, sides, spec.params.toLocaleString(),
        (spec.flopsPerPatch / 1e6).toFixed(1), (spec.flopsPerDensePixel / 1e6).toFixed(2)], [1, 2]));
    }
    this.$('presets-table').tBodies[0].replaceChildren(...rows);
    this.$('arch-text').value = presets[0].text;
    this.layers.show(presets[0].text);
    return this.edit(presets[0].text);
  }

  /** Shows the layer table of `text` as far as it goes, and its error if any. */
  async edit(text) {
    const ticket = ++this.latest;
    const { spec } = await this.request('describe', { arch: text });
    if (ticket !== this.latest) return null;
    this.$('layer-table').tBodies[0].replaceChildren(...layerRows(spec));
    const status = this.$('arch-error');
    status.classList.toggle('bad', Boolean(spec.error));
    status.textContent = spec.error
      ? spec.error
      : `Reaches 1×1: ${spec.params.toLocaleString()} parameters, receptive field ${spec.receptiveField}×${spec.receptiveField}, ` +
        `${(spec.flopsPerPatch / 1e6).toFixed(1)} MFLOPs per patch, ${(spec.flopsPerDensePixel / 1e6).toFixed(2)} per pixel densely.`;
    this.valid = !spec.error;
    this.onChange();
    return spec;
  }
}

/** The layer table's rows for a described spec: layer, field, stride, depth, output size,
 *  dilation in the dense twin and parameters, as far as a patch gets. */
export function layerRows(spec) {
  return spec.rows.map((r, i) => tr([i + 1, r.label, `${r.field}×${r.field}`, r.stride, r.depth,
    `${r.out}×${r.out}`, r.dilation, r.params.toLocaleString()], [1]));
}

// A table row of text cells (never HTML); `textColumns` are left-aligned.
function tr(cells, textColumns = []) {
  const row = document.createElement('tr');
  cells.forEach((value, i) => {
    const cell = document.createElement('td');
    cell.textContent = String(value);
    if (textColumns.includes(i)) cell.className = 'text';
    row.append(cell);
  });
  return row;
}
