"""Checks what the Snakemake workflow (workflow/Snakefile) merged: one summary row per image
(a failed image with its reason), and every cell of the segmented images in one table whose
counts agree with the summary.

usage: python check_workflow.py OUT_DIR GOOD_IMAGE... --broken BAD_IMAGE
"""

import csv
import pathlib
import sys


def main(args):
    out, rest = pathlib.Path(args[0]), args[1:]
    split = rest.index("--broken")
    good, broken = rest[:split], rest[split + 1:]
    with open(out / "summary.csv", newline="") as f:
        summary = list(csv.DictReader(f))
    with open(out / "cells.csv", newline="") as f:
        cells = list(csv.DictReader(f))
    files = [row["file"] for row in summary]
    assert sorted(files) == sorted(good + broken), files
    for row in summary:
        if row["file"] in broken:
            assert row["status"].startswith("failed: "), row
        else:
            assert row["status"] == "ok" and int(row["cells"]) > 0, row
            found = sum(1 for c in cells if c["file"] == row["file"])
            assert found == int(row["cells"]), f"{row['file']}: {found} rows, {row['cells']} cells"
    assert len(cells) == sum(int(r["cells"] or 0) for r in summary)
    print(f"{out}: {len(summary)} images ({len(broken)} failed, with its reason), "
          f"{len(cells)} cells in one table")


if __name__ == "__main__":
    main(sys.argv[1:])
