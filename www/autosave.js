// Autosave in this browser's IndexedDB (nothing leaves the machine): the network after each
// training run, and the paint of each image (keyed by file name and size), so a reload or a
// crash loses neither. The page offers the saved network back; paint comes back when the
// same image is loaded again.

const DB = 'cellseg';
const STORE = 'autosave';

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function transact(mode, act) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = act(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request?.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error('the save was aborted (storage full?)'));
    });
  } finally {
    db.close();
  }
}

const put = (key, value) => transact('readwrite', (store) => store.put(value, key));
const get = (key) => transact('readonly', (store) => store.get(key));
const remove = (key) => transact('readwrite', (store) => store.delete(key));

/** The key paint is saved under: the same file (page, channel), at the same size, gets its
 *  paint back. */
export const imageKey = (image) => `paint:${image.name}:${image.page ?? 0}:${image.channel ?? -1}:${image.width}x${image.height}`;

export const autosave = {
  /** Saves a weights file with what it is ({text, steps, savedAt}). */
  saveNetwork: (bytes, about) => put('network', { bytes, ...about, savedAt: Date.now() }),
  loadNetwork: () => get('network'),
  forgetNetwork: () => remove('network'),
  /** Saves the paint of `image` (or forgets it when nothing is painted). */
  savePaint: (image, classes, painted) => (painted ? put(imageKey(image), classes) : remove(imageKey(image))),
  loadPaint: (image) => get(imageKey(image)),
};
