// Many files: a lab's folder segmented in one go. Each file is read only when its turn comes
// and handed to the worker, which segments every page with the networks chapter 2's menu
// names (the pretrained ones, the network trained there, or both) and adds the results to one zip (crate `batch`), so
// memory holds one image at a time. A file that cannot be read gets its row and reason.

const IMAGE = /\.(tiff?|png|jpe?g)$/i;

/** A file's path within what was picked or dropped: a dropped folder's files carry it as
 *  `relativePath` (www/data.js), a picked folder's as `webkitRelativePath`. */
const pathOf = (file) => file.relativePath || file.webkitRelativePath || file.name;

export class Batch {
  /** `run` asks the worker; `settings()` gives the clean-up settings, `networks()` chapter
   *  2's choice, `scale()` the scale set above, `micron()` the pixel size field;
   *  `loadPretrained()` fetches the pretrained networks; `busy(flag)` marks the run;
   *  `signal('cancel')` asks the worker to stop at the next page. */
  constructor({ run, $, loadPretrained, settings, networks, scale, micron, busy, download, signal }) {
    Object.assign(this, { run, $, loadPretrained, settings, networks, scale, micron, busy, download, signal });
    this.files = [];
    this.running = false;
    this.stopping = false;
    this.zip = null;
    this.rows = []; // the summary rows so far (tests read them)
    for (const id of ['batch-files', 'batch-folder']) {
      $(id).addEventListener('change', (e) => this.choose(Array.from(e.target.files)));
    }
    $('batch-run').addEventListener('click', () => this.segmentAll());
    // Stops between pages (a stack's too) and between files; what was done stays in the zip.
    $('batch-cancel').addEventListener('click', () => {
      this.stopping = true;
      this.signal('cancel');
      this.status('Stopping after this page…');
    });
    $('batch-download').addEventListener('click', () => {
      if (this.zip) this.download(this.zip, 'cellseg-results.zip');
    });
  }

  status(text) {
    this.$('batch-status').textContent = text;
  }

  /** Enables the buttons: `idle` when the worker has nothing else to do. */
  enable(idle) {
    this.$('batch-run').disabled = !idle || this.running || this.files.length === 0;
    this.$('batch-cancel').disabled = !this.running || this.stopping;
  }

  choose(files) {
    const images = files.filter((f) => IMAGE.test(f.name));
    const skipped = files.length - images.length;
    this.files = images.sort((a, b) => pathOf(a).localeCompare(pathOf(b)));
    const other = skipped ? ` (${skipped} other file${skipped > 1 ? 's' : ''} left out)` : '';
    this.status(images.length ? `${images.length} image${images.length > 1 ? 's' : ''} to segment${other}.`
      : `No TIFF, PNG or JPEG among the ${files.length} files.`);
    this.busy(false);
  }

  /** Segments `files` (the chosen ones by default) with `channel` (the menu's by default). */
  async segmentAll(files = this.files, channel = Number(this.$('batch-channel').value)) {
    if (!files.length || this.running) return;
    this.running = true;
    this.stopping = false;
    this.partly = null;
    this.zip = null;
    this.rows = [];
    this.$('batch-download').hidden = true;
    const table = this.$('batch-table');
    const body = table.querySelector('tbody');
    body.replaceChildren();
    table.hidden = false;
    const bar = this.$('batch-progress');
    bar.value = 0;
    this.busy(true);
    let done = 0;
    let failed = 0;
    let cells = 0;
    try {
      const networks = this.networks();
      if (networks !== 'trained') await this.loadPretrained();
      await this.run('batchBegin', {});
      const factor = this.$('batch-scale').value === 'auto' ? 0 : this.scale();
      for (const file of files) {
        if (this.stopping) break;
        const name = pathOf(file);
        this.status(`Segmenting ${name} (${done + 1} of ${files.length})…`);
        const bytes = await file.arrayBuffer();
        const { rows, stoppedAt } = await this.run('batchFile', {
          bytes, name, channel, ensemble: networks !== 'trained', withTrained: networks === 'both', factor, settings: this.settings(), micron: this.micron() || 0,
        }, {
          transfer: [bytes],
          onProgress: ({ done: page, total }) => { bar.value = (done + page / Math.max(1, total)) / files.length; },
        });
        for (const line of rows.trim().split('\n')) {
          const row = splitCsv(line);
          this.rows.push(row);
          if (row[6] === 'ok') cells += Number(row[2]); else failed += 1;
          const tr = document.createElement('tr');
          for (const value of row) {
            const td = document.createElement('td');
            td.textContent = value; // file names reach the page as text only
            tr.append(td);
          }
          body.append(tr);
        }
        if (stoppedAt) {
          this.partly = `${name} stopped after page ${stoppedAt.done} of ${stoppedAt.total}`;
          break;
        }
        done += 1;
        bar.value = done / files.length;
      }
      const { zip } = await this.run('batchFinish', {});
      this.zip = new Blob([zip], { type: 'application/zip' });
      this.$('batch-download').hidden = false;
      const partly = this.partly ? ` (${this.partly})` : '';
      const stopped = done < files.length ? `stopped after ${done} of ${files.length} files${partly}` : `${done} file${done > 1 ? 's' : ''}`;
      const problems = failed ? `; ${failed} page${failed > 1 ? 's' : ''} or file${failed > 1 ? 's' : ''} could not be segmented (see the table)` : '';
      this.status(`Done: ${stopped}, ${cells} cells${problems}. The zip holds what was segmented.`);
    } catch (e) {
      this.status(`The run stopped: ${e.message}`);
    } finally {
      this.running = false;
      this.stopping = false;
      this.busy(false);
    }
  }
}

/** One CSV line as the crate writes it (fields with commas or quotes are quoted). */
function splitCsv(line) {
  const out = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { out.push(field); field = ''; } else field += c;
  }
  out.push(field);
  return out;
}
