"""Scores `battery.sh`'s fields: each field's found cells against its exact whole cells.

Usage: score.py OUT_DIR

Per field: the scale the search settled at, the cells labelled and found, F1 @ 0.5 and AP @
0.5 / 0.75 / 0.9 (matched one to one at IoU >= tau, as Cellpose and StarDist score), and
whether segment warned that the result is doubtful. An empty field scores by how many "cells"
it gave. The means are over the fields that hold cells.
"""

import glob
import importlib.util
import os
import re
import sys

import tifffile

# the matching tools/other-labs/score.py scores another lab's stack with (a file of the same
# name as this one, so loaded by its path)
_spec = importlib.util.spec_from_file_location(
    "other_labs_score", os.path.join(os.path.dirname(__file__), "..", "other-labs", "score.py"))
_other_labs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_other_labs)
matches = _other_labs.matches

TAUS = (0.5, 0.75, 0.9)


def main():
    out = sys.argv[1]
    print(f"{'field':<16} {'scale':>6} {'cells':>6} {'found':>6} {'F1':>6} "
          f"{'AP50':>6} {'AP75':>6} {'AP90':>6}  doubt")
    sums, n = [0.0] * 4, 0
    for cells in sorted(glob.glob(f"{out}/*-cells.tif")):
        name = os.path.basename(cells)[: -len("-cells.tif")]
        said = open(f"{out}/{name}.log").read()
        # segment's doubts are its lines that start "warning:"
        doubt = "yes" if "\nwarning:" in "\n" + said else ""
        # the scale the search settled at: the last "scale ×F" of its story, unless it found no
        # cell at any scale it tried (then it names them without "scale" and settled on none)
        scales = re.findall(r"scale ×([0-9]+(?:\.[0-9]+)?)", said)
        scale = "none" if "no cell was found at" in said or not scales else scales[-1]
        labels = tifffile.imread(f"{out}/{name}-labels.tif")
        iou, nt, nf = matches(tifffile.imread(cells), labels)
        if nt == 0:
            print(f"{name:<16} {scale:>6} {nt:>6} {nf:>6} {'':>6} {'':>6} {'':>6} {'':>6}  {doubt}")
            continue
        tp = {tau: int((iou >= tau).sum()) for tau in TAUS}
        f1 = 2 * tp[0.5] / (nt + nf)
        ap = [tp[tau] / (nt + nf - tp[tau]) for tau in TAUS]
        print(f"{name:<16} {scale:>6} {nt:>6} {nf:>6} {f1:6.3f} {ap[0]:6.3f} {ap[1]:6.3f} "
              f"{ap[2]:6.3f}  {doubt}")
        sums = [s + v for s, v in zip(sums, [f1] + ap)]
        n += 1
    if n:
        f1, a50, a75, a90 = (s / n for s in sums)
        print(f"mean over {n} fields with cells: F1 {f1:.3f}, AP {a50:.3f} / {a75:.3f} / {a90:.3f}")


if __name__ == "__main__":
    main()
