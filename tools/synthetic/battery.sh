#!/usr/bin/env bash
# Synthetic fields the networks never saw, segmented as a user would (`--scale auto`) and scored
# against their exact whole cells: other magnifications, cocci and long rods, sparse fields with
# specks of debris as wide as the cells, faint and noisy looks, and empty fields.
#
# Usage: battery.sh CELLSEG WEIGHTS OUT_DIR PYTHON
# Writes OUT_DIR/<field>.png, <field>-cells.tif (the reference), <field>-labels.tif and
# <field>.log (what segment said: its scale and its doubts, which a batch's summary would
# fold into one note with the other remarks), then prints the table (tools/synthetic/score.py).
set -euo pipefail
cellseg=$1 weights=$2 out=$3 python=$4
here=$(dirname "$0")
mkdir -p "$out"

# name          size fill  length contrast noise debris speck seed
fields="
rods-x0.4       0.4  0.92  1      1        1     0      1     7
rods-x0.6       0.6  0.92  1      1        1     0      1     7
rods-x1.6       1.6  0.92  1      1        1     0      1     7
rods-x2.4       2.4  0.92  1      1        1     0      1     7
rods-x3.5       3.5  0.92  1      1        1     0      1     7
long-x1         1    0.92  2.5    1        1     0      1     8
long-x0.6       0.6  0.92  2.5    1        1     0      1     8
cocci-x0.6      0.6  0.92  0      1        1     0      1     9
cocci-x1        1    0.92  0      1        1     0      1     9
cocci-x2        2    0.92  0      1        1     0      1     9
faint-noisy     1    0.92  1      0.5      3     0      1     10
bright-calm     1    0.92  1      2        0.5   0      1     10
sparse-specks3  1    0.02  1      1        1     100    3     11
sparse-specks6  1.6  0.05  1      1        2     60     6     12
sparse-specks10 1    0.02  1      0.5      1     100    10    13
sparse-cocci    2.4  0.02  0      1        0.5   20     6     14
sparse-long     0.6  0.02  2.5    2        0.5   20     3     15
empty-specks    1    0     1      1        1     100    6     16
empty-noisy     1    0     1      1        3     20     3     17
"
echo "$fields" | while read -r name size fill length contrast noise debris speck seed; do
  [ -n "$name" ] || continue
  "$cellseg" colony --width 1024 --height 768 --seed "$seed" --size "$size" --fill "$fill" \
    --length "$length" --contrast "$contrast" --noise "$noise" --debris "$debris" \
    --speck-size "$speck" --out-image "$out/$name.png" --out-cells "$out/$name-cells.tif"
  "$cellseg" segment --weights "$weights" --scale auto --image "$out/$name.png" \
    --out-labels "$out/$name-labels.tif" > "$out/$name.log" 2>&1 || { cat "$out/$name.log" >&2; exit 1; }
done
"$python" "$here/score.py" "$out"
