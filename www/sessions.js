// A whole session in one file (the crate's io::session_file): the image it belongs to (named,
// not saved), the paint, the network and the settings. Loading one brings back the settings
// and the network at once, and the scale and paint with their image: now if it is the one
// loaded, else when it is loaded next.

const sameImage = (a, b) => a && b && ['name', 'page', 'channel', 'width', 'height'].every((k) => a[k] === b[k]);

export class Sessions {
  /** `run` asks the worker (errors shown by the page); `painter` holds the paint; `own` sets
   *  the scale; `networkReplaced(text, bytes)` follows a network loaded from the file;
   *  `settingsApplied()` follows settings read back (the link, the slider). */
  constructor({ run, $, state, painter, own, setStatus, showError, download, networkReplaced, settingsApplied, applyLink }) {
    Object.assign(this, { run, $, state, painter, own, setStatus, showError, download, networkReplaced, settingsApplied, applyLink });
  }

  // The image the paint belongs to, as a session names it.
  imageRef() {
    const { state } = this;
    if (!state.image) return null;
    const { name, width, height } = state.image;
    return { name, page: state.imageFile?.page ?? 0, channel: state.imageFile?.channel ?? -1, width, height };
  }

  async save() {
    try {
      const { bytes: network } = await this.run('saveWeights');
      const image = this.imageRef();
      const paint = image && this.painter.painted ? this.painter.classes.slice() : new Uint8Array(0);
      const meta = { image, scale: this.state.scale || 1, settings: location.search.slice(1) };
      const { bytes } = await this.run('sessionPack', { meta, paint, network }, { transfer: [paint.buffer, network.buffer] });
      const stem = (image?.name ?? 'cellseg').replace(/\.[^.]*$/, '');
      this.download(new Blob([bytes], { type: 'application/zip' }), `${stem}.cellseg-session`);
      const before = this.$('data-status').textContent.replace(/ Session saved\.$/, '');
      this.setStatus('data-status', `${before} Session saved.`);
    } catch (e) {
      this.showError(`The session could not be saved: ${e.message}`);
    }
  }

  async load(file) {
    const bytes = await file.arrayBuffer();
    const { meta, paint, network } = await this.run('sessionUnpack', { bytes }, { transfer: [bytes] });
    this.applyLink(this.$, `?${meta.settings}`);
    this.settingsApplied();
    if (network.length) {
      const copy = network.slice(0).buffer;
      const { text } = await this.run('loadWeights', { bytes: network.buffer }, { transfer: [network.buffer] });
      this.networkReplaced(text, copy);
      this.setStatus('train-status', `Network from the session: ${text}`);
    }
    this.state.pendingSession = { image: meta.image, paint, scale: meta.scale };
    if (sameImage(meta.image, this.imageRef())) await this.applyToImage();
    else if (meta.image) {
      const page = meta.image.page ? `, page ${meta.image.page + 1}` : '';
      this.setStatus('data-status', `Session ${file.name} loaded: load ${meta.image.name}${page} ` +
        `(${meta.image.width} × ${meta.image.height}) to get its paint and scale back.`);
    }
  }

  // A new image is loaded: if a loaded session waits for it, its paint and scale come back
  // (`state.sessionApplied` resolves once they have).
  imageLoaded() {
    const waiting = sameImage(this.state.pendingSession?.image, this.imageRef());
    this.state.sessionApplied = waiting ? this.applyToImage().catch(() => {}) : null;
  }

  async applyToImage() {
    const { state } = this;
    const { paint, scale } = state.pendingSession;
    state.pendingSession = null;
    if (scale && scale !== state.scale) {
      this.$('scale').value = String(scale);
      await this.own.setScale(scale).catch(() => {});
    }
    if (paint.length) {
      this.painter.reset(state.image.width, state.image.height);
      this.painter.restore(paint);
    }
    this.setStatus('data-status', `${state.image.name}: the session's ${paint.length ? 'paint and ' : ''}scale × ${state.scale} are back.`);
  }
}
