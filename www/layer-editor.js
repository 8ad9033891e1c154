// Controls for the architecture editor: one row per layer (kernel and depth fields, move up,
// move down, remove) and buttons that add a conv or a pool. They only rewrite the editor's
// text form (`conv4x20 pool ... fc1000`); the crate parses it and computes every size.

const WORD = /^(?:conv(\d+)x(\d+)|pool|fc(\d+))$/i;

/** A word of the text form as a layer row: conv, pool, fc, or text the controls keep as is. */
function parseWord(word) {
  const m = WORD.exec(word);
  if (!m) return { kind: 'text', word };
  if (m[1] !== undefined) return { kind: 'conv', kernel: Number(m[1]), channels: Number(m[2]) };
  if (m[3] !== undefined) return { kind: 'fc', hidden: Number(m[3]) };
  return { kind: 'pool' };
}

function wordOf(layer) {
  switch (layer.kind) {
    case 'conv': return `conv${layer.kernel}x${layer.channels}`;
    case 'pool': return 'pool';
    case 'fc': return `fc${layer.hidden}`;
    default: return layer.word;
  }
}

export class LayerEditor {
  /** `container` gets the rows; `onText(text)` receives every rewrite of the text form. */
  constructor(container, onText) {
    this.container = container;
    this.onText = onText;
    this.layers = [];
  }

  /** Rebuilds the rows from the text form (the reader typed it, or a preset was chosen). */
  show(text) {
    this.layers = text.split(/[\s,]+/).filter(Boolean).map(parseWord);
    this.render();
  }

  /** Adds a layer before the fully connected head, where new convs and pools belong. */
  add(layer) {
    const head = this.layers.findIndex((l) => l.kind === 'fc');
    this.layers.splice(head < 0 ? this.layers.length : head, 0, layer);
    this.render();
    this.emit();
  }

  emit() {
    this.onText(this.layers.map(wordOf).join(' '));
  }

  render() {
    this.container.replaceChildren(...this.layers.map((layer, i) => this.row(layer, i)));
  }

  row(layer, i) {
    const li = document.createElement('li');
    li.className = 'layer';
    const name = document.createElement('span');
    name.className = 'kind';
    name.textContent = { conv: 'conv', pool: 'pool 2×2', fc: 'fully connected', text: 'not a layer:' }[layer.kind];
    li.append(name);
    const number = (label, key, min, max) => {
      const input = document.createElement('input');
      Object.assign(input, { type: 'number', min, max, step: 1, value: layer[key] });
      input.setAttribute('aria-label', `layer ${i + 1} ${label}`);
      input.addEventListener('input', () => {
        layer[key] = input.value === '' ? 0 : Math.round(Number(input.value));
        this.emit(); // no re-render: the field keeps the focus while the reader types
      });
      const wrap = document.createElement('label');
      wrap.append(input, ` ${label}`);
      return wrap;
    };
    if (layer.kind === 'conv') li.append(number('kernel', 'kernel', 1, 31), number('filters', 'channels', 1, 1024));
    if (layer.kind === 'fc') li.append(number('hidden units', 'hidden', 1, 4096));
    if (layer.kind === 'text') li.append(` ${layer.word}`);
    const button = (text, label, disabled, act) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = text;
      b.setAttribute('aria-label', `${label} layer ${i + 1}`);
      b.disabled = disabled;
      b.addEventListener('click', () => {
        act();
        this.render();
        this.emit();
      });
      return b;
    };
    const swap = (j) => { [this.layers[i], this.layers[j]] = [this.layers[j], this.layers[i]]; };
    if (layer.kind !== 'fc') {
      const movable = (j) => j >= 0 && j < this.layers.length && this.layers[j].kind !== 'fc';
      li.append(
        button('↑', 'move up', !movable(i - 1), () => swap(i - 1)),
        button('↓', 'move down', !movable(i + 1), () => swap(i + 1)),
        button('✕', 'remove', false, () => this.layers.splice(i, 1)),
      );
    }
    return li;
  }
}
