#!/usr/bin/env bash
# Every test: native, then wasm32 in headless Chromium, once with WebGPU and once without (the
# CPU fallback), then the page's release build (trunk), end to end. Run through `./dev test`, which
# installs the tools first.
set -euo pipefail
cd "$(dirname "$0")/.."
# cargo install puts tools in $CARGO_INSTALL_ROOT/bin when it is set, else in $CARGO_HOME/bin.
export PATH="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin:$PATH"
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
logs=target/test-logs
mkdir -p "$logs"
# chromedriver makes a Chromium profile for each session in $TMPDIR and does not always remove
# it (some 20 folders a run, up to 150 MB each, which fill a disk over many runs): the browser
# steps put theirs in a folder of the run's own, removed at its end.
browsers_tmp=$(mktemp -d)
trap 'rm -rf "$browsers_tmp"' EXIT

# Each step says how long the run has taken so far, so that slow steps show in CI logs.
step() { printf '\n== [%d s] %s\n' "$SECONDS" "$*"; }

step "native tests, with training on wgpu (lavapipe, Mesa's software Vulkan, from scripts/setup.sh)"
cargo test -p timnet -p timnet-train -p timnet-cli -p timnet-testkit -p wasm-scalar --features timnet-cli/wgpu 2>&1 | tee "$logs/native.txt"
grep -q "on_two_wgpu_devices_the_shares_gradients_sum_to_the_batchs ... ok" "$logs/native.txt" || { echo "FAIL: the training checks on wgpu did not run"; exit 1; }

# wasm-bindgen-test-runner drives Chromium through chromedriver with the options in
# webdriver.json in each crate's directory (crates/core, crates/app). The core crate and the app are tested together so that both builds share one
# feature set (and one compilation of burn).
wasm_tests() {
  local flags=$1 log=$2
  printf '{"goog:chromeOptions": {"binary": "%s", "args": ["--no-sandbox", "--headless=new", "--disable-dev-shm-usage", "--disable-background-networking", "--disable-component-update"%s]}}\n' \
    "$CHROMIUM" "$flags" | tee crates/core/webdriver.json > crates/app/webdriver.json
  trap 'rm -f crates/core/webdriver.json crates/app/webdriver.json' RETURN
  TMPDIR="$browsers_tmp" CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner WASM_BINDGEN_TEST_TIMEOUT=900 \
    cargo test --target wasm32-unknown-unknown -p timnet -p timnet-app --no-default-features --features timnet/wgpu,timnet-app/engine --tests -- --nocapture 2>&1 | tee "$log"
}

step "wasm32 tests in headless Chromium with WebGPU (--enable-unsafe-webgpu: SwiftShader's adapter)"
wasm_tests ', "--enable-unsafe-webgpu"' "$logs/wasm-webgpu.txt"
grep -q "webgpu: ran on the WebGPU adapter" "$logs/wasm-webgpu.txt" || { echo "FAIL: the WebGPU path did not run"; exit 1; }
grep -q "app: backend WebGPU" "$logs/wasm-webgpu.txt" || { echo "FAIL: the page's engine did not run WebGPU when asked"; exit 1; }

step "wasm32 tests in headless Chromium without WebGPU (the automatic CPU fallback)"
wasm_tests '' "$logs/wasm-cpu.txt"
grep -q "webgpu: no adapter" "$logs/wasm-cpu.txt" || { echo "FAIL: a browser without the flag still offered an adapter"; exit 1; }
grep -q "app: backend CPU" "$logs/wasm-cpu.txt" || { echo "FAIL: the page's engine did not fall back to the CPU"; exit 1; }
# The browser benchmark's figures (tests/browser_speed.rs) and the engine's own choice when
# left to itself, printed beside the tests.
grep -h "bench:\|app: auto picked" "$logs/wasm-webgpu.txt" "$logs/wasm-cpu.txt" || true

step "the release build (what a visitor downloads and \`./dev serve\` serves), its size against the budget, and the page end to end on it (file, fake microphone, privacy, denied microphone)"
# The page's end-to-end tests run on the release build only: a cold dev build of the page and its
# two engine workers took 33 minutes on 2 cores, on top of the release build's 19 (docs/ci.md),
# and a release build once failed to start in a browser (wasm-opt 108 broke wasm-bindgen's table
# export) while every test ran on the dev build. The wasm32 tests above cover the dev profile.
bash scripts/sizes.sh 2>&1 | tee "$logs/sizes.txt"
# One visit at a time, so that the live update rate the first prints is not shared with another.
TMPDIR="$browsers_tmp" CHROMIUM="$CHROMIUM" \
  cargo test -p timnet-e2e --test page -- --nocapture --test-threads=1 2>&1 | tee "$logs/e2e.txt"
echo "screenshots: target/e2e/page.png, target/e2e/page-phone.png"
grep -h "^size:" "$logs/sizes.txt"
# The main thread's long tasks, the live update rate and the benchmark of both engine builds
# (tests/e2e), against the page's aims.
grep -h "long tasks:\|bench:" "$logs/e2e.txt" || true
# Tests that need the shared corpora (../shared/data, or TIMNET_DATA) say so and pass without
# them, so that a clone of the project alone runs to the end; list them, so none goes unseen.
if grep -h "SKIPPED:" "$logs"/*.txt; then
  echo "(the tests above ran without the shared corpora; set TIMNET_DATA to run them in full)"
fi
step "all passed"
