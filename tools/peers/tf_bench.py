"""The posts' original network in TensorFlow (CPU), for `make bench`: the same shapes as
cellseg's, random weights, patch network and dense (dilated) twin; and the U-Net beyond the
posts (crate/src/model/unet.rs: levels of 16, 32, 64, 128 channels, two 3x3 convs each, 2x2 max
pools, nearest upsampling joined to each level's features, a 1x1 conv to 3 classes), tiled
as cellseg tiles it (as few tiles of at most 512 pixels a side as cover the image, each read
with 64 pixels of context). Prints one JSON object
with the same keys as `cellseg bench --json`, after checking the dense twin equals the patch
network on sampled pixels.

usage: python tools/peers/tf_bench.py [--repeats 3]
"""

import argparse
import json
import math
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

PATCH = 31
HALF = PATCH // 2
# conv4x20 pool conv3x40 conv3x80 pool conv3x120 conv3x240 fc1000 -> 3
LAYERS = [("conv", 4, 20), ("pool",), ("conv", 3, 40), ("conv", 3, 80), ("pool",),
          ("conv", 3, 120), ("conv", 3, 240)]
HIDDEN = 1000
CLASSES = 3


def weights(seed=1):
    rng = np.random.default_rng(seed)
    out, channels = [], 1
    for layer in LAYERS:
        if layer[0] == "conv":
            _, k, c = layer
            scale = np.sqrt(2.0 / (k * k * channels))
            out.append((rng.normal(0, scale, (k, k, channels, c)).astype(np.float32),
                        np.zeros(c, np.float32)))
            channels = c
    fc1 = (rng.normal(0, np.sqrt(2.0 / channels), (channels, HIDDEN)).astype(np.float32),
           np.zeros(HIDDEN, np.float32))
    fc2 = (rng.normal(0, np.sqrt(1.0 / HIDDEN), (HIDDEN, CLASSES)).astype(np.float32),
           np.zeros(CLASSES, np.float32))
    return out, fc1, fc2


def patch_net(x, w):
    """[n, 31, 31, 1] patches -> [n, 3] probabilities."""
    convs, fc1, fc2 = w
    i = 0
    for layer in LAYERS:
        if layer[0] == "conv":
            x = tf.nn.relu(tf.nn.conv2d(x, convs[i][0], 1, "VALID") + convs[i][1])
            i += 1
        else:
            x = tf.nn.max_pool2d(x, 2, 2, "VALID")
    x = tf.reshape(x, [-1, x.shape[-1]])
    x = tf.nn.relu(x @ fc1[0] + fc1[1])
    return tf.nn.softmax(x @ fc2[0] + fc2[1])


def dense_net(x, w):
    """[1, h + 30, w + 30, 1] -> [1, h, w, 3]: stride-1 pools, later layers dilated by 2 per
    pool before them, the head as 1x1 convolutions (Li et al.'s d-regularly sparse kernels)."""
    convs, fc1, fc2 = w
    i, d = 0, 1
    for layer in LAYERS:
        if layer[0] == "conv":
            x = tf.nn.relu(tf.nn.conv2d(x, convs[i][0], 1, "VALID", dilations=d) + convs[i][1])
            i += 1
        else:
            x = tf.nn.pool(x, [2, 2], "MAX", padding="VALID", dilations=[d, d])
            d *= 2
    x = tf.nn.relu(tf.einsum("nhwc,cd->nhwd", x, fc1[0]) + fc1[1])
    return tf.nn.softmax(tf.einsum("nhwc,cd->nhwd", x, fc2[0]) + fc2[1])


UNET_WIDTHS = (16, 32, 64, 128)
UNET_HALO = 64
UNET_TILE = 512


def unet_weights(seed=2):
    rng = np.random.default_rng(seed)

    def conv(k, cin, cout):
        return (rng.normal(0, np.sqrt(2.0 / (k * k * cin)), (k, k, cin, cout)).astype(np.float32),
                np.zeros(cout, np.float32))

    down, cin = [], 1
    for c in UNET_WIDTHS:
        down.append((conv(3, cin, c), conv(3, c, c)))
        cin = c
    up = [(conv(3, UNET_WIDTHS[i] + UNET_WIDTHS[i + 1], UNET_WIDTHS[i]), conv(3, UNET_WIDTHS[i], UNET_WIDTHS[i]))
          for i in reversed(range(len(UNET_WIDTHS) - 1))]
    return down, up, conv(1, UNET_WIDTHS[0], CLASSES)


def unet(x, w):
    """[1, h, w, 1] (sides multiples of 8) -> [1, h, w, 3] probabilities."""
    down, up, out = w

    def block(x, b):
        for k, bias in b:
            x = tf.nn.relu(tf.nn.conv2d(x, k, 1, "SAME") + bias)
        return x

    skips = []
    for i, b in enumerate(down):
        if i > 0:
            x = tf.nn.max_pool2d(x, 2, 2, "VALID")
        x = block(x, b)
        skips.append(x)
    skips.pop()
    for b in up:
        skip = skips.pop()
        x = tf.repeat(tf.repeat(x, 2, axis=1), 2, axis=2)
        x = block(tf.concat([skip, x], -1), b)
    return tf.nn.softmax(tf.nn.conv2d(x, out[0], 1, "SAME") + out[1])


unet_fn = tf.function(unet, reduce_retracing=True)
dense_fn = tf.function(dense_net, reduce_retracing=True)
patch_fn = tf.function(patch_net, reduce_retracing=True)


def median_seconds(fn, repeats):
    fn()  # warm-up: graph tracing and kernel selection
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    w = weights()
    rng = np.random.default_rng(7)

    # the dense twin equals the patch network (sampled pixels of a 98x98 map)
    image = rng.random((1, 98 + 2 * HALF, 98 + 2 * HALF, 1), dtype=np.float32)
    dense = dense_fn(tf.constant(image), w).numpy()[0]
    points = [(y, x) for y in range(0, 98, 7) for x in range(0, 98, 11)]
    patches = np.stack([image[0, y:y + PATCH, x:x + PATCH] for y, x in points])
    patchwise = patch_fn(tf.constant(patches), w).numpy()
    max_diff = float(np.max(np.abs(patchwise - np.stack([dense[y, x] for y, x in points]))))

    out = {"peer": f"TensorFlow {tf.__version__} (CPU)", "dense_equals_patchwise_max_diff": max_diff}
    for side in (98, 256):
        x = tf.constant(rng.random((1, side + 2 * HALF, side + 2 * HALF, 1), dtype=np.float32))
        s = median_seconds(lambda: dense_fn(x, w).numpy(), args.repeats)
        out[f"dense_{side}_px_per_s"] = side * side / s

    # the whole 1040 x 1392 image, in bands of 256 output rows (as cellseg tiles it)
    full = rng.random((1040 + 2 * HALF, 1392 + 2 * HALF), dtype=np.float32)

    def whole():
        for top in range(0, 1040, 256):
            rows = min(256, 1040 - top)
            band = full[top:top + rows + 2 * HALF][None, :, :, None]
            dense_fn(tf.constant(band), w).numpy()

    out["dense_full_px_per_s"] = 1040 * 1392 / median_seconds(whole, 1)

    # the U-Net: a 256x256 crop with its context, and the whole image in 512-pixel tiles
    uw = unet_weights()
    x = tf.constant(rng.random((1, 256 + 2 * UNET_HALO, 256 + 2 * UNET_HALO, 1), dtype=np.float32))
    s = median_seconds(lambda: unet_fn(x, uw).numpy(), args.repeats)
    out["unet_256_px_per_s"] = 256 * 256 / s
    padded = np.pad(full[HALF:-HALF, HALF:-HALF], UNET_HALO + UNET_TILE, mode="reflect")

    def share(span):  # as cellseg's unet::segment: 1392 -> 3 tiles of 464
        pieces = math.ceil(span / UNET_TILE)
        return math.ceil(math.ceil(span / pieces) / 8) * 8

    tw, th = share(1392), share(1040)

    def unet_whole():
        for top in range(0, 1040, th):
            for left in range(0, 1392, tw):
                y, x = top + UNET_TILE, left + UNET_TILE
                tile = padded[y:y + th + 2 * UNET_HALO, x:x + tw + 2 * UNET_HALO]
                unet_fn(tf.constant(tile[None, :, :, None]), uw).numpy()

    out["unet_full_px_per_s"] = 1040 * 1392 / median_seconds(unet_whole, 1)

    # patch by patch, batched (the slow way)
    batch = tf.constant(rng.random((256, PATCH, PATCH, 1), dtype=np.float32))
    out["naive_px_per_s"] = 256 / median_seconds(lambda: patch_fn(batch, w).numpy(), args.repeats)

    # Adam steps on the patch network
    convs, fc1, fc2 = w
    variables = [tf.Variable(a) for pair in convs + [fc1, fc2] for a in pair]

    def unpack():
        pairs = [(variables[2 * i], variables[2 * i + 1]) for i in range(len(variables) // 2)]
        return pairs[:-2], pairs[-2], pairs[-1]

    opt = tf.keras.optimizers.Adam(1e-3)

    @tf.function(reduce_retracing=True)
    def step(x, y):
        with tf.GradientTape() as tape:
            p = patch_net(x, unpack())
            loss = tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(y, p))
        opt.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    for n in (16, 256):
        x = tf.constant(rng.random((n, PATCH, PATCH, 1), dtype=np.float32))
        y = tf.constant(rng.integers(0, 3, n))
        s = median_seconds(lambda: step(x, y).numpy(), args.repeats)
        out[f"train_{n}_patches_per_s"] = n / s
    print(json.dumps(out))


if __name__ == "__main__":
    main()
