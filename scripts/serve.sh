#!/usr/bin/env bash
# Build the page (release) with the shipped weights and serve it on http://127.0.0.1:8080.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
exec trunk --skip-version-check serve --release "$@"
