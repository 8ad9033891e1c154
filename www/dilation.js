// "Fast and fully convolutional" (post 4): the dense twin runs every layer at every pixel.
// Pools keep stride 1, so each later layer spreads its taps out by 2 per pool passed — the
// 'd-regularly sparse' kernels of Li et al. This draws those taps, layer by layer, from the
// crate's layer table (describe), and the 31x31 field one output pixel sees.

const CELL = 10; // screen pixels per image pixel in the tap diagrams

export class Dilation {
  constructor({ $ }) {
    this.$ = $;
  }

  /** One diagram per layer of `spec` (a describe() answer): its taps at its dilation. */
  showTaps(spec) {
    const figures = spec.rows.map((row) => {
      const span = (row.field - 1) * row.dilation + 1;
      const canvas = document.createElement('canvas');
      canvas.width = canvas.height = span * CELL;
      const ctx = canvas.getContext('2d');
      ctx.fillStyle = '#eef1f4';
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.fillStyle = row.label === 'pool' ? '#4aa3ff' : '#d9480f';
      for (let i = 0; i < row.field; i++) {
        for (let j = 0; j < row.field; j++) {
          ctx.fillRect(j * row.dilation * CELL, i * row.dilation * CELL, CELL - 1, CELL - 1);
        }
      }
      const figure = document.createElement('figure');
      const caption = document.createElement('figcaption');
      caption.textContent = `${row.label}, d = ${row.dilation}: ${row.field}×${row.field} taps over ${span}×${span}`;
      figure.append(canvas, caption);
      return figure;
    });
    this.$('taps').replaceChildren(...figures);
    this.$('taps-status').textContent = `${spec.name}: one output pixel sees a ` +
      `${spec.receptiveField}×${spec.receptiveField} field, the same patch the patch network classifies.`;
  }
}

/** Outlines the `side`×`side` field centred on (x, y) on a 2-D context. */
export function drawField(ctx, x, y, side, lineWidth) {
  const half = Math.floor(side / 2);
  ctx.strokeStyle = '#ff4fd8';
  ctx.lineWidth = lineWidth;
  ctx.strokeRect(x - half, y - half, side, side);
}
