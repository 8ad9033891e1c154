// The peer for the in-page benchmark: the posts' original network in TF.js 4.22 (its wasm,
// webgpu or cpu backend), timed on the same sizes as cellseg's bench (crate/src/bench.rs)
// and reported under the same keys. Like tools/peers/tf_bench.py it first checks that its
// dense twin (dilated convs, stride-1 dilated pools, the head as a matrix product over all
// pixels) equals its patch network on sampled pixels.
//
// A classic worker: TF.js ships its browser builds as scripts that define a global `tf`.
// Request: {backend, threads (wasm), plan: {dense, whole, naive, train, repeats}, width, height};
// replies: {figure} as each is measured, then {done: true, ...} or {error}.

/* global tf */
const TFJS = '../../node_modules/@tensorflow/';
// tfjs (core with its gradients, and the cpu backend), then the two backends timed
importScripts(
  `${TFJS}tfjs/dist/tf.es2017.min.js`,
  `${TFJS}tfjs-backend-wasm/dist/tf-backend-wasm.es2017.min.js`,
  `${TFJS}tfjs-backend-webgpu/dist/tf-backend-webgpu.es2017.min.js`,
);

const PATCH = 31;
const HALF = 15;
// conv4x20 pool conv3x40 conv3x80 pool conv3x120 conv3x240 fc1000 -> 3
const LAYERS = [['conv', 4, 20], ['pool'], ['conv', 3, 40], ['conv', 3, 80], ['pool'], ['conv', 3, 120], ['conv', 3, 240]];
const HIDDEN = 1000;

// A small seeded generator, so every run times the same numbers.
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function heUniform(next, shape, fanIn) {
  const bound = Math.sqrt(6 / fanIn);
  const n = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(n);
  for (let i = 0; i < n; i++) values[i] = (2 * next() - 1) * bound;
  return tf.variable(tf.tensor(values, shape));
}

function weights() {
  const next = random(1);
  const convs = [];
  let depth = 1;
  for (const layer of LAYERS) {
    if (layer[0] !== 'conv') continue;
    const [, k, c] = layer;
    convs.push([heUniform(next, [k, k, depth, c], k * k * depth), tf.variable(tf.zeros([c]))]);
    depth = c;
  }
  return {
    convs,
    fc1: [heUniform(next, [depth, HIDDEN], depth), tf.variable(tf.zeros([HIDDEN]))],
    fc2: [heUniform(next, [HIDDEN, 3], HIDDEN), tf.variable(tf.zeros([3]))],
  };
}

/** [n, 31, 31, 1] patches -> [n, 3] class scores. */
function patchNet(x, w) {
  let i = 0;
  for (const layer of LAYERS) {
    if (layer[0] === 'conv') {
      const [kernel, bias] = w.convs[i++];
      x = tf.relu(tf.add(tf.conv2d(x, kernel, 1, 'valid'), bias));
    } else {
      x = tf.maxPool(x, 2, 2, 'valid');
    }
  }
  x = tf.reshape(x, [x.shape[0], x.shape[3]]);
  return tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, w.fc1[0]), w.fc1[1])), w.fc2[0]), w.fc2[1]);
}

/** [1, h + 30, w + 30, 1] -> [h * w, 3] probabilities: the dense twin. */
function denseNet(x, w) {
  let i = 0;
  let d = 1;
  for (const layer of LAYERS) {
    if (layer[0] === 'conv') {
      const [kernel, bias] = w.convs[i++];
      x = tf.relu(tf.add(tf.conv2d(x, kernel, 1, 'valid', 'NHWC', d), bias));
    } else {
      x = tf.pool(x, [2, 2], 'max', 'valid', d, 1);
      d *= 2;
    }
  }
  const [, h, wd, c] = x.shape;
  const features = tf.reshape(x, [h * wd, c]);
  const hidden = tf.relu(tf.add(tf.matMul(features, w.fc1[0]), w.fc1[1]));
  return tf.softmax(tf.add(tf.matMul(hidden, w.fc2[0]), w.fc2[1]));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};

/** Median seconds of `repeats` runs of `fn` (awaited) after one warm-up. */
async function time(fn, repeats) {
  await fn();
  const times = [];
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    await fn();
    times.push((performance.now() - t) / 1000);
  }
  return median(times);
}

/** The image the peer runs on: seeded noise (speed does not depend on the content). */
function image(width, height) {
  const next = random(7);
  const values = new Float32Array(width * height);
  for (let i = 0; i < values.length; i++) values[i] = next();
  return { width, height, values };
}

/** A crop with its 15-pixel halo as a [1, h + 30, w + 30, 1] tensor (mirrored borders are
 *  not needed here: crops are taken away from the border). */
function cropTensor(img, x0, y0, w, h) {
  const W = w + 2 * HALF;
  const H = h + 2 * HALF;
  const out = new Float32Array(W * H);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(img.height - 1, Math.max(0, y0 - HALF + y));
    for (let x = 0; x < W; x++) {
      const sx = Math.min(img.width - 1, Math.max(0, x0 - HALF + x));
      out[y * W + x] = img.values[sy * img.width + sx];
    }
  }
  return tf.tensor4d(out, [1, H, W, 1]);
}

async function dense(w, input) {
  const probs = tf.tidy(() => denseNet(input, w));
  const data = await probs.data();
  probs.dispose();
  return data;
}

/** Patches around every pixel of a `side` x `side` crop of `input` ([1, side + 30, ...]). */
function patchesOf(input, side) {
  return tf.tidy(() => {
    const rows = [];
    for (let y = 0; y < side; y++) {
      for (let x = 0; x < side; x++) rows.push(tf.slice(input, [0, y, x, 0], [1, PATCH, PATCH, 1]));
    }
    return tf.concat(rows, 0);
  });
}

async function run({ backend, plan, width, height, threads = 1 }, report) {
  if (backend === 'wasm') {
    tf.wasm.setWasmPaths(new URL(`${TFJS}tfjs-backend-wasm/dist/`, self.location.href).href);
    if (threads > 1) {
      // TF.js caps its threads at half of hardwareConcurrency (two hardware threads per core,
      // it assumes), so on a machine without them it would run one thread whatever it is
      // asked: tell it the count that makes `threads` its cap (www/bench.js)
      Object.defineProperty(self.navigator, 'hardwareConcurrency', { value: 2 * threads });
      tf.wasm.setThreadsCount(threads);
    } else {
      // its plain build: its threaded build on one thread is the slower
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    }
  }
  if (!(await tf.setBackend(backend))) throw new Error(`TF.js could not start its ${backend} backend`);
  await tf.ready();
  const w = weights();
  const img = image(width, height);
  const at = (side) => [Math.floor((width - side) / 2), Math.floor((height - side) / 2)];
  let threadText = '';
  if (backend === 'wasm') {
    const count = tf.wasm.getThreadsCount();
    if (count !== threads) throw new Error(`TF.js's wasm runs ${count} threads, not the ${threads} asked for`);
    threadText = `, ${count} thread${count === 1 ? '' : 's'}`;
  }
  const result = { peer: `TF.js ${tf.version_core} (${backend}${threadText})`, backend };

  // the dense twin equals the patch network (the whole of a small crop)
  {
    const side = 12;
    const input = cropTensor(img, ...at(side), side, side);
    const denseProbs = await dense(w, input);
    const patches = patchesOf(input, side);
    const probs = tf.tidy(() => tf.softmax(patchNet(patches, w)));
    const patchwise = await probs.data();
    tf.dispose([input, patches, probs]);
    // probabilities, not something trivially equal (all 0 or 1)
    if (denseProbs.every((p) => p < 1e-6 || p > 1 - 1e-6)) throw new Error('the check saw only saturated probabilities');
    let diff = 0;
    for (let i = 0; i < patchwise.length; i++) diff = Math.max(diff, Math.abs(patchwise[i] - denseProbs[i]));
    result.dense_equals_patchwise_max_diff = diff;
    report({ key: 'dense_equals_patchwise_max_diff', value: diff, seconds: 0, text: `dense twin against patch by patch: max |difference| ${diff.toExponential(1)}` });
  }

  const figure = (key, value, seconds, text) => {
    result[key] = value;
    report({ key, value, seconds, text });
  };
  for (const side of plan.dense) {
    const input = cropTensor(img, ...at(side), side, side);
    const s = await time(() => dense(w, input), plan.repeats);
    input.dispose();
    figure(`dense_${side}_px_per_s`, side * side / s, s, `dense ${side}×${side}: ${s.toFixed(3)} s, ${(side * side / s).toFixed(0)} px/s`);
  }
  if (plan.whole) {
    // in bands of 64 output rows: a band's whole graph lives until its last op (the head's
    // hidden layer alone is 1000 floats per pixel), and 256 rows ran TF.js's wasm out of memory
    const t = performance.now();
    for (let top = 0; top < height; top += 64) {
      const rows = Math.min(64, height - top);
      const input = cropTensor(img, 0, top, width, rows);
      await dense(w, input);
      input.dispose();
    }
    const s = (performance.now() - t) / 1000;
    figure('dense_full_px_per_s', width * height / s, s, `dense ${width}×${height} (whole image): ${s.toFixed(2)} s, ${(width * height / s).toFixed(0)} px/s`);
  }
  if (plan.naive > 0) {
    const side = plan.naive;
    const input = cropTensor(img, ...at(side), side, side);
    const patches = patchesOf(input, side);
    const classify = async () => {
      for (let start = 0; start < side * side; start += 256) {
        const n = Math.min(256, side * side - start);
        const probs = tf.tidy(() => tf.softmax(patchNet(tf.slice(patches, [start, 0, 0, 0], [n, PATCH, PATCH, 1]), w)));
        await probs.data();
        probs.dispose();
      }
    };
    const s = await time(classify, plan.repeats);
    tf.dispose([input, patches]);
    figure('naive_px_per_s', side * side / s, s, `patch by patch ${side}×${side} (batches of 256): ${s.toFixed(3)} s, ${(side * side / s).toFixed(0)} px/s`);
  }
  if (plan.train.length > 0) {
    // TF.js's wasm backend has no kernel for the conv filter gradient: say so, don't fake it
    const optimizer = tf.train.adam(1e-3);
    const variables = [...w.convs.flat(), ...w.fc1, ...w.fc2];
    for (const batch of plan.train) {
      const next = random(batch);
      const xs = tf.tensor4d(Float32Array.from({ length: batch * PATCH * PATCH }, next), [batch, PATCH, PATCH, 1]);
      const ys = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 3), 'int32'), 3);
      const step = async () => {
        const loss = optimizer.minimize(() => tf.losses.softmaxCrossEntropy(ys, patchNet(xs, w)), true, variables);
        await loss.data();
        loss.dispose();
      };
      try {
        const s = await time(step, plan.repeats);
        figure(`train_${batch}_patches_per_s`, batch / s, s, `Adam step, batch ${batch}: ${(1000 * s).toFixed(0)} ms, ${(batch / s).toFixed(0)} patches/s`);
      } catch (e) {
        result[`train_${batch}_error`] = e.message;
        report({ key: `train_${batch}_error`, value: null, seconds: 0, text: `Adam step, batch ${batch}: cannot train here (${e.message})` });
      }
      tf.dispose([xs, ys]);
    }
  }
  return result;
}

self.onmessage = async ({ data }) => {
  try {
    const result = await run(data, (figure) => self.postMessage({ figure }));
    self.postMessage({ done: true, result });
  } catch (e) {
    self.postMessage({ error: e?.message ?? String(e) });
  }
};
