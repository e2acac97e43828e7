#!/usr/bin/env bash
# Build the page with the shipped weights and serve it on http://127.0.0.1:8080.
# The dev profile already optimises every dependency (Cargo.toml), so the page runs at full
# speed; `--release` builds the wasm for size (opt-level "z", LTO) for the smallest download, at the cost of a long build.
set -euo pipefail
cd "$(dirname "$0")/.."
# cargo install puts tools in $CARGO_INSTALL_ROOT/bin when it is set, else in $CARGO_HOME/bin.
export PATH="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin:$PATH"
exec trunk --skip-version-check serve "$@"
