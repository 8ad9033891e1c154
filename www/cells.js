// The cells found, as the page shows them (an overlay image). Pure functions of the worker's
// reply; the CSV table of their measurements comes from the crate (`cellsCsv`).

// Found cells as translucent green over transparent, each outlined (pixels touching another
// label) in yellow so touching cells stay apart.
// With "coloured one by one", each cell gets its own hue instead (touching cells differ).
export function cellsImage({ labels, rect }, alpha, style = 'outline') {
  const { width: w, height: h } = rect;
  const out = new ImageData(w, h);
  const fill = [40, 230, 90, Math.round(255 * alpha)];
  const rim = [255, 212, 0, Math.round(255 * Math.min(1, 2 * alpha))];
  if (style === 'instances') {
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i];
      if (l === 0) continue;
      const hue = (l * 137.508) % 360; // golden angle: neighbours' colours far apart
      out.data.set([...hsl(hue), Math.round(255 * Math.min(1, 1.5 * alpha))], 4 * i);
    }
    return out;
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const l = labels[i];
      if (l === 0) continue;
      const edge = x === 0 || y === 0 || x === w - 1 || y === h - 1 ||
        labels[i - 1] !== l || labels[i + 1] !== l || labels[i - w] !== l || labels[i + w] !== l;
      out.data.set(edge ? rim : fill, 4 * i);
    }
  }
  return out;
}

// A bright colour of hue `h` (degrees) as [r, g, b].
function hsl(h) {
  const f = (n) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (0.55 - 0.45 * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}
