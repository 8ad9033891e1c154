"""Scores cellseg's label TIFFs for a stack's pages against another lab's instance masks.

Usage: score.py MASKS.tif OUT_DIR STEM
  MASKS.tif  the hand-made instance masks, one page per image page (0 background)
  OUT_DIR    where `cellseg segment --out-dir` wrote STEM-p1-labels.tif, STEM-p2-…

Cells are matched one to one at IoU >= tau (above 0.5 a cell can overlap only one other that
much, so no assignment problem is left) and scored as Cellpose and StarDist do:
F1 = 2TP / (2TP + FP + FN), AP = TP / (TP + FP + FN), over all pages together.
"""

import sys

import numpy as np
import tifffile

TAUS = (0.5, 0.75, 0.9)


def matches(truth, found):
    """The IoU of every true cell with every found one, and how many of each there are."""
    tv, t = np.unique(truth, return_inverse=True)
    fv, f = np.unique(found, return_inverse=True)
    t, f = t.reshape(truth.shape), f.reshape(found.shape)
    nt, nf = len(tv), len(fv)
    overlap = np.bincount((t * nf + f).ravel(), minlength=nt * nf).reshape(nt, nf)
    union = overlap.sum(1)[:, None] + overlap.sum(0)[None, :] - overlap
    iou = (overlap / np.maximum(union, 1))[tv != 0][:, fv != 0]
    return iou, int((tv != 0).sum()), int((fv != 0).sum())


def main():
    masks, out_dir, stem = sys.argv[1:4]
    truth_pages = tifffile.imread(masks)
    totals = {tau: 0 for tau in TAUS}
    n_true = n_found = 0
    for k, truth in enumerate(truth_pages):
        found = tifffile.imread(f"{out_dir}/{stem}-p{k + 1}-labels.tif")
        iou, nt, nf = matches(truth, found)
        tp = {tau: int((iou >= tau).sum()) for tau in TAUS}
        print(f"page {k + 1:2}: {nt:3} cells, {nf:3} found, matched at 0.5: {tp[0.5]}")
        n_true, n_found = n_true + nt, n_found + nf
        for tau in TAUS:
            totals[tau] += tp[tau]
    print(f"all pages: {n_true} cells, {n_found} found")
    for tau in TAUS:
        tp = totals[tau]
        fp, fn = n_found - tp, n_true - tp
        f1 = 2 * tp / max(2 * tp + fp + fn, 1)
        ap = tp / max(tp + fp + fn, 1)
        print(f"IoU {tau}: F1 {f1:.3f}  AP {ap:.3f}")


if __name__ == "__main__":
    main()
