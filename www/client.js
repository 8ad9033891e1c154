// A small promise-based client for the worker: every request gets an id, its progress
// messages go to the request's callback, and its final reply settles the promise.

export class WorkerClient {
  constructor(url) {
    this.worker = new Worker(url, { type: 'module' });
    this.nextId = 1;
    this.pending = new Map();
    this.ready = new Promise((resolve, reject) => {
      this.worker.addEventListener('error', (e) => {
        const error = new Error(e.message || 'the worker failed');
        reject(error); // before 'ready': it never started
        for (const job of this.pending.values()) job.reject(error);
        this.pending.clear();
      });
      this.worker.addEventListener('message', ({ data }) => {
        if (data.type === 'ready') return resolve();
        if (data.type === 'event') return this.onEvent?.(data); // news from the worker, unasked
        const job = this.pending.get(data.id);
        if (!job) return; // a reply to a request nobody waits for any more
        if (data.type === 'progress') return job.onProgress?.(data);
        this.pending.delete(data.id);
        if (data.status) this.onStatus?.(data.status); // the session after this request
        if (data.type === 'error') job.reject(new Error(data.message));
        else job.resolve(data);
      });
    });
  }

  /** Sends a request; resolves with the worker's final reply. */
  request(type, payload = {}, { onProgress, transfer = [] } = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onProgress });
      this.worker.postMessage({ id, type, ...payload }, transfer);
    });
  }

  /** Stops the worker; requests still waiting fail with `reason`. */
  terminate(reason) {
    this.worker.terminate();
    for (const job of this.pending.values()) job.reject(new Error(reason));
    this.pending.clear();
  }

  /** Control messages act at once on the running job (no reply). */
  signal(type) {
    this.worker.postMessage({ type });
  }
}
