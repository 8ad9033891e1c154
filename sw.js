// cellseg's service worker: the page keeps working offline after its first visit. Requests for
// the page's own files go to the network first (so an update shows at once) and fall back to
// the copy kept here when the network fails; nothing from another origin is touched (the
// tutorial images on GitHub stay a download the user asks for). Kept: the page and its
// modules, the wasm package this browser loaded, the pretrained networks, and anything else of
// this origin fetched while the worker was controlled (images under ?data=, for instance).

const CACHE = 'cellseg-v1';
// What the page needs before it has ever run: the rest arrives with the page's `keep` message
// (what this visit loaded, including the worker's package) or through `fetch` below.
const SHELL = ['./', 'index.html', 'manifest.webmanifest', 'www/icon.svg', 'models/index.json'];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL);
    // the pretrained networks the page segments with by default, and those fine-tuning
    // starts from
    const index = await (await cache.match('models/index.json')).json();
    await cache.addAll([...index.ensemble, ...(index.fine_tune ?? [])].map((name) => `models/${name}`));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

const ours = (url) => new URL(url, self.location.href).origin === self.location.origin;

// The page lists what this visit loaded (its own resources and the worker's); each is fetched
// again and kept, so the next visit works without the network.
self.addEventListener('message', (event) => {
  if (event.data?.type !== 'keep') return;
  const urls = [...new Set(event.data.urls.filter(ours))];
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    for (const url of urls) {
      try {
        const response = await fetch(url);
        if (response.ok) await cache.put(url, response);
      } catch { /* offline already: what is kept stays */ }
    }
    event.source?.postMessage({ type: 'kept', count: urls.length });
  })());
});

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET' || !ours(request.url) || request.headers.has('range')) return;
  event.respondWith((async () => {
    try {
      const response = await fetch(request);
      if (response.ok && response.type === 'basic') {
        const copy = response.clone();
        event.waitUntil(caches.open(CACHE).then((cache) => cache.put(request, copy)));
      }
      return response;
    } catch (offline) {
      // the page's address may carry settings (?backend=cpu): any kept copy of it will do
      const kept = await caches.match(request) ?? await caches.match(request, { ignoreSearch: true });
      if (kept) return kept;
      throw offline;
    }
  })());
});
