#!/usr/bin/env bash
# The engine worker's two builds, finished after trunk's (Trunk.toml's post_build hook):
#
# - scalar: trunk's own build (www/index.html), made loadable without WebAssembly SIMD by
#   tools/wasm-scalar (gemm compiles SIMD kernels into every wasm32 build; they are stubbed, as
#   nothing picks them there), which also checks that it validates with SIMD off;
# - SIMD: built here with `-C target-feature=+simd128` and the `simd` feature (burn's, gemm's
#   and rustfft's SIMD kernels) into simd/ beside the page.
#
# The page loads the SIMD build where the browser validates a SIMD probe, and the scalar build
# elsewhere or with ?scalar (crates/app/src/client.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
staging=${TRUNK_STAGING_DIR:?run by trunk (its post_build hook)}

cargo run -q -p wasm-scalar -- "$staging/timnet-worker_bg.wasm" "$staging/timnet-worker_bg.wasm"

# Its own target folder: `+simd128` changes every crate's flags, and sharing one folder with the
# scalar build would make each rebuild the other's whole tree.
target=${CARGO_TARGET_DIR:-target}/simd
profile=dev
# Without wasm-opt, as trunk's own builds (www/index.html says why).
if [ "${TRUNK_PROFILE:-debug}" = release ]; then profile=wasm-release; fi
RUSTFLAGS="-C target-feature=+simd128" CARGO_TARGET_DIR="$target" \
  cargo build --target wasm32-unknown-unknown --profile "$profile" -p timnet-app --bin timnet-worker --features simd
out="$staging/simd"
mkdir -p "$out"
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
wasm-bindgen --target web --no-typescript --out-dir "$out" --out-name timnet-worker \
  "$target/wasm32-unknown-unknown/$dir/timnet-worker.wasm"
printf "import init from './timnet-worker.js';await init();" > "$out/timnet-worker_loader.js"
