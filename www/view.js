// The image view: zoom (buttons, + and −), pan (drag), a pointer that follows the mouse or the
// arrow keys, and picking a pixel (click, or Enter). Zoom is a CSS transform of the canvases,
// so the browser's compositor keeps it smooth on large images; nothing is redrawn to zoom.

const STEPS = [1, 1.5, 2, 3, 4, 6, 8, 12, 16];

export class ImageView {
  /** `onPick(x, y)` a pixel was chosen; `onHover(point | null)` the pointer moved (image
   *  pixels) or left; while `brush()` returns a tool ({down, move, up}), dragging paints
   *  with it instead of panning, and a click does not pick. */
  constructor({ $, onPick, onHover, brush = () => null }) {
    Object.assign(this, { $, onPick, onHover, brush });
    this.size = null; // image width, height
    this.zoom = 1;
    this.pan = { x: 0, y: 0 }; // CSS pixels, <= 0
    this.pointer = null; // image pixels, for the keyboard
    const overlay = $('overlay');
    let drag = null;
    overlay.addEventListener('pointerdown', (e) => {
      const tool = e.button === 0 ? this.brush() : null;
      drag = { x: e.clientX, y: e.clientY, pan: { ...this.pan }, moved: false, tool };
      if (tool) {
        overlay.setPointerCapture(e.pointerId);
        tool.down(this.pixelAt(e));
      }
    });
    overlay.addEventListener('pointermove', (e) => {
      if (drag?.tool && e.buttons === 1) {
        drag.tool.move(this.pixelAt(e));
      } else if (drag && e.buttons === 1 && this.zoom > 1) {
        const dx = e.clientX - drag.x;
        const dy = e.clientY - drag.y;
        if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
        if (drag.moved) this.panTo(drag.pan.x + dx, drag.pan.y + dy);
      }
      this.pointer = this.pixelAt(e);
      this.onHover(this.pointer);
    });
    overlay.addEventListener('pointerup', (e) => {
      const { moved, tool } = drag ?? {};
      drag = null;
      if (tool) tool.up();
      else if (!moved && e.button === 0) this.pick(this.pixelAt(e));
    });
    overlay.addEventListener('pointercancel', () => {
      drag?.tool?.up(); // an interrupted touch stroke still ends (undoable, saved)
      drag = null;
    });
    overlay.addEventListener('pointerleave', () => {
      drag?.tool?.up();
      drag = null;
      this.onHover(null);
    });
    overlay.addEventListener('keydown', (e) => this.key(e));
    $('zoom-in').addEventListener('click', () => this.zoomBy(1));
    $('zoom-out').addEventListener('click', () => this.zoomBy(-1));
    $('zoom-fit').addEventListener('click', () => this.setZoom(1));
  }

  /** A new image: whole image in view, pointer in the middle. */
  reset(width, height) {
    this.size = { width, height };
    this.pointer = { x: width >> 1, y: height >> 1 };
    this.setZoom(1);
    this.$('view-controls').hidden = false;
  }

  pixelAt(e) {
    const box = this.$('overlay').getBoundingClientRect(); // includes the zoom transform
    const { width, height } = this.size;
    const x = Math.floor((e.clientX - box.left) * width / box.width);
    const y = Math.floor((e.clientY - box.top) * height / box.height);
    return { x: Math.min(Math.max(x, 0), width - 1), y: Math.min(Math.max(y, 0), height - 1) };
  }

  pick(point) {
    this.pointer = point;
    this.onPick(point.x, point.y);
  }

  key(e) {
    if (!this.size) return;
    const step = e.shiftKey ? 10 : 1;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[e.key]) {
      const [dx, dy] = moves[e.key];
      const { width, height } = this.size;
      this.pointer = {
        x: Math.min(Math.max(this.pointer.x + dx, 0), width - 1),
        y: Math.min(Math.max(this.pointer.y + dy, 0), height - 1),
      };
      this.follow();
      this.onHover(this.pointer);
    } else if (e.key === 'Enter' || e.key === ' ') {
      this.pick(this.pointer);
    } else if (e.key === '+' || e.key === '=') {
      this.zoomBy(1);
    } else if (e.key === '-') {
      this.zoomBy(-1);
    } else if (e.key === '0') {
      this.setZoom(1);
    } else {
      return;
    }
    e.preventDefault(); // arrows and space would scroll the page
  }

  zoomBy(direction) {
    const i = STEPS.findIndex((z) => z >= this.zoom - 1e-9);
    this.setZoom(STEPS[Math.min(Math.max(i + direction, 0), STEPS.length - 1)]);
  }

  /** Zooms about the pointer, keeping it where it was on screen. */
  setZoom(zoom) {
    if (!this.size) return;
    const view = this.$('view').clientWidth;
    const perPixel = (z) => (view * z) / this.size.width;
    const p = this.pointer;
    const screen = { x: this.pan.x + p.x * perPixel(this.zoom), y: this.pan.y + p.y * perPixel(this.zoom) };
    this.zoom = zoom;
    this.panTo(screen.x - p.x * perPixel(zoom), screen.y - p.y * perPixel(zoom));
    this.$('zoom-level').textContent = `${Math.round(zoom * 100)}%`;
  }

  /** Keeps the keyboard's pointer inside the view when zoomed in. */
  follow() {
    const view = this.$('view');
    const scale = (view.clientWidth * this.zoom) / this.size.width;
    const x = this.pointer.x * scale + this.pan.x;
    const y = this.pointer.y * scale + this.pan.y;
    const margin = 20;
    let { x: px, y: py } = this.pan;
    if (x < margin) px += margin - x;
    if (x > view.clientWidth - margin) px -= x - (view.clientWidth - margin);
    if (y < margin) py += margin - y;
    if (y > view.clientHeight - margin) py -= y - (view.clientHeight - margin);
    this.panTo(px, py);
  }

  panTo(x, y) {
    const view = this.$('view');
    const w = view.clientWidth;
    const h = (w * this.size.height) / this.size.width;
    // the zoomed image always covers the view: no empty margins
    this.pan = {
      x: Math.min(0, Math.max(x, w - w * this.zoom)),
      y: Math.min(0, Math.max(y, h - h * this.zoom)),
    };
    this.$('zoomed').style.transform = `translate(${this.pan.x}px, ${this.pan.y}px) scale(${this.zoom})`;
  }
}
