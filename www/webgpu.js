// Which WebGPU adapter this browser offers, and whether it is worth using: a hardware one,
// not a software fallback (SwiftShader is correct but slower than the CPU backend). The
// worker picks its package by it; the benchmark page sizes its GPU runs by it.

/** {adapter: its name or null, software: a fallback adapter?, note: why, for people}. */
export async function probeWebGpu() {
  if (!navigator.gpu) return { adapter: null, software: false, note: 'this browser has no WebGPU' };
  let adapter = null;
  try {
    adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return { adapter: null, software: false, note: `WebGPU adapter request failed: ${e.message}` };
  }
  if (!adapter) return { adapter: null, software: false, note: 'WebGPU is present but offers no adapter' };
  const info = adapter.info || {};
  const name = [info.vendor, info.architecture, info.description].filter(Boolean).join(' ') || 'unnamed adapter';
  const software = info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false;
  return { adapter: name, software, note: software ? `${name} is a software (fallback) adapter` : name };
}
