// Shareable links: the page's settings live in the URL's query string, so a teacher can send
// a link that opens with the same network, training settings and clean-up. Chapters are the
// sections' anchors (#patches-section, #arch-section, …): browsers follow them by themselves,
// and the hash follows the reader's scrolling, so a copied link opens at the same chapter.

// URL key → element id. Keys are short and stable; the ids may change.
const SETTINGS = {
  arch: 'arch', lr: 'lr', batch: 'batch', steps: 'steps', seed: 'seed', every: 'eval-every',
  augment: 'augment', crop: 'crop', nets: 'networks', median: 'median', threshold: 'threshold',
  grow: 'grow', minArea: 'min-area', rim: 'rim', minContrast: 'min-contrast', minShare: 'min-share',
};

/** Sets the page's inputs from the URL; returns the architecture asked for (it may be a
 *  custom text form the caller must build), or null. Values an input refuses are ignored. */
export function applyLink($, search = location.search) {
  const params = new URLSearchParams(search);
  for (const [key, id] of Object.entries(SETTINGS)) {
    const value = params.get(key);
    if (value === null || key === 'arch') continue;
    const el = $(id);
    if (el.type === 'checkbox') el.checked = value === '1';
    else if (el.tagName === 'SELECT') {
      if ([...el.options].some((o) => o.value === value)) el.value = value;
    } else if (el.type === 'number') {
      const n = Number(value);
      const inRange = Number.isFinite(n) && !(el.min !== '' && n < Number(el.min)) && !(el.max !== '' && n > Number(el.max));
      if (inRange) el.value = value;
    }
  }
  return params.get('arch');
}

/** Keeps the URL in step with the inputs (replacing the history entry, not adding one). */
export function followSettings($) {
  const update = () => {
    const params = new URLSearchParams(location.search);
    for (const [key, id] of Object.entries(SETTINGS)) {
      const el = $(id);
      params.set(key, el.type === 'checkbox' ? (el.checked ? '1' : '0') : el.value);
    }
    history.replaceState(null, '', `${location.pathname}?${params}${location.hash}`);
  };
  for (const id of Object.values(SETTINGS)) $(id).addEventListener('change', update);
  return update;
}

/** Keeps the URL's hash on the chapter being read: the last one whose top has scrolled
 *  past the top quarter of the window. */
export function followChapters(ids) {
  let frame = null;
  addEventListener('scroll', () => {
    frame ??= requestAnimationFrame(() => {
      frame = null;
      const line = innerHeight / 4;
      const current = ids.filter((id) => document.getElementById(id).getBoundingClientRect().top <= line).at(-1);
      if (current && location.hash !== `#${current}`) {
        history.replaceState(null, '', `${location.pathname}${location.search}#${current}`);
      }
    });
  }, { passive: true });
}
