// Drops the "name" custom section (function names for stack traces, ~6 MB, ~1.2 MB gzipped)
// from the wasm that wasm-pack wrote. wasm-bindgen could (--remove-name-section) but
// wasm-pack offers no way to ask it; Debian's wasm-opt breaks the module and npm's binaryen
// takes minutes and grows the gzip size (PLATFORM.md). Custom sections are skippable by
// definition, so removing one is a safe byte-level filter over the section list.
// usage: node tools/strip-names.mjs pkg/cellseg_bg.wasm

import { readFileSync, writeFileSync } from 'node:fs';

function leb128(bytes, at) {
  let value = 0;
  let shift = 0;
  for (;;) {
    const b = bytes[at++];
    value += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (b < 0x80) return [value, at];
  }
}

const path = process.argv[2];
const wasm = readFileSync(path);
if (wasm.readUInt32LE(0) !== 0x6d736100) throw new Error(`${path} is not a wasm module`);
const kept = [wasm.subarray(0, 8)];
let at = 8;
let dropped = 0;
while (at < wasm.length) {
  const start = at;
  const id = wasm[at++];
  const [size, body] = leb128(wasm, at);
  at = body + size;
  if (id === 0) {
    const [length, name] = leb128(wasm, body);
    if (wasm.toString('utf8', name, name + length) === 'name') {
      dropped += at - start;
      continue;
    }
  }
  kept.push(wasm.subarray(start, at));
}
writeFileSync(path, Buffer.concat(kept));
console.log(`${path}: removed ${dropped} bytes of function names`);
