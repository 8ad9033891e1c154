# cellseg: `make demo` builds and serves the page; `make test` runs every test.
# Both install what they need first (idempotent), so a fresh Debian machine needs only these.

SHELL := /bin/bash
# Build outputs live outside the checkout so rebuilds after a fresh clone stay incremental.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/cellseg/target
DATA ?= $(abspath ../shared/data/bsubtilis)
PORT ?= 8080
WASM_BINDGEN_VERSION := $(shell sed -n '/^name = "wasm-bindgen"$$/{n;s/version = "\(.*\)"/\1/p}' Cargo.lock)
WASM_PACK_VERSION := 0.15.1

.PHONY: setup pkg demo test test-native test-browser lint clean

setup:
	@command -v cargo >/dev/null || { echo "cargo is required (https://rustup.rs)"; exit 1; }
	rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
	wasm-pack --version 2>/dev/null | grep -qF "$(WASM_PACK_VERSION)" || cargo install wasm-pack --version $(WASM_PACK_VERSION)
	wasm-bindgen --version 2>/dev/null | grep -qF "$(WASM_BINDGEN_VERSION)" || cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION)
	test -x /usr/bin/chromium || { apt-get update && apt-get install -y chromium; }
	test -d node_modules/playwright-core && test -d node_modules/uplot || npm ci --no-audit --no-fund

# The wasm package the page loads (release profile: LTO, size-tuned).
pkg: setup
	wasm-pack build crate --target web --release --no-typescript --out-dir ../pkg
	node tools/strip-names.mjs pkg/cellseg_bg.wasm

demo: pkg
	node tools/serve.mjs --port $(PORT) $(if $(wildcard $(DATA)/upstream),--data $(DATA)/upstream)

test: pkg test-native test-browser

test-native:
	CELLSEG_DATA=$(DATA) cargo test --workspace

test-browser:
	CELLSEG_DATA=$(DATA) npm test

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
	cargo clippy -p cellseg --lib --target wasm32-unknown-unknown -- -D warnings

clean:
	rm -rf pkg
