#!/usr/bin/env bash
# What a visitor downloads: the page built for release (`trunk build --release`: the
# wasm-release profile: opt-level "z", LTO, no name section) into target/dist-release, and the gzip'd size of
# each build a browser may load (the page and the engine worker, SIMD or scalar, with the
# default model compiled in) against the 3 MB budget (docs/performance.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin:$PATH"
dist=target/dist-release
trunk --skip-version-check build --release --dist "$dist"
gz() { gzip -9 -c "$1" | wc -c; }
sum() { local total=0; for f in "$@"; do total=$((total + $(gz "$f"))); done; echo "$total"; }
page=("$dist"/index.html "$dist"/timnet-app-*.js "$dist"/timnet-app-*_bg.wasm "$dist"/style-*.css "$dist"/snippets/*/*.js)
for build in scalar simd; do
  dir=$dist; [ "$build" = simd ] && dir=$dist/simd
  worker=("$dir"/timnet-worker_loader.js "$dir"/timnet-worker.js "$dir"/timnet-worker_bg.wasm)
  bytes=$(sum "${page[@]}" "${worker[@]}")
  printf 'size: the %s build: %d bytes gzip'"'"'d (the page %d, its engine worker %d; wasm %d and %d bytes before gzip); budget 3,000,000\n' \
    "$build" "$bytes" "$(sum "${page[@]}")" "$(sum "${worker[@]}")" \
    "$(stat -c %s "$dist"/timnet-app-*_bg.wasm)" "$(stat -c %s "$dir"/timnet-worker_bg.wasm)"
  # A build over the budget fails the run, rather than being printed and missed.
  if [ "$bytes" -gt 3000000 ]; then
    echo "FAIL: the $build build is $bytes bytes gzip'd, over the 3,000,000 budget" >&2
    over=1
  fi
done
[ -z "${over:-}" ]
