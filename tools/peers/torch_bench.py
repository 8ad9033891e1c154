"""The same networks and sizes as tools/peers/tf_bench.py, in PyTorch: the peer on a machine
with a CUDA GPU (where TensorFlow is not installed and cellseg runs on wgpu/Vulkan), and on its
CPU. The posts' original network (patch network, dense twin with dilated convs and stride-1
dilated pools), the U-Net beyond the posts, tiled as cellseg tiles it, and Adam steps on the
patch network; random weights. Prints one JSON object with the keys of `cellseg bench --json`,
after checking that the dense twin equals the patch network on sampled pixels.

Every timed run ends by copying the result to the host (as cellseg's reads its map back), so
the GPU's work is inside the timing. TF32 is off: cellseg's wgpu kernels multiply in f32, and
so do these. cuDNN picks its algorithms on the warm-up (`cudnn.benchmark`), as burn's
autotune does on its first run.

usage: python tools/peers/torch_bench.py [--device cuda|cpu] [--repeats 3]
"""

import argparse
import json
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

PATCH = 31
HALF = PATCH // 2
# conv4x20 pool conv3x40 conv3x80 pool conv3x120 conv3x240 fc1000 -> 3
LAYERS = [("conv", 4, 20), ("pool",), ("conv", 3, 40), ("conv", 3, 80), ("pool",),
          ("conv", 3, 120), ("conv", 3, 240)]
HIDDEN = 1000
CLASSES = 3
UNET_WIDTHS = (16, 32, 64, 128)
UNET_HALO = 64
UNET_TILE = 512


def tensor(a, device):
    return torch.from_numpy(np.ascontiguousarray(a)).to(device)


def conv_weights(rng, k, cin, cout, device, requires_grad=False):
    w = rng.normal(0, np.sqrt(2.0 / (k * k * cin)), (cout, cin, k, k)).astype(np.float32)
    w, b = tensor(w, device), torch.zeros(cout, device=device)
    return w.requires_grad_(requires_grad), b.requires_grad_(requires_grad)


def weights(device, requires_grad=False, seed=1):
    rng = np.random.default_rng(seed)
    convs, channels = [], 1
    for layer in LAYERS:
        if layer[0] == "conv":
            _, k, c = layer
            convs.append(conv_weights(rng, k, channels, c, device, requires_grad))
            channels = c
    fc1 = conv_weights(rng, 1, channels, HIDDEN, device, requires_grad)
    fc2 = rng.normal(0, np.sqrt(1.0 / HIDDEN), (CLASSES, HIDDEN, 1, 1)).astype(np.float32)
    fc2 = (tensor(fc2, device).requires_grad_(requires_grad),
           torch.zeros(CLASSES, device=device).requires_grad_(requires_grad))
    return convs, fc1, fc2


def patch_logits(x, w):
    """[n, 1, 31, 31] patches -> [n, 3] logits."""
    convs, fc1, fc2 = w
    i = 0
    for layer in LAYERS:
        if layer[0] == "conv":
            x = F.relu(F.conv2d(x, *convs[i]))
            i += 1
        else:
            x = F.max_pool2d(x, 2, 2)
    x = F.relu(F.conv2d(x, *fc1))  # the fully connected layers on a 1x1 map
    return F.conv2d(x, *fc2).flatten(1)


def dense_net(x, w):
    """[1, 1, h + 30, w + 30] -> [1, 3, h, w]: stride-1 pools, later layers dilated by 2 per
    pool before them, the head as 1x1 convolutions (Li et al.'s d-regularly sparse kernels)."""
    convs, fc1, fc2 = w
    i, d = 0, 1
    for layer in LAYERS:
        if layer[0] == "conv":
            x = F.relu(F.conv2d(x, *convs[i], dilation=d))
            i += 1
        else:
            x = F.max_pool2d(x, 2, 1, dilation=d)
            d *= 2
    x = F.relu(F.conv2d(x, *fc1))
    return torch.softmax(F.conv2d(x, *fc2), 1)


def unet_weights(device, seed=2):
    rng = np.random.default_rng(seed)
    down, cin = [], 1
    for c in UNET_WIDTHS:
        down.append((conv_weights(rng, 3, cin, c, device), conv_weights(rng, 3, c, c, device)))
        cin = c
    up = [(conv_weights(rng, 3, UNET_WIDTHS[i] + UNET_WIDTHS[i + 1], UNET_WIDTHS[i], device),
           conv_weights(rng, 3, UNET_WIDTHS[i], UNET_WIDTHS[i], device))
          for i in reversed(range(len(UNET_WIDTHS) - 1))]
    return down, up, conv_weights(rng, 1, UNET_WIDTHS[0], CLASSES, device)


def unet(x, w):
    """[1, 1, h, w] (sides multiples of 8) -> [1, 3, h, w] probabilities."""
    down, up, out = w

    def block(x, b):
        for k, bias in b:
            x = F.relu(F.conv2d(x, k, bias, padding=k.shape[-1] // 2))
        return x

    skips = []
    for i, b in enumerate(down):
        if i > 0:
            x = F.max_pool2d(x, 2, 2)
        x = block(x, b)
        skips.append(x)
    skips.pop()
    for b in up:
        skip = skips.pop()
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = block(torch.cat([skip, x], 1), b)
    return torch.softmax(F.conv2d(x, *out), 1)


def median_seconds(fn, repeats):
    fn()  # warm-up: cuDNN's algorithm search, allocations
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    dev = torch.device(args.device)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    where = (f"CUDA, {torch.cuda.get_device_name(dev)}" if dev.type == "cuda"
             else f"CPU, {torch.get_num_threads()} threads")
    w = weights(dev)
    rng = np.random.default_rng(7)
    host = lambda t: t.cpu().numpy()  # noqa: E731

    out = {"peer": f"PyTorch {torch.__version__} ({where})"}
    with torch.no_grad():
        # the dense twin equals the patch network (sampled pixels of a 98x98 map)
        image = rng.random((1, 1, 98 + 2 * HALF, 98 + 2 * HALF), dtype=np.float32)
        dense = host(dense_net(tensor(image, dev), w))[0]
        points = [(y, x) for y in range(0, 98, 7) for x in range(0, 98, 11)]
        patches = np.stack([image[0, :, y:y + PATCH, x:x + PATCH] for y, x in points])
        patchwise = host(torch.softmax(patch_logits(tensor(patches, dev), w), 1))
        picked = np.stack([dense[:, y, x] for y, x in points])
        out["dense_equals_patchwise_max_diff"] = float(np.max(np.abs(patchwise - picked)))

        for side in (98, 256):
            x = tensor(rng.random((1, 1, side + 2 * HALF, side + 2 * HALF), dtype=np.float32), dev)
            out[f"dense_{side}_px_per_s"] = side * side / median_seconds(lambda: host(dense_net(x, w)), args.repeats)

        # the whole 1040 x 1392 image, in bands of 256 output rows (as cellseg tiles it)
        full = rng.random((1040 + 2 * HALF, 1392 + 2 * HALF), dtype=np.float32)

        def whole():
            for top in range(0, 1040, 256):
                rows = min(256, 1040 - top)
                host(dense_net(tensor(full[None, None, top:top + rows + 2 * HALF], dev), w))

        out["dense_full_px_per_s"] = 1040 * 1392 / median_seconds(whole, 1)

        # the U-Net: a 256x256 crop with its context, and the whole image in shared tiles
        uw = unet_weights(dev)
        x = tensor(rng.random((1, 1, 256 + 2 * UNET_HALO, 256 + 2 * UNET_HALO), dtype=np.float32), dev)
        out["unet_256_px_per_s"] = 256 * 256 / median_seconds(lambda: host(unet(x, uw)), args.repeats)
        padded = np.pad(full[HALF:-HALF, HALF:-HALF], UNET_HALO + UNET_TILE, mode="reflect")

        def share(span):  # as cellseg's unet::segment: 1392 -> 3 tiles of 464
            pieces = math.ceil(span / UNET_TILE)
            return math.ceil(math.ceil(span / pieces) / 8) * 8

        tile_w, tile_h = share(1392), share(1040)

        def unet_whole():
            for top in range(0, 1040, tile_h):
                for left in range(0, 1392, tile_w):
                    y, x = top + UNET_TILE, left + UNET_TILE
                    tile = padded[y:y + tile_h + 2 * UNET_HALO, x:x + tile_w + 2 * UNET_HALO]
                    host(unet(tensor(tile[None, None], dev), uw))

        out["unet_full_px_per_s"] = 1040 * 1392 / median_seconds(unet_whole, 1)

        # patch by patch, batched (the slow way)
        batch = tensor(rng.random((256, 1, PATCH, PATCH), dtype=np.float32), dev)
        out["naive_px_per_s"] = 256 / median_seconds(
            lambda: host(torch.softmax(patch_logits(batch, w), 1)), args.repeats)

    # Adam steps on the patch network
    trained = weights(dev, requires_grad=True)
    params = [p for pair in trained[0] + [trained[1], trained[2]] for p in pair]
    opt = torch.optim.Adam(params, lr=1e-3)
    for n in (16, 256):
        x = tensor(rng.random((n, 1, PATCH, PATCH), dtype=np.float32), dev)
        y = tensor(rng.integers(0, 3, n), dev)

        def step():
            opt.zero_grad()
            loss = F.cross_entropy(patch_logits(x, trained), y)
            loss.backward()
            opt.step()
            return loss.item()

        out[f"train_{n}_patches_per_s"] = n / median_seconds(step, args.repeats)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
