#!/usr/bin/env bash
# The native benchmark on a machine with a GPU, as one script (a lent GPU machine is held for
# minutes, so everything that needs it runs in one go, each step inside what time is left):
#   1. `cellseg bench` on wgpu (Vulkan), against PyTorch on CUDA: the same networks and sizes
#      (tools/peers/torch_bench.py; TensorFlow, the CPU peer, is rarely on such machines);
#   2. `cellseg eval` of the committed networks on the GPU: a real GPU's answer must equal the
#      CPU's (make eval);
#   3. the U-Net's training recipe from scratch (make models-unet, unet-1, which the default
#      is fine-tuned from) on wgpu: how long it takes there;
#   4. `cellseg bench` and PyTorch on that machine's CPU, for the ratio of GPU to CPU;
#   5. with the time left, the U-Net's recipe with four times the crops.
# Each result goes to OUT as it is made; a step that fails or runs out of time is reported and
# the rest still run.
#
# usage: tools/gpu-bench.sh CELLSEG_BINARY DATA_DIR OUT_DIR [SECONDS]
#   DATA_DIR holds phase_027_classes.png, phase_027_cells_instances.png and phase_027.tif (or
#   upstream/Images/phase_027.tif); `make bench-gpu` runs it here with the data in place;
#   SECONDS (default 540) is the whole script's budget.
set -u
bin=$1 data=$2 out=$3 budget=${4:-540}
image=$data/phase_027.tif
[ -f "$image" ] || image=$data/upstream/Images/phase_027.tif  # ../shared/data's layout
classes=$data/phase_027_classes.png
instances=$data/phase_027_cells_instances.png
mkdir -p "$out"
log=$out/log.txt
exec > >(tee -a "$log") 2>&1

# Runs "$@" with at most $2 seconds, or what is left of the budget if less (skips it when
# under 20 s are left); its output to $out/$1, the end of its messages to the log (OUT holds
# at most 8 files on the lent machines).
step() {
  local name=$1 limit=$2
  shift 2
  local left=$((budget - SECONDS))
  ((left < limit)) && limit=$left
  if ((limit < 20)); then
    echo "== $name: skipped, ${left}s left"
    return
  fi
  echo "== $name (at ${SECONDS}s, up to ${limit}s): $*"
  local t0=$SECONDS
  timeout "$limit" "$@" >"$out/$name" 2>/tmp/gpu-bench.err
  local rc=$?
  tail -n 20 /tmp/gpu-bench.err
  echo "-- $name: rc $rc in $((SECONDS - t0))s"
  cat "$out/$name"
  echo
  [ -s "$out/$name" ] || rm "$out/$name"
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
nproc
# the NVIDIA Vulkan driver's manifest, where the loader's default folders lack it
for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json; do
  [ -f "$f" ] && export VK_DRIVER_FILES=${VK_DRIVER_FILES:-$f}
done
echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
# which adapter wgpu takes (one step of training names it), before anything long runs on it
step probe.txt 60 "$bin" train --backend wgpu --image "$image" --labels "$classes" --arch unet \
  --steps 1 --batch 1 --region 400,300,600,500 --heldout 700,600,800,700 --out /tmp/probe.cellseg

step wgpu.json 150 "$bin" bench --backend wgpu --json --image "$image" --labels "$classes"
step torch-cuda.json 90 python3 tools/peers/torch_bench.py --device cuda
step eval-gpu.txt 90 sh -c "'$bin' eval --backend wgpu --image '$image' --labels '$classes' \
  --instances '$instances' --weights models/unet-2.cellseg && \
  '$bin' eval --backend wgpu --image '$image' --labels '$classes' --instances '$instances' \
  --weights models/original-1.cellseg,models/original-2.cellseg,models/original-3.cellseg"
step train-unet.txt 200 "$bin" train --backend wgpu --image "$image" --labels "$classes" \
  --arch unet --looks --exclude 0,0,215,215 --exclude 0,725,315,1040 \
  --steps 2400 --batch 8 --lr 1e-3 --lr-final 1e-5 --seed 1 --eval-every 400 \
  --out "$out/unet-gpu.cellseg"
step cpu.json 90 "$bin" bench --backend cpu --json --image "$image" --labels "$classes"
step torch-cpu.json 60 python3 tools/peers/torch_bench.py --device cpu
# with what is left: the recipe with four times the crops (a lever for issue 14's quality)
step train-unet-4x.txt 400 "$bin" train --backend wgpu --image "$image" --labels "$classes" \
  --arch unet --looks --exclude 0,0,215,215 --exclude 0,725,315,1040 \
  --steps 4800 --batch 16 --lr 1e-3 --lr-final 1e-5 --seed 1 --eval-every 600 \
  --out "$out/unet-gpu-4x.cellseg"
echo "done in ${SECONDS}s"
# (OUT then holds at most 8 files: the log, five results and two weights files; steps that
# print nothing leave no file)
wait
