#!/usr/bin/env bash
# Build the page with the shipped weights and serve it on http://127.0.0.1:8080.
# By default the release build (opt-level "z", LTO): what a visitor downloads, the build that
# `./dev test` checks end to end, and the faster of the two to build cold on few cores (the dev
# page and its two engine workers build every dependency at opt-level 3). `--dev` serves trunk's
# dev build instead, which rebuilds sooner after an edit to the project's own crates.
set -euo pipefail
cd "$(dirname "$0")/.."
# cargo install puts tools in $CARGO_INSTALL_ROOT/bin when it is set, else in $CARGO_HOME/bin.
export PATH="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin:$PATH"
if [ "${1:-}" = --dev ]; then
  exec trunk --skip-version-check serve "${@:2}"
fi
# The folder scripts/sizes.sh (and so `./dev test`) builds into: after the tests, serving is warm.
exec trunk --skip-version-check serve --release --dist target/dist-release "$@"
