"""Reads cellseg's exports with other people's readers, as Fiji, napari and Python users would:
the ROI sets with `roifile` (Christoph Gohlke's reader of ImageJ's format), the label images and
the probability stack with `tifffile`. Every ROI must fill back (pixel centres inside, the rule
ImageJ fills polygons by) to exactly the pixels its cell has in the label image, unless the cell
has a hole, which its outer outline covers.

usage: python check_exports.py OUT_DIR PROBS_TIF   (OUT_DIR from `cellseg segment --out-dir`)
"""

import pathlib
import sys

import numpy as np
import roifile
import tifffile


def filled(xy, height, width):
    """Pixels whose centres lie inside the polygon xy (even-odd rule), as a boolean image."""
    ys, xs = np.mgrid[0:height, 0:width] + 0.5
    inside = np.zeros((height, width), bool)
    for (x0, y0), (x1, y1) in zip(xy, np.roll(xy, -1, axis=0)):
        crosses = (y0 > ys) != (y1 > ys)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x0 + (ys - y0) / (y1 - y0) * (x1 - x0)
        inside ^= crosses & (xs < at)
    return inside


def has_hole(cell):
    """Whether background pixels are enclosed by the cell (4-connected flood from the border)."""
    outside = np.pad(~cell, 1, constant_values=True)
    seen = np.zeros_like(outside)
    seen[0, :] = seen[-1, :] = seen[:, 0] = seen[:, -1] = True
    seen &= outside
    while True:
        grown = seen.copy()
        grown[1:, :] |= seen[:-1, :]
        grown[:-1, :] |= seen[1:, :]
        grown[:, 1:] |= seen[:, :-1]
        grown[:, :-1] |= seen[:, 1:]
        grown &= outside
        if (grown == seen).all():
            return not (seen == outside).all()
        seen = grown


def check_rois(labels_tif, rois_zip):
    labels = tifffile.imread(labels_tif)
    assert labels.dtype == np.uint16, f"{labels_tif}: {labels.dtype}, not 16-bit"
    rois = roifile.roiread(rois_zip)
    rois = rois if isinstance(rois, list) else [rois]
    count = int(labels.max())
    assert len(rois) == count, f"{rois_zip}: {len(rois)} ROIs for {count} cells"
    exact = 0
    for cell, roi in enumerate(rois, start=1):
        assert roi.name == f"cell-{cell:04d}", f"{rois_zip}: ROI {cell} named {roi.name!r}"
        assert roi.roitype == roifile.ROI_TYPE.TRACED, f"{roi.name}: {roi.roitype}"
        xy = roi.coordinates()
        top, left, bottom, right = roi.top, roi.left, roi.bottom, roi.right
        assert (xy[:, 0].min(), xy[:, 1].min()) == (left, top), roi.name
        assert (xy[:, 0].max(), xy[:, 1].max()) == (right, bottom), roi.name
        own = labels[top:bottom, left:right] == cell
        back = filled(xy - [left, top], bottom - top, right - left)
        if has_hole(own):
            assert (back >= own).all(), f"{roi.name}: the outline leaves out cell pixels"
        else:
            assert (back == own).all(), f"{roi.name}: fills {back.sum()} px, the cell has {own.sum()}"
            exact += 1
    return count, exact


def check_probabilities(path):
    with tifffile.TiffFile(path) as tif:
        names = [page.tags["PageName"].value for page in tif.pages]
        stack = tif.asarray()
    assert names == ["p(cell)", "p(edge)", "p(other)"], names
    assert stack.dtype == np.float32 and stack.ndim == 3 and stack.shape[0] == 3, stack.shape
    assert stack.min() >= 0 and stack.max() <= 1, (stack.min(), stack.max())
    total = stack.sum(axis=0)
    assert np.abs(total - 1).max() < 1e-3, f"probabilities sum to {total.min()}..{total.max()}"
    return stack.shape


def main(out_dir, probs):
    out_dir = pathlib.Path(out_dir)
    pages = sorted(out_dir.glob("*-labels.tif"))
    assert pages, f"no label images in {out_dir}"
    for labels in pages:
        rois = labels.with_name(labels.name.replace("-labels.tif", "-rois.zip"))
        count, exact = check_rois(labels, rois)
        print(f"{rois.name}: {count} ROIs, {exact} fill back to exactly their cells, "
              f"{count - exact} (with holes) cover theirs")
    shape = check_probabilities(probs)
    print(f"{pathlib.Path(probs).name}: float32 {shape}, p(cell), p(edge), p(other) sum to 1")


if __name__ == "__main__":
    main(*sys.argv[1:])
