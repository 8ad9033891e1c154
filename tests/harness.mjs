// Shared set-up for the browser tests: the demo server (with the real tutorial data under
// /data/) and Debian's Chromium driven by playwright-core.

import { chromium } from 'playwright-core';
import { deflateSync, inflateRawSync } from 'node:zlib';
import { serve } from '../tools/serve.mjs';

const DATA = process.env.CELLSEG_DATA || new URL('../../shared/data/bsubtilis', import.meta.url).pathname;

export const FLAGS = [
  '--no-sandbox',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
  '--disable-dev-shm-usage',
];

/** Starts the server and a browser; returns {base, requests, open(query, {path, ready}),
 *  stopServer(), close()}: `open` loads `path` (the page by default) and waits for its engine
 *  (`ready`). */
export async function launch({ webgpu = true } = {}) {
  const server = await serve({ port: 0, data: `${DATA}/upstream` });
  const base = `http://127.0.0.1:${server.address().port}/`;
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: webgpu ? [...FLAGS, '--enable-unsafe-webgpu'] : FLAGS,
  });
  const requests = [];
  return {
    base,
    requests,
    async open(query = '', { path = '', ready = true } = {}) {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      page.on('request', (r) => requests.push(r.url()));
      // Content-Security-Policy violations, for the tests to check (the policy is in serve.mjs)
      await page.addInitScript(() => {
        window.cspViolations = [];
        document.addEventListener('securitypolicyviolation', (e) => {
          window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
        });
      });
      page.on('pageerror', (e) => console.error('page error:', e.message));
      page.on('console', (m) => { if (m.type() === 'error') console.error('console:', m.text()); });
      await page.goto(base + path + query);
      if (ready) await page.waitForFunction(() => ['ready', 'failed'].includes(document.getElementById('backend').dataset.state), null, { timeout: 120_000 });
      return page;
    },
    /** Cuts the server off (the page's next requests fail as they would offline). */
    async stopServer() {
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    },
    async close() {
      await browser.close();
      await new Promise((ok) => server.close(ok)); // (an error if stopped already: ignored)
    },
  };
}

/** Loads the tutorial image and labels through the page's button. */
export async function loadTutorial(page) {
  await page.click('#load-tutorial');
  await page.waitForFunction(() => window.cellseg.labelled || !document.getElementById('error').hidden, null, { timeout: 120_000 });
  if (!(await page.evaluate(() => window.cellseg.labelled))) throw new Error(`loading failed: ${await page.textContent('#error')}`);
}

/** Fills the training form, clicks Train and waits until training ends. */
export async function train(page, { steps, batch, lr, evalEvery }) {
  await page.fill('#steps', String(steps));
  await page.fill('#batch', String(batch));
  await page.fill('#lr', String(lr));
  await page.fill('#eval-every', String(evalEvery));
  await page.click('#train');
  await page.waitForFunction(() => /^(Done|Stopped|Training failed)/.test(document.getElementById('train-status').textContent), null, { timeout: 600_000 });
  return page.evaluate(() => ({ status: document.getElementById('train-status').textContent, curve: window.cellseg.curve }));
}

/** An uncompressed little-endian 16-bit grayscale TIFF with one page per `pages` entry
 *  ({width, height, value(x, y), stripAt, claim}: stripAt overrides where the pixels are said
 *  to be, claim the [width, height] the header states, to make broken files; description an
 *  ImageDescription and perUnit an XResolution [numerator, denominator], as Fiji writes a pixel
 *  size), written here so the test depends on no encoder. */
export function tiff16(pages) {
  return tiff(pages, 16);
}

/** The same with 32-bit float samples (SampleFormat 3), as analysis tools save images. */
export function tiffFloat32(pages) {
  return tiff(pages, 32);
}

function tiff(pages, bits) {
  const parts = [];
  let offset = 8;
  const header = Buffer.alloc(8);
  header.write('II*\0', 0, 'latin1');
  parts.push(header);
  const ifdOffsets = [];
  const layout = pages.map(({ width, height, value, stripAt, claim, description, perUnit }) => {
    const bytes = bits / 8;
    const pixels = Buffer.alloc(bytes * width * height);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
      const at = bytes * (y * width + x);
      if (bits === 16) pixels.writeUInt16LE(value(x, y), at); else pixels.writeFloatLE(value(x, y), at);
    }
    const at = offset;
    offset += pixels.length;
    parts.push(pixels);
    // values longer than four bytes go before the directory: [tag, type, offset, count]
    const outOfLine = (bytes) => {
      const where = offset;
      offset += bytes.length;
      parts.push(bytes);
      return where;
    };
    const text = description === undefined ? [] : (() => {
      const bytes = Buffer.from(`${description}\0`, 'utf8');
      return [[270, 2, outOfLine(bytes), bytes.length]];
    })();
    const resolution = perUnit === undefined ? [] : (() => {
      const bytes = Buffer.alloc(8);
      bytes.writeUInt32LE(perUnit[0], 0);
      bytes.writeUInt32LE(perUnit[1], 4);
      return [[282, 5, outOfLine(bytes)], [296, 3, 1]];
    })();
    const tags = [[256, 4, claim?.[0] ?? width], [257, 4, claim?.[1] ?? height], [258, 3, bits], [259, 3, 1], [262, 3, 1],
      ...text, [273, 4, stripAt ?? at], [277, 3, 1], [278, 4, height], [279, 4, pixels.length], ...resolution,
      ...(bits === 32 ? [[339, 3, 3]] : [])];
    const ifd = Buffer.alloc(2 + 12 * tags.length + 4);
    ifd.writeUInt16LE(tags.length, 0);
    tags.forEach(([tag, type, v, count = 1], i) => {
      const o = 2 + 12 * i;
      ifd.writeUInt16LE(tag, o);
      ifd.writeUInt16LE(type, o + 2);
      ifd.writeUInt32LE(count, o + 4);
      if (type === 3) ifd.writeUInt16LE(v, o + 8); else ifd.writeUInt32LE(v, o + 8);
    });
    ifdOffsets.push(offset);
    offset += ifd.length;
    parts.push(ifd);
    return ifd;
  });
  header.writeUInt32LE(ifdOffsets[0], 4);
  layout.forEach((ifd, i) => ifd.writeUInt32LE(ifdOffsets[i + 1] ?? 0, ifd.length - 4));
  return Buffer.concat(parts);
}


/** Every request the browser made so far that left the page's own origin (should be none). */
export function foreignRequests(browser) {
  const origin = new URL(browser.base).origin;
  return browser.requests.filter((u) => !u.startsWith(origin) && !u.startsWith('blob:') && !u.startsWith('data:'));
}

/** A PNG file of these chunks ([kind, data] pairs), checksums included. */
function pngFile(chunks) {
  const crc = (bytes) => {
    let c = ~0;
    for (const b of bytes) {
      c ^= b;
      for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xEDB88320 & -(c & 1));
    }
    return ~c >>> 0;
  };
  const chunk = ([kind, data]) => {
    const body = Buffer.concat([Buffer.from(kind, 'latin1'), data]);
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    body.copy(out, 4);
    out.writeUInt32BE(crc(body), 8 + data.length);
    return out;
  };
  return Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), ...chunks.map(chunk)]);
}

function ihdr(width, height, bits) {
  const data = Buffer.alloc(13);
  data.writeUInt32BE(width, 0);
  data.writeUInt32BE(height, 4);
  data[8] = bits; // gray: colour type 0
  return ['IHDR', data];
}

/** A grayscale PNG (`bits` 8 or 16) of `value(x, y)`, written here (no encoder needed). */
export function png(width, height, bits, value) {
  const bytes = bits / 8;
  const raw = Buffer.alloc(height * (1 + width * bytes));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = y * (1 + width * bytes) + 1 + x * bytes;
      if (bytes === 2) raw.writeUInt16BE(value(x, y), at); else raw[at] = value(x, y);
    }
  }
  return pngFile([ihdr(width, height, bits), ['IDAT', deflateSync(raw)], ['IEND', Buffer.alloc(0)]]);
}

/** A PNG whose header claims `w` x `h` (valid checksums) over one tiny IDAT. */
export function pngClaiming(w, h) {
  return pngFile([ihdr(w, h, 8), ['IDAT', Buffer.from([0x78, 0x9c, 0x03, 0, 0, 0, 0, 1])], ['IEND', Buffer.alloc(0)]]);
}

/** A NumPy .npy file (version 1) of `data` with this dtype and shape. */
export function npy(descr, shape, data) {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}), }`;
  while ((10 + header.length + 1) % 64 !== 0) header += ' ';
  header += '\n';
  const head = Buffer.alloc(10);
  Buffer.from('\x93NUMPY\x01\x00', 'latin1').copy(head);
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data)]);
}

/** The files of a zip archive, `[{ name, data }]` in its central directory's order (stored or
 *  deflated), read here so the tests check the page's archives with no zip library. */
export function unzip(bytes) {
  const buffer = Buffer.from(bytes);
  let end = buffer.length - 22;
  while (end >= 0 && buffer.readUInt32LE(end) !== 0x06054b50) end--;
  if (end < 0) throw new Error('not a zip: no end of central directory');
  const count = buffer.readUInt16LE(end + 10);
  let at = buffer.readUInt32LE(end + 16);
  const files = [];
  for (let i = 0; i < count; i++) {
    if (buffer.readUInt32LE(at) !== 0x02014b50) throw new Error(`zip entry ${i}: bad central header`);
    const method = buffer.readUInt16LE(at + 10);
    const size = buffer.readUInt32LE(at + 20);
    const [nameLength, extra, comment] = [28, 30, 32].map((o) => buffer.readUInt16LE(at + o));
    const local = buffer.readUInt32LE(at + 42);
    const name = buffer.subarray(at + 46, at + 46 + nameLength).toString('utf8');
    const start = local + 30 + buffer.readUInt16LE(local + 26) + buffer.readUInt16LE(local + 28);
    const raw = buffer.subarray(start, start + size);
    const data = method === 0 ? raw : method === 8 ? inflateRawSync(raw) : null;
    if (!data) throw new Error(`${name}: compression method ${method}`);
    files.push({ name, data });
    at += 46 + nameLength + extra + comment;
  }
  return files;
}
